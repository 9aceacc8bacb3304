"""Train the topic classifier shipped in workers/models/topics/ from the topic_* development sets.

Deterministic: fixed hash split, fixed sample order, fixed solver settings. Trains on the rows outside the
held-out split, writes numpy weights + a JSON vocabulary, then measures every topic_* file's held-out rows and
rewrites the figures table in MODEL_CARD.md.

The lexical model trains on every training row; the embedding head on a sample whose rows are embedded once by
the shared encoder (workers/encoder/, the page embedding of workers/stages/embedding.py); `--embedding-cache`
keeps those vectors between runs. The lexical shares of the combination are chosen on a validation part of the
training rows (never on the held-out rows).
"""

from __future__ import annotations

import gzip
import json
import time
import zlib
from collections import Counter
from pathlib import Path

import numpy as np
import regex

from workers.datasets import read_jsonl, shared_data_dir
from workers.encoder import DIMENSIONS, get_encoder
from workers.evaluation.topics import macro_scores, summarise
from workers.stages import classify as stage
from workers.stages import embedding as embedding_stage

HELD_OUT_BUCKETS = 5  # 1 in 5 rows (by hash) is held out for measuring
# Rows per (data set, language) above which rows are down-weighted, so the 110k short l3cube headlines do not
# drown the few thousand full articles.
ROWS_AT_FULL_WEIGHT = 6000
WORD_FEATURES = 120_000
CHAR_FEATURES = 250_000
REGULARISATION_C = 20.0
# Rows per (data set, language) in the embedding head's sample (the lexical model takes every training row). The
# hand-labelled sets are used whole (AG News has ~3,050 training rows). L3Cube's section labels are noisy and
# plentiful (98k short headlines and paragraphs): 2,000 per language give the head its many languages without
# drowning the hand-labelled sets.
ROWS_PER_GROUP = 10_000
ROWS_PER_NOISY_GROUP = 2000
NOISY_DATASETS = {"topic_l3cube_indicnews"}
# Held-out rows measured per L3Cube language (the hand-labelled files are measured whole).
MEASURED_ROWS_PER_NOISY_GROUP = 400
# Two heads on the page embedding. The alone head (languages without training rows) weighs every sampled row as
# the lexical model does: L3Cube is where the many languages are, and its job is transfer. The combined head (with
# the lexical model, in trained languages) scales the noisy L3Cube groups down to a tenth (the best of 1, 0.3, 0.1
# and 0.03 on the validation rows, see MODEL_CARD.md). The lexical shares of the combination are chosen on a
# validation part of the training rows (a second hash split, 1 in VALIDATION_BUCKETS); then the lexical model
# and the heads are refitted on all training rows.
ALONE_REGULARISATION_C = 1.0
COMBINED_REGULARISATION_C = 2.0
COMBINED_NOISY_WEIGHT = 0.1
LEXICAL_SHARES = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8)
# A hand-labelled (data set, language) group smaller than this weighs as if it had this many rows (split over its
# labels as before), so that a set of a few hundred articles (BBC Hindi, MasakhaNEWS) counts in the fit of the
# lexical model and the combined head as much as it counts in the mean macro-F1. Chosen on the validation rows
# together with the lexical shares; the alone head keeps the plain group weights (its languages have no
# validation rows).
MIN_GROUP_WEIGHTS = (0, 1000, 3000)
VALIDATION_BUCKETS = 5
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
    parser.add_argument("--exclude-langs", default="", help="comma-separated languages left out of training (transfer test)")
    parser.add_argument("--embedding-cache", default="",
                        help="an .npz of page embeddings reused and extended across runs (e.g. /tmp/topics_e5_cache.npz)")


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


def sample_weights(rows: list[dict], noisy_weight: float = 1.0, min_group_weight: int = 0) -> np.ndarray:
    """Each (data set, language) weighs min(rows, ROWS_AT_FULL_WEIGHT), split equally over its labels (macro-F1);
    the groups of the noisy data sets are scaled by noisy_weight, a hand-labelled group weighs at least
    min_group_weight."""
    group_sizes = Counter((row["dataset"], row["lang"]) for row in rows)
    label_sizes = Counter((row["dataset"], row["lang"], row["label"]) for row in rows)
    labels_per_group = Counter((dataset, lang) for dataset, lang, _ in label_sizes)
    weights = []
    for row in rows:
        group = (row["dataset"], row["lang"])
        total = min(group_sizes[group], ROWS_AT_FULL_WEIGHT)
        total = total * noisy_weight if row["dataset"] in NOISY_DATASETS else max(total, min_group_weight)
        weights.append(total / (labels_per_group[group] * label_sizes[group + (row["label"],)]))
    return np.array(weights)


def is_validation(row: dict) -> bool:
    """A second, independent hash split of the training rows, for choosing settings."""
    return zlib.crc32(("validation:" + split_key(row)).encode("utf-8")) % VALIDATION_BUCKETS == 0


def training_sample(rows: list[dict], noisy_cap: int = ROWS_PER_NOISY_GROUP, cap: int = ROWS_PER_GROUP) -> list[dict]:
    """The first rows of each (data set, language), up to its cap, in a fixed pseudo-random order."""
    taken: Counter = Counter()
    sample = []
    for row in sorted(rows, key=lambda row: (zlib.crc32(row["id"].encode("utf-8")), row["id"])):
        group = (row["dataset"], row["lang"])
        if taken[group] < (noisy_cap if row["dataset"] in NOISY_DATASETS else cap):
            taken[group] += 1
            sample.append(row)
    return sample


def row_text(row: dict) -> str:
    return embedding_stage.page_text(row.get("title"), row.get("text"))


def embed_texts(texts: list[str]) -> np.ndarray:
    return get_encoder().passages(texts)


class EmbeddingCache:
    """Page embeddings by page text, optionally kept in an .npz between runs (no pickles: a string array)."""

    def __init__(self, path: str = ""):
        self.path = Path(path) if path else None
        self.vectors: dict[str, np.ndarray] = {}
        if self.path and self.path.exists():
            with np.load(self.path, allow_pickle=False) as data:
                self.vectors = dict(zip(data["texts"].tolist(), data["vectors"]))

    def embed(self, texts: list[str]) -> np.ndarray:
        missing = list(dict.fromkeys(text for text in texts if text not in self.vectors))
        if missing:
            print(f"embedding {len(missing)} texts ({len(texts) - len(missing)} cached)", flush=True)
        if missing:
            self.vectors.update(zip(missing, embed_texts(missing)))
        if missing and self.path:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            np.savez(self.path, texts=np.array(list(self.vectors)), vectors=np.vstack(list(self.vectors.values())))
        return np.vstack([self.vectors[text] for text in texts]) if texts else np.zeros((0, DIMENSIONS), np.float32)


def fit_lexical(rows: list[dict], min_group_weight: int = 0):
    """Linear softmax over word and character n-gram TF-IDF of the first 3,000 characters."""
    from scipy.sparse import hstack
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    token_lists = [stage.words(stage.article_text(row.get("title"), row.get("text"))) for row in rows]
    word_vectoriser = TfidfVectorizer(analyzer=lambda tokens: tokens, sublinear_tf=True, min_df=2,
                                      max_features=WORD_FEATURES, dtype=np.float32)
    char_vectoriser = TfidfVectorizer(analyzer=lambda tokens: stage.lexical_terms(tokens)[1], sublinear_tf=True,
                                      min_df=3, max_features=CHAR_FEATURES, dtype=np.float32)
    features = hstack([word_vectoriser.fit_transform(token_lists), char_vectoriser.fit_transform(token_lists)]).tocsr()
    labels = np.array([stage.LABELS.index(row["label"]) for row in rows])
    classifier = LogisticRegression(C=REGULARISATION_C, max_iter=300, tol=1e-4)
    classifier.fit(features, labels, sample_weight=sample_weights(rows, min_group_weight=min_group_weight))
    return word_vectoriser, char_vectoriser, classifier


def fit_embedding_head(rows: list[dict], vectors: np.ndarray, noisy_weight: float, regularisation_c: float,
                       min_group_weight: int = 0):
    """Linear softmax on the page embedding."""
    from sklearn.linear_model import LogisticRegression

    labels = np.array([stage.LABELS.index(row["label"]) for row in rows])
    weights = sample_weights(rows, noisy_weight, min_group_weight)
    classifier = LogisticRegression(C=regularisation_c, max_iter=3000)
    classifier.fit(vectors, labels, sample_weight=weights / weights.mean())
    return classifier


def _lexical_probabilities(lexical, rows: list[dict]) -> np.ndarray:
    from scipy.sparse import hstack

    word_vectoriser, char_vectoriser, classifier = lexical
    token_lists = [stage.words(stage.article_text(row.get("title"), row.get("text"))) for row in rows]
    return classifier.predict_proba(hstack([word_vectoriser.transform(token_lists),
                                            char_vectoriser.transform(token_lists)]).tocsr())


def choose_settings(rows: list[dict], sample: list[dict], vectors: np.ndarray) -> tuple[int, tuple[float, float]]:
    """The smallest hand-labelled group weight (MIN_GROUP_WEIGHTS) and the lexical shares of the combination for
    short texts and for articles (stage.SHORT_TEXT_CHARS) that score the best mean macro-F1 over the data sets (each
    weighs the same, L3Cube's languages together as one) on the validation part of the training sample, with both
    models fitted on the rest of the training rows."""
    in_validation = np.array([is_validation(row) for row in sample])
    check = [row for row, held in zip(sample, in_validation) if held]
    texts = [stage.article_text(row.get("title"), row.get("text")) for row in check]
    best, best_score = (MIN_GROUP_WEIGHTS[0], (LEXICAL_SHARES[0], LEXICAL_SHARES[0])), -1.0
    for min_group_weight in MIN_GROUP_WEIGHTS:
        lexical = fit_lexical([row for row in rows if not is_validation(row)], min_group_weight)
        head = fit_embedding_head([row for row, held in zip(sample, in_validation) if not held],
                                  vectors[~in_validation], COMBINED_NOISY_WEIGHT, COMBINED_REGULARISATION_C,
                                  min_group_weight)
        lexical_p, encoded_p = _lexical_probabilities(lexical, check), head.predict_proba(vectors[in_validation])
        for short_share in LEXICAL_SHARES:
            for long_share in LEXICAL_SHARES:
                by_dataset: dict[str, tuple[list, list]] = {}
                for row, text, lp, ep in zip(check, texts, lexical_p, encoded_p):
                    share = short_share if len(text) < stage.SHORT_TEXT_CHARS else long_share
                    gold, pred = by_dataset.setdefault(row["dataset"], ([], []))
                    gold.append(row["label"])
                    pred.append(stage.LABELS[int(np.argmax(stage.combine(lp, ep, share)))])
                score = float(np.mean([macro_scores(gold, pred)[0] for gold, pred in by_dataset.values()]))
                print(f"group weight >= {min_group_weight}, lexical share {short_share} (short) / {long_share} "
                      f"(articles): validation mean macro-F1 {score:.4f} over {len(by_dataset)} data sets", flush=True)
                if score > best_score:
                    best, best_score = (min_group_weight, (short_share, long_share)), score
    return best


def vocabulary_list(vectoriser) -> list[str]:
    terms = [""] * len(vectoriser.vocabulary_)
    for term, index in vectoriser.vocabulary_.items():
        terms[index] = term
    return terms


def save(out_dir: Path, languages: list[str], lexical, combined, alone, lexical_shares: tuple[float, float],
         min_group_weight: int) -> None:
    word_vectoriser, char_vectoriser, classifier = lexical
    out_dir.mkdir(parents=True, exist_ok=True)
    n_words = len(word_vectoriser.vocabulary_)
    weights = classifier.coef_.T.astype(np.float16)  # (features, labels); float16 halves the file, no measurable loss
    np.savez_compressed(
        out_dir / "weights.npz",
        word_idf=word_vectoriser.idf_.astype(np.float16),
        char_idf=char_vectoriser.idf_.astype(np.float16),
        word_weights=weights[:n_words],
        char_weights=weights[n_words:],
        lexical_bias=classifier.intercept_.astype(np.float32),
        combined_weights=combined.coef_.T.astype(np.float32),
        combined_bias=combined.intercept_.astype(np.float32),
        alone_weights=alone.coef_.T.astype(np.float32),
        alone_bias=alone.intercept_.astype(np.float32),
    )
    meta = {
        "version": stage.MODEL_VERSION,
        "labels": list(stage.LABELS),
        "languages": languages,
        "lexical_share_short": lexical_shares[0],
        "lexical_share_long": lexical_shares[1],
        "min_group_weight": min_group_weight,  # a training setting, recorded for the model card; not read at run time
        "words": vocabulary_list(word_vectoriser),
        "char_ngrams": vocabulary_list(char_vectoriser),
    }
    with gzip.GzipFile(out_dir / "vocabulary.json.gz", "wb", mtime=0) as handle:  # mtime=0: byte-identical reruns
        handle.write(json.dumps(meta, ensure_ascii=False).encode("utf-8"))


def measured_rows(path: Path) -> list[dict]:
    rows = [row for row in read_jsonl(path) if row.get("label") and is_held_out(row)]
    if path.parent.name in NOISY_DATASETS:
        rows = training_sample([dict(row, dataset=path.parent.name) for row in rows], MEASURED_ROWS_PER_NOISY_GROUP)
    return rows


def measure(out_dir: Path, data_dir: Path, cache: EmbeddingCache) -> list[dict]:
    """Held-out figures per topic file (languages excluded from training take the embedding-only head, as in the
    stage). docs/s counts the classifier on precomputed embeddings; the encoder's cost is `newswire bench encoder`."""
    model = stage.TopicModel(out_dir)
    results = []
    for path in topic_files(data_dir):
        rows = measured_rows(path)
        vectors = cache.embed([row_text(row) for row in rows])
        start = time.perf_counter()
        probabilities = [model.predict(row.get("title"), row.get("text"), row["lang"], vector)
                         for row, vector in zip(rows, vectors)]
        elapsed = time.perf_counter() - start
        predicted = [model.labels[int(np.argmax(p))] for p in probabilities]
        result = summarise([row["label"] for row in rows], predicted, [row["lang"] for row in rows],
                           [float(np.max(p)) for p in probabilities])
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
    sample = training_sample(rows)
    print(f"lexical model on {len(rows)} rows, embedding head on {len(sample)}: "
          f"{dict(Counter(row['dataset'] for row in sample))}")
    start = time.perf_counter()
    cache = EmbeddingCache(args.embedding_cache)
    vectors = cache.embed([row_text(row) for row in sample])
    print(f"embedded in {time.perf_counter() - start:.0f}s", flush=True)
    min_group_weight, shares = choose_settings(rows, sample, vectors)
    lexical = fit_lexical(rows, min_group_weight)
    combined = fit_embedding_head(sample, vectors, COMBINED_NOISY_WEIGHT, COMBINED_REGULARISATION_C, min_group_weight)
    alone = fit_embedding_head(sample, vectors, 1.0, ALONE_REGULARISATION_C)
    save(out_dir, sorted({row["lang"] for row in rows}), lexical, combined, alone, shares, min_group_weight)
    print(f"trained in {time.perf_counter() - start:.0f}s (hand-labelled groups weigh >= {min_group_weight} rows; "
          f"lexical share {shares[0]} short, {shares[1]} articles) -> {out_dir}")
    results = measure(out_dir, data_dir, cache)
    print(figures_table(results))
    update_card(out_dir, results)
    return 0
