"""The `newswire` command. Each subcommand lives in its own module and registers itself here."""

from __future__ import annotations

import argparse
import importlib
import sys

# module path -> each module exposes register(subparsers) which adds its parsers with set_defaults(func=...)
COMMAND_MODULES = [
    "workers.commands.process",
    "workers.commands.ingest",
    "workers.commands.topics",
    "workers.commands.run",
    "workers.commands.search",
    "workers.commands.dlq",
    "workers.commands.reprocess",
    "workers.commands.eval",
    "workers.commands.train",
    "workers.commands.bench",
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="newswire", description=__doc__)
    subparsers = parser.add_subparsers(dest="command", required=True)
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
