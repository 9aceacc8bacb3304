"""`newswire eval KIND --data FILE [--json]`: score a stage on a labelled JSONL(.gz) file.

Each evaluator lives in workers/evaluation/<kind>.py and exposes add_arguments(parser) and run(args) -> int.
Machine-readable result: with --json the last stdout line is one JSON object.
"""

from __future__ import annotations

import importlib

EVALUATORS = {
    "extract": "workers.evaluation.extract",
    "langid": "workers.evaluation.langid",
    "topics": "workers.evaluation.topics",
    "entities": "workers.evaluation.entities",
    "canonical": "workers.evaluation.canonical",
    "dedup": "workers.evaluation.dedup",
    "retrieval": "workers.evaluation.retrieval",
    "search": "workers.evaluation.search",
    "stories": "workers.evaluation.stories",
}


def register(subparsers) -> None:
    parser = subparsers.add_parser("eval", help="score a stage on a labelled data set")
    kinds = parser.add_subparsers(dest="kind", required=True)
    for kind, module_name in EVALUATORS.items():
        module = importlib.import_module(module_name)
        sub = kinds.add_parser(kind, help=module.__doc__.strip().splitlines()[0])
        sub.add_argument("--data", required=True, help="JSON Lines file, optionally gzip-compressed")
        sub.add_argument("--json", action="store_true", help="print one JSON object as the last stdout line")
        sub.add_argument("--limit", type=int, default=None, help="score only the first N rows")
        module.add_arguments(sub)
        sub.set_defaults(func=module.run)
