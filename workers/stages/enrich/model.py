"""The shipped entity models, loaded once: one CRF per script, the gazetteer and the name lexicon."""

from __future__ import annotations

import gzip
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import orjson
import pycrfsuite

from workers.stages.enrich.context import ContextHead
from workers.stages.enrich.gazetteer import Gazetteer, load_gazetteer
from workers.stages.enrich.translit import NameLexicon, learnt_spellings, table_word_spellings

MODEL_DIR = Path(__file__).resolve().parents[2] / "models" / "entities"


@dataclass(frozen=True)
class ScriptModel:
    name: str  # file stem of the CRF
    sounds_like: bool  # the feature of the Latin name a word sounds like (for transliterated names)
    # Languages whose case and context features get language-specific copies: the languages of the
    # training rows (a copy for any other language would only make features the model never saw).
    per_language: frozenset[str]
    clusters: bool  # word-cluster features from <name>_clusters.tsv.gz (learnt from unlabelled text)
    # File stem of the contextual model (encoder heads <stem>.npz + the CRF stacked on them, <stem>.crfsuite),
    # or None where only the plain CRF exists.
    context_model: str | None = None
    # Whether the contextual CRF's spans are final: no gazetteer names added after it, no curated type override.
    # Latin: with heads and CRF fitted on the CoNLL train rows only, that pass cost F1 on the dev rows in each
    # language (en 0.9397 → 0.9381, all four 0.875 → 0.873); the CRF already reads the gazetteer as features.
    # Devanagari keeps it: it cost 0.001 on a held-back tenth of its training rows, but it finds curated names the
    # CRF misses (the Hindi example's White House and Associated Press; see the model card).
    context_spans_final: bool = False


# One CRF per script: Devanagari (trained on the Hindi sets) and Latin (CoNLL en/de/es/nl).
SCRIPT_MODELS = {
    "Deva": ScriptModel("deva", sounds_like=True, per_language=frozenset(), clusters=True, context_model="deva_context"),
    "Latn": ScriptModel("latn", sounds_like=False, per_language=frozenset({"en", "de", "es", "nl"}), clusters=False,
                        context_model="latn_context", context_spans_final=True),
}


@dataclass(frozen=True)
class Resources:
    gazetteer: Gazetteer
    lexicon: NameLexicon
    # Gazetteer names (match-key tuples) that the training data mostly leaves untagged, per script:
    # e.g. Hindi माली is Mali but usually "gardener". Those are not added as entities on their own.
    ambiguous: dict[str, frozenset[tuple[str, ...]]]


@cache
def resources() -> Resources:
    lexicon_counts = orjson.loads(gzip.decompress((MODEL_DIR / "name_lexicon.json.gz").read_bytes()))
    aligned = orjson.loads(gzip.decompress((MODEL_DIR / "name_pairs.json.gz").read_bytes()))
    ambiguous = orjson.loads((MODEL_DIR / "ambiguous_names.json").read_bytes())
    gazetteer = load_gazetteer(MODEL_DIR)
    spellings = learnt_spellings(aligned, table_word_spellings(gazetteer.canonical_names()))
    return Resources(
        gazetteer=gazetteer,
        lexicon=NameLexicon(lexicon_counts, spellings),
        ambiguous={script: frozenset(tuple(key) for key in keys) for script, keys in ambiguous.items()},
    )


def clusters_path(name: str) -> Path:
    return MODEL_DIR / f"{name}_clusters.tsv.gz"


@cache
def word_clusters(name: str) -> dict[str, str]:
    """word → cluster bit string of a script model (see workers/training/word_clusters.py)."""
    lines = gzip.decompress(clusters_path(name).read_bytes()).decode("utf-8").splitlines()
    return dict(line.split("\t") for line in lines)


@cache
def tagger(script: str) -> pycrfsuite.Tagger | None:
    """The CRF for a script, or None for scripts without one (only gazetteer names are found).

    A crfsuite Tagger keeps per-call state: use it from one thread.
    """
    if script not in SCRIPT_MODELS:
        return None
    model = pycrfsuite.Tagger()
    model.open(str(MODEL_DIR / f"{SCRIPT_MODELS[script].name}.crfsuite"))
    return model


# "context": every script with a contextual model (Devanagari, Latin) goes through the encoder; "context-deva":
# Devanagari only, Latin keeps the plain CRF (entities-ctx-1's behaviour: on a CPU without matrix units the encoder
# pass over every English sentence costs about 1 s per long article); "crf": no encoder pass in enrich.
TAGGERS = ("context", "context-deva", "crf")
CONTEXT_SCRIPTS = {"context": frozenset({"Deva", "Latn"}), "context-deva": frozenset({"Deva"}), "crf": frozenset()}


@dataclass(frozen=True)
class ContextModel:
    head: ContextHead
    crf: pycrfsuite.Tagger


@cache
def context_model(script: str) -> ContextModel | None:
    """The contextual model of a script (encoder heads + stacked CRF), or None where the script has none.

    Its Tagger keeps per-call state like the plain one: use it from one thread."""
    config = SCRIPT_MODELS.get(script)
    if config is None or config.context_model is None:
        return None
    crf = pycrfsuite.Tagger()
    crf.open(str(MODEL_DIR / f"{config.context_model}.crfsuite"))
    return ContextModel(ContextHead.load(MODEL_DIR / f"{config.context_model}.npz"), crf)


@cache
def entity_tagger() -> str:
    """The `entity_tagger` setting (one of TAGGERS)."""
    from workers.config import load_settings

    return checked_tagger(load_settings().entity_tagger)


@cache
def context_gate() -> float:
    """The `entity_context_gate` setting: how sure the plain CRF must be that a sentence names nobody for the
    sentence to skip the encoder (1: no sentence skips)."""
    from workers.config import load_settings

    gate = load_settings().entity_context_gate
    if not 0.0 < gate <= 1.0:
        raise ValueError(f"entity_context_gate must be in (0, 1], not {gate}")
    return gate


def contextual_scripts(choice: str | None = None) -> frozenset[str]:
    """The scripts whose sentences the tagger `choice` (default: the setting) reads through the encoder."""
    return CONTEXT_SCRIPTS[checked_tagger(choice) if choice else entity_tagger()]


def checked_tagger(choice: str) -> str:
    if choice not in TAGGERS:
        raise ValueError(f"entity_tagger must be one of {', '.join(TAGGERS)}, not {choice!r}")
    return choice
