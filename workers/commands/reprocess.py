"""`newswire reprocess --stages classify,enrich [--since T] [--until T] [--query Q]`: re-run stages over pages
already ingested, through the running pipeline (see workers/runtime/reprocess.py)."""

from __future__ import annotations

import sys
from datetime import datetime, timezone

from workers.config import load_settings


def _moment(value: str) -> datetime:
    moment = datetime.fromisoformat(value)
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def register(subparsers) -> None:
    parser = subparsers.add_parser("reprocess", help="re-run stages (e.g. after a model upgrade) over ingested pages")
    parser.add_argument("--stages", required=True, help="comma-separated: clean, classify, enrich")
    parser.add_argument("--since", type=_moment, default=None, help="ISO time: pages indexed (clean: fetched) at or after")
    parser.add_argument("--until", type=_moment, default=None, help="ISO time: before (default: now)")
    parser.add_argument("--query", default=None, help="Elasticsearch query_string, e.g. 'lang:hi AND category:world'")
    parser.add_argument("--dry-run", action="store_true", help="only count the pages")
    parser.set_defaults(func=run)


def run(args) -> int:
    from tqdm import tqdm

    from workers.runtime import reprocess
    from workers.runtime.search import make_client

    settings = load_settings()
    stages = [stage.strip() for stage in args.stages.split(",") if stage.strip()]
    try:
        entry = reprocess.entry_stage(stages)
    except ValueError as error:
        print(f"newswire reprocess: {error}", file=sys.stderr)
        return 2
    until = args.until or datetime.now(timezone.utc)
    topic = reprocess.ENTRY_TOPIC[entry]
    if entry == "clean":
        if args.query:
            print("newswire reprocess: --query needs indexed pages; it cannot select raw pages for clean", file=sys.stderr)
            return 2
        records, total = reprocess.retained_raw_records(settings, args.since, until), None
    else:
        client = make_client(settings)
        total = reprocess.count_indexed(client, settings.index_alias, args.since, until, args.query)
        if args.dry_run:
            print(f"would reprocess {total} pages from {entry} on")
            return 0
        records = reprocess.indexed_records(
            reprocess.indexed_pages(client, settings.index_alias, args.since, until, args.query))
    with tqdm(total=total, unit="page", desc=f"reprocess from {entry}", file=sys.stderr, disable=None) as progress:
        if args.dry_run:
            total = sum(1 for _ in records)
            print(f"would reprocess {total} raw pages from clean on")
            return 0
        sent = reprocess.send(settings, topic, records, progress)
    print(f"sent {sent} pages to {settings.topic(topic)}; the stages from {entry} on process them")
    return 0
