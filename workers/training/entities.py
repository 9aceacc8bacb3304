"""Train the entity models (CRF per script, name lexicon) from the NER sets.

Writes into workers/models/entities/ (the name tables it reads, cldr_names.json.gz among them, come
from `newswire train names`):
- deva_clusters.tsv.gz word clusters of Hindi words from unlabelled text (features of deva.crfsuite)
- deva.crfsuite        CRF for Devanagari text, trained on the Hindi sets
- latn.crfsuite        CRF for Latin-script text, trained on CoNLL en/de/es/nl
- name_lexicon.json.gz Latin-script name words with counts, to snap transliterations to
- ambiguous_names.json gazetteer names the training data mostly does not tag as entities

Held out from training (so `newswire eval entities --held-out` can score them): every row whose
split is "dev" (except CoNLL, whose train and dev are both used: its test file is the score set),
one IJCNLP-08 row in ten (by a stable hash of its id), and every HiNER row that is in
ner_hiner/validation_sample1500 (that file is the HiNER score set). The test files
(ner_conll/test, ner_il_ner/test) are never read here.
"""

from __future__ import annotations

import functools
import gzip
import time
import zlib
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import orjson
import pycrfsuite

from workers.datasets import read_jsonl, shared_data_dir
from workers.stages.enrich.features import sentence_features
from workers.stages.enrich.gazetteer import load_gazetteer
from workers.stages.enrich.model import MODEL_DIR, SCRIPT_MODELS, ScriptModel, clusters_path, word_clusters
from workers.stages.enrich.text import match_key
from workers.stages.enrich.translit import NameLexicon
from workers.training.word_clusters import build_clusters, hindi_sentences, write_clusters

# Training files per script model: (folder/file, languages taken from it, copies). The Hindi sets
# disagree on conventions (titles inside names, what counts as an ORG); the two general-news sets
# with the weakest scores are given twice, and machine-labelled WikiANN is left out.
TRAINING_SETS = {
    "deva": [
        ("ner_il_ner_train_dev/train_dev.jsonl.gz", {"hi"}, 2),
        ("ner_ijcnlp2008_hindi/data.jsonl.gz", {"hi"}, 2),
        ("ner_hiner_validation_full/validation.jsonl.gz", {"hi"}, 1),
        ("ner_multiconer2/train_dev.jsonl.gz", {"hi"}, 1),
    ],
    "latn": [
        ("ner_conll_train_dev/train_dev.jsonl.gz", {"en", "de", "es", "nl"}, 1),
    ],
}
# L-BFGS iterations of the shipped models (the Latin one has more data and language copies).
MAX_ITERATIONS = {"deva": 120, "latn": 150}
HINER_SCORE_SET = "ner_hiner/validation_sample1500.jsonl.gz"
# English name words for the transliteration lexicon.
LEXICON_SETS = [
    ("ner_conll_train_dev/train_dev.jsonl.gz", {"en"}),
    ("ner_wikiann_panx/train_dev.jsonl.gz", {"en"}),
    ("ner_multiconer2/train_dev.jsonl.gz", {"en"}),
]
def add_arguments(parser) -> None:
    parser.add_argument("--only", choices=sorted(TRAINING_SETS), help="train one script's model only")
    parser.add_argument("--max-iterations", type=int, default=None, help="L-BFGS iterations (default: per model)")
    parser.add_argument("--limit", type=int, default=None, help="use at most N rows of each training file")


def is_heldout(row: dict, hiner_score_texts: frozenset[str] = frozenset()) -> bool:
    """Whether the trainer keeps this row out of training (see the module doc)."""
    if row["id"].startswith("conll-"):
        return False  # CoNLL has its own test file (ner_conll/test) to score on
    if row.get("split") == "dev":
        return True
    if row["id"].startswith("ijcnlp08-"):
        return zlib.crc32(row["id"].encode()) % 10 == 0
    return " ".join(row["tokens"]) in hiner_score_texts


def heldout_rule(data_dir: Path) -> Callable[[dict], bool]:
    """is_heldout with the HiNER score set read from data_dir."""
    hiner_score_texts = frozenset(" ".join(row["tokens"]) for row in read_jsonl(data_dir / HINER_SCORE_SET))
    return functools.partial(is_heldout, hiner_score_texts=hiner_score_texts)


def bio_labels(row: dict) -> list[str]:
    labels = ["O"] * len(row["tokens"])
    for entity in row["entities"]:
        labels[entity["start"]] = "B-" + entity["type"]
        for i in range(entity["start"] + 1, entity["end"]):
            labels[i] = "I-" + entity["type"]
    return labels


def training_rows(data_dir: Path, script_model: str, limit: int | None) -> list[dict]:
    heldout = heldout_rule(data_dir)
    rows, per_file = [], Counter()
    for relative, languages, copies in TRAINING_SETS[script_model]:
        for row in read_jsonl(data_dir / relative):
            if row["lang"] not in languages or heldout(row):
                continue
            if row.get("no_devanagari") or not row["tokens"]:  # IJCNLP's untagged English headers
                continue
            if limit is not None and per_file[relative] >= limit:
                break
            per_file[relative] += 1
            rows.extend([row] * copies)
    sizes = ", ".join(f"{relative.split('/')[0]}={count}" for relative, count in per_file.items())
    print(f"{script_model}: {len(rows)} training sentences ({sizes})")
    return rows


def ambiguous_names(rows: list[dict], gazetteer) -> list[list[str]]:
    """CLDR names seen at least 3 times in training text but mostly outside any gold entity (कतार
    "queue", not Qatar). Inside a longer entity (लंदन in लंदन विश्वविद्यालय) counts as a name. Curated
    names are chosen to be unambiguous and some sets leave even those untagged, so they are kept."""
    seen, tagged = Counter(), Counter()
    for row in rows:
        keys = [match_key(token) for token in row["tokens"]]
        in_entity = [False] * len(keys)
        for entity in row["entities"]:
            in_entity[entity["start"] : entity["end"]] = [True] * (entity["end"] - entity["start"])
        for match in gazetteer.match(keys):
            if match.name.curated:
                continue
            key = tuple(keys[match.start : match.end])
            seen[key] += 1
            tagged[key] += all(in_entity[match.start : match.end])
    return sorted(list(key) for key, count in seen.items() if count >= 3 and tagged[key] / count < 0.5)


def name_lexicon(data_dir: Path) -> dict[str, list[int]]:
    """Words of English entity names seen at least twice, title-cased, with their [PER, ORG, LOC] counts:
    the spellings transliterations snap to, and the sound-alike feature of the Devanagari CRF."""
    counts: dict[str, list[int]] = {}
    for relative, languages in LEXICON_SETS:
        for row in read_jsonl(data_dir / relative):
            if row["lang"] not in languages:
                continue
            for entity in row["entities"]:
                for token in row["tokens"][entity["start"] : entity["end"]]:
                    if token.isalpha() and token.isascii() and len(token) > 1:
                        word = token[0].upper() + token[1:].lower()
                        counts.setdefault(word, [0, 0, 0])[NameLexicon.TYPES.index(entity["type"])] += 1
    return {word: c for word, c in sorted(counts.items()) if sum(c) >= 2}


def train_crf(rows: list[dict], gazetteer, lexicon: NameLexicon, config: ScriptModel, max_iterations: int) -> None:
    trainer = pycrfsuite.Trainer(verbose=False)
    clusters = word_clusters(config.name) if config.clusters else None
    for row in rows:
        features = sentence_features(
            row["tokens"],
            gazetteer,
            lexicon=lexicon if config.sounds_like else None,
            language=row["lang"] if row["lang"] in config.per_language else None,
            clusters=clusters,
        )
        trainer.append(features, bio_labels(row))
    # L1 keeps the model small (most rare features get weight 0); L2 smooths the rest.
    trainer.set_params(
        {"c1": 0.1, "c2": 0.01, "max_iterations": max_iterations, "feature.possible_transitions": True}
    )
    trainer.train(str(MODEL_DIR / f"{config.name}.crfsuite"))


def run(args) -> int:
    data_dir = shared_data_dir(args.data_dir)
    started = time.perf_counter()
    lexicon_counts = name_lexicon(data_dir)
    (MODEL_DIR / "name_lexicon.json.gz").write_bytes(gzip.compress(orjson.dumps(lexicon_counts), mtime=0))
    print(f"gazetteer and lexicon ({len(lexicon_counts)} words) in {time.perf_counter() - started:.0f}s")
    gazetteer, lexicon = load_gazetteer(MODEL_DIR), NameLexicon(lexicon_counts)
    ambiguous_path = MODEL_DIR / "ambiguous_names.json"
    ambiguous = orjson.loads(ambiguous_path.read_bytes()) if ambiguous_path.exists() else {}
    for script, config in SCRIPT_MODELS.items():
        if args.only and args.only != config.name:
            continue
        rows = training_rows(data_dir, config.name, args.limit)
        if config.clusters:
            clusters = build_clusters(list(hindi_sentences(data_dir, heldout_rule(data_dir))))
            write_clusters(clusters, clusters_path(config.name))
            word_clusters.cache_clear()
            print(f"{config.name}: {len(clusters)} word clusters in {time.perf_counter() - started:.0f}s")
        ambiguous[script] = ambiguous_names(rows, gazetteer)
        train_crf(rows, gazetteer, lexicon, config, args.max_iterations or MAX_ITERATIONS[config.name])
        print(f"{config.name}.crfsuite trained in {time.perf_counter() - started:.0f}s")
    ambiguous_path.write_bytes(orjson.dumps(ambiguous, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS))
    return 0
