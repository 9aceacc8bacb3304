"""Train a script's contextual tagger: encoder heads plus a CRF stacked on their probabilities.

Reads the same training rows as `newswire train entities` (Devanagari: the Hindi sets; Latin: CoNLL en/de/es/nl;
the same held-out rows kept out) and its outputs (word clusters, name lexicon), so run that first. Writes into
workers/models/entities/, for `--script Deva` (default) or `--script Latn`:
- <script>_context.npz       two linear heads over layer CONTEXT_LAYER of the shared encoder (one per half of
                             the rows, by a stable hash of the row id)
- <script>_context.crfsuite  the script's CRF with the heads' label probabilities as extra features; each row's
                             probabilities come from the head fitted on the other half (cross-fitting)

The encoder pass over the training sentences is the slow part (about 25 minutes per core for the 47k Hindi
sentences on an fp32-only CPU): `--state-cache FILE` keeps the word states so that a second run skips it.
"""

from __future__ import annotations

import time
import zlib
from pathlib import Path

import numpy as np

from workers.datasets import shared_data_dir
from workers.stages.enrich.context import LABELS, ContextHead, with_context
from workers.stages.enrich.features import sentence_features
from workers.stages.enrich.model import MODEL_DIR, SCRIPT_MODELS, ScriptModel, resources, word_clusters
from workers.training.entities import MAX_ITERATIONS, bio_labels, training_rows

FOLDS = 2
# Most words are outside any entity; the heads see this share of them (and their O bias is corrected for it),
# which makes each fit a few times faster at no measurable cost.
KEEP_OUTSIDE = 0.3
HEAD_C = 1.0  # scikit-learn's default regularisation, not tuned
# Encoder layer the heads read: a linear probe on 4,900 training sentences, scored on 2,400 others (both from the
# training rows, never the score sets) gave span F1 0.566 / 0.630 / 0.643 / 0.600 / 0.533 at layers
# 4 / 6 / 8 / 10 / 12; the middle layers keep more about the word, the last ones are shaped for the sentence vector.
CONTEXT_LAYER = 8
# L2 weight of the stacked CRF per script model (L1 stays 0.1). Latin: chosen on the CoNLL dev rows with heads and
# CRF fitted on the train rows only (F1 over en/de/es/nl 0.873 at 0.01, 0.875 at 0.1, better in each language);
# Devanagari keeps the plain CRF's 0.01, not re-chosen.
STACKED_L2 = {"deva": 0.01, "latn": 0.1}


def add_arguments(parser) -> None:
    parser.add_argument("--script", choices=sorted(SCRIPT_MODELS), default="Deva", help="the script model to train")
    parser.add_argument("--state-cache", type=Path, default=None, help="npz file for the encoder's word states (read if present, else written)")
    parser.add_argument("--limit", type=int, default=None, help="use at most N rows of each training file")
    parser.add_argument("--max-iterations", type=int, default=None, help="L-BFGS iterations of the CRF (default: as the plain model)")


def fold_of(row_id: str) -> int:
    return zlib.crc32(row_id.encode()) % FOLDS


def word_states(rows: list[dict], cache: Path | None) -> dict[str, np.ndarray]:
    """Encoder states at CONTEXT_LAYER of every word of every distinct row, by row id (float16)."""
    if cache is not None and cache.exists():
        with np.load(cache) as data:
            ids, lengths, states = list(data["ids"]), data["lengths"], data["states"]
        offsets = np.concatenate([[0], np.cumsum(lengths)])
        cached = {row_id: states[offsets[i] : offsets[i + 1]] for i, row_id in enumerate(ids)}
        if all(row["id"] in cached for row in rows):
            return cached
        print(f"{cache}: does not cover these rows, encoding again")
    from workers.encoder import get_encoder

    encoder = get_encoder()
    distinct = list({row["id"]: row for row in rows}.values())
    started, states = time.perf_counter(), {}
    step = 2048
    for start in range(0, len(distinct), step):
        chunk = distinct[start : start + step]
        for row, state in zip(chunk, encoder.word_states([row["tokens"] for row in chunk], (CONTEXT_LAYER,))):
            states[row["id"]] = state.astype(np.float16)
        print(f"  encoded {start + len(chunk)}/{len(distinct)} rows in {time.perf_counter() - started:.0f}s", flush=True)
    if cache is not None:
        ids = list(states)
        np.savez(cache, ids=np.array(ids), lengths=np.array([len(states[i]) for i in ids]),
                 states=np.concatenate([states[i] for i in ids]))
    return states


def fit_head(rows: list[dict], states: dict[str, np.ndarray], seed: int) -> tuple[np.ndarray, np.ndarray]:
    """A multinomial logistic regression from word state to BIO label: (weights [dim, labels], bias [labels])."""
    from sklearn.linear_model import LogisticRegression

    features, labels = [], []
    for row in rows:
        features.append(states[row["id"]])
        labels.extend(LABELS.index(label) for label in bio_labels(row))
    x, y = np.concatenate(features).astype(np.float32), np.array(labels)
    keep = (y != 0) | (np.random.default_rng(seed).random(len(y)) < KEEP_OUTSIDE)
    model = LogisticRegression(C=HEAD_C, max_iter=300).fit(x[keep], y[keep])
    if list(model.classes_) != list(range(len(LABELS))):
        raise ValueError(f"training rows lack labels: {sorted(set(range(len(LABELS))) - set(model.classes_))}")
    bias = model.intercept_.astype(np.float32).copy()
    bias[0] -= np.log(KEEP_OUTSIDE)  # undo the sampling of O words in the prior
    return model.coef_.T.astype(np.float32), bias


def train_stacked_crf(rows: list[dict], config: ScriptModel, head: ContextHead, states: dict[str, np.ndarray],
                      max_iterations: int) -> None:
    import pycrfsuite

    res = resources()
    clusters = word_clusters(config.name) if config.clusters else None
    trainer = pycrfsuite.Trainer(verbose=False)
    for row in rows:
        features = sentence_features(row["tokens"], res.gazetteer, lexicon=res.lexicon if config.sounds_like else None,
                                     language=row["lang"] if row["lang"] in config.per_language else None,
                                     clusters=clusters)
        # The head that never saw this row: what the CRF will meet on new text.
        probabilities = head.probabilities(states[row["id"]].astype(np.float32), heads=[1 - fold_of(row["id"])])
        trainer.append(with_context(features, probabilities), bio_labels(row))
    trainer.set_params({"c1": 0.1, "c2": STACKED_L2[config.name], "max_iterations": max_iterations,
                        "feature.possible_transitions": True})
    trainer.train(str(MODEL_DIR / f"{config.context_model}.crfsuite"))


def run(args) -> int:
    data_dir = shared_data_dir(args.data_dir)
    started = time.perf_counter()
    config = SCRIPT_MODELS[args.script]
    if config.context_model is None:
        raise SystemExit(f"{args.script} has no context_model file stem in SCRIPT_MODELS")
    rows = training_rows(data_dir, config.name, args.limit)
    states = word_states(rows, args.state_cache)
    print(f"word states of {len(states)} rows in {time.perf_counter() - started:.0f}s")
    weights, biases = [], []
    for fold in range(FOLDS):
        w, b = fit_head([row for row in rows if fold_of(row["id"]) == fold], states, seed=fold)
        weights.append(w)
        biases.append(b)
        print(f"head {fold} fitted in {time.perf_counter() - started:.0f}s")
    path = MODEL_DIR / f"{config.context_model}.npz"
    ContextHead(CONTEXT_LAYER, np.stack(weights), np.stack(biases)).save(path)
    head = ContextHead.load(path)  # as shipped (float16 weights), so the CRF learns the tagger's own inputs
    train_stacked_crf(rows, config, head, states, args.max_iterations or MAX_ITERATIONS[config.name])
    print(f"{config.context_model}.crfsuite trained in {time.perf_counter() - started:.0f}s")
    return 0
