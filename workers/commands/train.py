"""`newswire train KIND`: rebuild a shipped model from ../shared/data (or --data-dir).

Each trainer lives in workers/training/<kind>.py and exposes add_arguments(parser) and run(args) -> int.
"""

from __future__ import annotations

import importlib

TRAINERS = {
    "topics": "workers.training.topics",
    "entities": "workers.training.entities",
    "entities-context": "workers.training.entity_context",
    "names": "workers.training.names",
    "text-lines": "workers.training.text_lines",
}


def register(subparsers) -> None:
    parser = subparsers.add_parser("train", help="train a shipped model from the development data")
    kinds = parser.add_subparsers(dest="kind", required=True)
    for kind, module_name in TRAINERS.items():
        module = importlib.import_module(module_name)
        sub = kinds.add_parser(kind, help=module.__doc__.strip().splitlines()[0])
        sub.add_argument("--data-dir", default=None, help="folder with the data sets (default: $NEWSWIRE_SHARED_DATA or ../shared/data)")
        module.add_arguments(sub)
        sub.set_defaults(func=module.run)
