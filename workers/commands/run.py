"""`newswire run STAGE`: run one stage worker (clean, classify, enrich: faust agents; index: bulk indexer)."""

from __future__ import annotations

import logging

from workers.config import load_settings

STAGES = ["clean", "classify", "enrich", "index"]


def register(subparsers) -> None:
    parser = subparsers.add_parser("run", help="run one stage worker until SIGTERM")
    parser.add_argument("stage", choices=STAGES)
    parser.add_argument("--log-level", default="info", choices=["debug", "info", "warn", "error"])
    parser.set_defaults(func=run)


def run(args) -> int:
    logging.basicConfig(level=args.log_level.upper().replace("WARN", "WARNING"),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    settings = load_settings()
    if args.stage == "index":
        from workers.runtime.indexer import run_indexer

        run_indexer(settings)
    else:
        from workers.runtime.streams import run_stream_stage

        run_stream_stage(args.stage, settings, loglevel=args.log_level)
    return 0
