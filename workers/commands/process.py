"""`newswire process FILE [--json]`: every stage in-process on one page, no servers."""

from __future__ import annotations

import sys
from pathlib import Path

import orjson

from workers.envelope import make_page
from workers.pipeline import process_page


def register(subparsers) -> None:
    parser = subparsers.add_parser("process", help="run all stages on one page file and print the document")
    parser.add_argument("file", help="an HTML or text page ('-' for stdin)")
    parser.add_argument("--url", default=None, help="the page's URL (default: none; the id then hashes the content)")
    parser.add_argument("--content-type", choices=["text/html", "text/plain"], default=None,
                        help="default: sniffed from the content")
    parser.add_argument("--json", action="store_true", help="print the document as one JSON line (last stdout line)")
    parser.set_defaults(func=run)


def _summary(document: dict) -> str:
    entities = ", ".join(f"{e['text']} ({e['type']}: {e['canonical']})" for e in document["entities"])
    return "\n".join([
        f"title:    {document['title']}",
        f"language: {document['lang']} ({document['script']})",
        f"category: {document['category']} ({document['category_score']:.2f})",
        f"section:  {document['section'] or '-'}",
        f"entities: {entities or '-'}",
        "",
        document["body"],
    ])


def run(args) -> int:
    try:
        # The bytes as read: the clean stage decodes them (byte-order mark, <meta charset>, detection).
        raw = sys.stdin.buffer.read() if args.file == "-" else Path(args.file).read_bytes()
    except OSError as error:
        print(f"newswire process: cannot read {args.file}: {error}", file=sys.stderr)
        return 2
    from workers.stages.clean import CleanError

    try:
        document = process_page(make_page(raw, url=args.url, content_type=args.content_type))
    except CleanError as error:
        print(f"newswire process: {args.file} cannot be cleaned ({error.reason}): {error}", file=sys.stderr)
        return 1
    if args.json:
        sys.stdout.buffer.write(orjson.dumps(document) + b"\n")
    else:
        print(_summary(document))
    return 0
