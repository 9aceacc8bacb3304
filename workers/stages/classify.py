"""Classify stage: multilingual news topic (world | tech | politics | other).

Every page goes through the shared multilingual encoder (workers/encoder/, e5-small): its page embedding
(workers/stages/embedding.py: title, lead and opening, computed once per page) feeds a linear softmax head.
- Languages with training rows: that head's distribution is combined with a lexical model's (a linear softmax over
  TF-IDF of word unigrams and of in-word character 3-5-grams of the first 3,000 characters: it adds the trained
  languages' own vocabulary and reads the article beyond the encoder's window) as a weighted geometric mean, with
  one lexical weight for short texts (headlines, sentences) and one for articles.
- Other languages (no training rows, so no useful lexical weights): a second head alone, fitted on many
  languages so that it transfers.
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

from workers.stages import embedding as embedding_stage
from workers.stages.embedding import title_and_body
from workers.types import Topic

MODEL_VERSION = "topics-e5-2"
MODEL_DIR = Path(__file__).resolve().parent.parent / "models" / "topics"
LABELS = ("world", "tech", "politics", "other")

# Only the start of an article feeds the lexical blocks: the title and lead carry the topic, and it bounds the cost.
MAX_CHARS = 3000
CHAR_NGRAM_SIZES = (3, 4, 5)
# A headline or a sentence: the lexical model has few words to go on, the encoder sees all of it. Longer texts are
# articles, where the lexical model reads past the encoder's window. Each gets its own lexical share.
SHORT_TEXT_CHARS = 400

_WORD = regex.compile(r"\w+")


def normalise(text: str) -> str:
    return unicodedata.normalize("NFKC", text).casefold()


def article_text(title: str | None, body: str | None) -> str:
    return "\n".join(title_and_body(title, body))[:MAX_CHARS]


def base_language(lang: str | None) -> str:
    return (lang or "").split("-")[0].casefold()


def words(text: str) -> list[str]:
    return _WORD.findall(normalise(text))


# A cached word holds its n-grams, about 1.8 KB: 200,000 words (the bound before) grew a long-running worker by
# ~370 MB. 20,000 keep most of the gain on long articles (3.8 ms of lexical work each, 3.4 with 200,000, 6.1
# uncached; BBC full texts and BBC Hindi, 2026-12-02) for at most ~36 MB.
@lru_cache(maxsize=20_000)
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
        self.lexical_bias = arrays["lexical_bias"].astype(np.float32)
        # Two heads on the page embedding: one combined with the lexical model (fitted mostly on the hand-labelled
        # sets), one alone for languages without training rows (fitted on many languages, for transfer).
        self.combined_weights = arrays["combined_weights"].astype(np.float32)
        self.combined_bias = arrays["combined_bias"].astype(np.float32)
        self.alone_weights = arrays["alone_weights"].astype(np.float32)
        self.alone_bias = arrays["alone_bias"].astype(np.float32)
        # The lexical model's weight in the combination, for short texts and for articles (chosen by the trainer
        # on validation rows neither model was fitted on, stored with the weights).
        self.lexical_share_short = float(meta["lexical_share_short"])
        self.lexical_share_long = float(meta["lexical_share_long"])
        # Languages the lexical model was trained on; the others take the embedding head alone.
        self.languages = frozenset(meta["languages"])

    def uses_embedding_alone(self, lang: str | None) -> bool:
        """True for a language without training rows (its words have no weights); an unknown language ("", "und")
        keeps the combination, whose lexical part then sees names and numbers at most."""
        base = base_language(lang)
        return bool(base) and base != "und" and base not in self.languages

    def lexical_probabilities(self, text: str) -> np.ndarray:
        word_terms, char_terms = lexical_terms(words(text))
        scores = self.lexical_bias.copy()
        for block, weights, terms in (
            (self.word_block, self.word_weights, word_terms),
            (self.char_block, self.char_weights, char_terms),
        ):
            idx, values = block.indices_and_values(terms)
            if len(idx):
                scores += values @ weights[idx]
        return softmax(scores)

    def predict(self, title: str | None, body: str | None, lang: str | None, embedding: np.ndarray) -> np.ndarray:
        if self.uses_embedding_alone(lang):
            return softmax(embedding @ self.alone_weights + self.alone_bias)
        text = article_text(title, body)
        share = self.lexical_share_short if len(text) < SHORT_TEXT_CHARS else self.lexical_share_long
        return combine(self.lexical_probabilities(text), softmax(embedding @ self.combined_weights + self.combined_bias), share)


def combine(lexical: np.ndarray, encoded: np.ndarray, lexical_share: float) -> np.ndarray:
    """Weighted geometric mean of the two distributions, renormalised."""
    return softmax(lexical_share * np.log(lexical + 1e-9) + (1.0 - lexical_share) * np.log(encoded + 1e-9))


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


def classify(title: str, body: str, lang: str, section: str | None = None, url: str | None = None,
             embedding: np.ndarray | None = None) -> Topic:
    """Topic of one article. `embedding` is the page embedding (embedding.embed_pages); computed here when absent.
    `lang` (ISO 639-1) picks the joint model or, for languages without training rows, the embedding-only head."""
    model = load_model()
    if embedding is None:
        embedding = embedding_stage.embed_pages([(title, body)])[0]
    probabilities = model.predict(title, body, lang, embedding)
    probabilities = apply_hint(probabilities, model.labels, section_topic(section), SECTION_ODDS)
    probabilities = apply_hint(probabilities, model.labels, url_topic(url), URL_ODDS)
    best = int(np.argmax(probabilities))
    return Topic(
        label=model.labels[best],
        score=float(probabilities[best]),
        probabilities={label: float(p) for label, p in zip(model.labels, probabilities)},
    )
