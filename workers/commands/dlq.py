"""`newswire dlq inspect|replay`: what is in the dead-letter topic, and sending it back for another try."""

from __future__ import annotations

import sys
from datetime import datetime, timezone

import orjson

from workers.config import load_settings


def _since(value: str) -> datetime:
    moment = datetime.fromisoformat(value)
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def register(subparsers) -> None:
    parser = subparsers.add_parser("dlq", help="inspect or replay the dead-letter topic")
    actions = parser.add_subparsers(dest="action", required=True)
    inspect = actions.add_parser("inspect", help="counts by stage and reason, with samples")
    inspect.add_argument("--json", action="store_true", help="print the summary as one JSON line")
    replay = actions.add_parser("replay", help="send matching records back to the topic they failed on")
    replay.add_argument("--dry-run", action="store_true", help="only count what would be replayed")
    for sub in (inspect, replay):
        sub.add_argument("--stage", choices=["clean", "classify", "enrich", "index"], default=None)
        sub.add_argument("--reason", default=None, help="e.g. index_rejected, too_large, timeout")
        sub.add_argument("--since", type=_since, default=None, help="ISO time; only records that failed at or after it")
        sub.set_defaults(func=run)


def run(args) -> int:
    from tqdm import tqdm

    from workers.runtime.dlq import read_dead_letters, replay, summarize

    settings = load_settings()
    letters = [d for d in read_dead_letters(settings) if d.matches(args.stage, args.reason, args.since)]
    if args.action == "inspect":
        summary = summarize(letters)
        if args.json:
            sys.stdout.buffer.write(orjson.dumps(summary) + b"\n")
            return 0
        print(f"{summary['total']} dead letters")
        for group, count in summary["by_stage_reason"].items():
            print(f"  {count:6d}  {group}")
            for sample in summary["samples"][group]:
                print(f"            {sample['original']} key={sample['key'][:60]!r}: {sample['error'][:120]}")
        return 0
    if args.dry_run:
        print(f"would replay {len(letters)} records")
        return 0
    with tqdm(total=len(letters), unit="record", desc="replay", file=sys.stderr, disable=None) as progress:
        count = replay(settings, letters, progress)
    print(f"replayed {count} records to their stages' input topics")
    return 0
