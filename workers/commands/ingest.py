"""`newswire ingest PATH...`: send pages to the raw topic as envelopes keyed by page id.

PATH may be a page file (.html/.htm = HTML, .txt = text scrape; an optional sidecar `NAME.meta.json` gives
`url`, `source`, `fetched_at`), a folder (walked for such files), or JSON Lines (.jsonl, .jsonl.gz) whose rows
carry the page in `raw` (with `content_type`), `html`, or `text`, and optionally `url`, `source`, `fetched_at`.
An input that cannot be read is reported and skipped; the rest is still sent.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path

import orjson

from workers.config import load_settings
from workers.datasets import read_jsonl
from workers.envelope import encode_page, make_page
from workers.types import Page

PAGE_SUFFIXES = {".html": "text/html", ".htm": "text/html", ".txt": "text/plain"}


class InputError(Exception):
    pass


def register(subparsers) -> None:
    parser = subparsers.add_parser("ingest", help="send page files, folders or JSON Lines to the raw topic")
    parser.add_argument("paths", nargs="+")
    parser.add_argument("--source", default=None, help="source name recorded on every page (default: from the input)")
    parser.set_defaults(func=run)


def _page_from_row(row: dict, origin: str, source: str | None) -> Page:
    if not isinstance(row, dict):
        raise InputError(f"{origin}: expected a JSON object")
    for field, content_type in (("raw", row.get("content_type")), ("html", "text/html"), ("text", "text/plain")):
        if isinstance(row.get(field), str):
            return make_page(row[field], url=row.get("url"), source=source or row.get("source"),
                             fetched_at=row.get("fetched_at") or _now(), content_type=content_type)
    raise InputError(f"{origin}: row has no 'raw', 'html' or 'text' string")


def _now() -> str:
    return datetime.now(timezone.utc).isoformat()


def _pages_from_file(path: Path, source: str | None) -> Iterator[Page]:
    name = path.name.lower()
    if name.endswith((".jsonl", ".jsonl.gz", ".ndjson")):
        try:
            for number, row in enumerate(read_jsonl(path), start=1):
                yield _page_from_row(row, f"{path}:{number}", source)
        except (orjson.JSONDecodeError, EOFError, OSError) as error:
            raise InputError(f"{path}: unreadable JSON Lines: {error}") from None
        return
    content_type = PAGE_SUFFIXES.get(path.suffix.lower())
    if content_type is None:
        raise InputError(f"{path}: unknown file type (expected .html, .htm, .txt, .jsonl, .jsonl.gz)")
    try:
        raw = path.read_bytes()  # sent as bytes (`raw_base64`): the clean stage decodes them
    except OSError as error:
        raise InputError(f"{path}: {error.strerror or error}") from None
    meta_path = path.with_name(path.stem + ".meta.json")
    meta = orjson.loads(meta_path.read_bytes()) if meta_path.exists() else {}
    yield make_page(raw, url=meta.get("url"), source=source or meta.get("source"),
                    fetched_at=meta.get("fetched_at") or _now(), content_type=content_type)


def _expand(paths: list[str]) -> Iterator[Path]:
    for name in paths:
        path = Path(name)
        if path.is_dir():
            for child in sorted(path.rglob("*")):
                if child.is_file() and not child.name.endswith(".meta.json") and (
                    child.suffix.lower() in PAGE_SUFFIXES or child.name.endswith((".jsonl", ".jsonl.gz"))
                ):
                    yield child
        else:
            yield path


def _produce(producer, topic: str, key: bytes, value: bytes, on_delivery) -> None:
    """Produce, waiting for room when the client's local queue is full instead of dropping the page."""
    while True:
        try:
            producer.produce(topic, key=key, value=value, on_delivery=on_delivery)
            producer.poll(0)
            return
        except BufferError:
            producer.poll(1.0)


def run(args) -> int:
    from confluent_kafka import Producer
    from tqdm import tqdm

    from workers import topics
    from workers.runtime.kafka import producer_config

    settings = load_settings()
    producer = Producer(producer_config(settings))
    topic = settings.topic(topics.RAW)
    failures: list[str] = []
    delivery_errors: list[str] = []

    def on_delivery(error, message):
        if error is not None:
            delivery_errors.append(f"{message.key().decode()}: {error}")

    sent = 0
    with tqdm(unit="page", desc="ingest", file=sys.stderr, disable=None) as progress:
        for path in _expand(args.paths):
            try:
                for page in _pages_from_file(path, args.source):
                    value = encode_page(page)
                    if len(value) > settings.max_page_bytes:
                        failures.append(f"{path}: page {page.url or page.page_id} is {len(value)} bytes, "
                                        f"over the {settings.max_page_bytes} limit")
                        continue
                    _produce(producer, topic, page.page_id.encode(), value, on_delivery)
                    sent += 1
                    progress.update(1)
            except (InputError, ValueError) as error:
                failures.append(str(error))
    remaining = producer.flush(60)
    for failure in failures + delivery_errors:
        print(f"newswire ingest: {failure}", file=sys.stderr)
    delivered = sent - len(delivery_errors) - remaining
    print(f"sent {delivered} pages to {topic}; {len(failures)} inputs rejected, {len(delivery_errors) + remaining} not delivered")
    return 1 if failures or delivery_errors or remaining else 0
