"""Reading the development data format (gzip or plain JSON Lines) and locating ../shared/data."""

from __future__ import annotations

import gzip
import os
from collections.abc import Iterator
from pathlib import Path

import orjson

REPO_ROOT = Path(__file__).resolve().parent.parent


def shared_data_dir(override: str | None = None) -> Path:
    """Where the development data sets live: --data-dir, $NEWSWIRE_SHARED_DATA, or ../shared/data beside the repo."""
    if override:
        return Path(override)
    if os.environ.get("NEWSWIRE_SHARED_DATA"):
        return Path(os.environ["NEWSWIRE_SHARED_DATA"])
    return REPO_ROOT.parent / "shared" / "data"


def read_jsonl(path: str | Path, limit: int | None = None) -> Iterator[dict]:
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as handle:
        for count, line in enumerate(handle):
            if limit is not None and count >= limit:
                return
            line = line.strip()
            if line:
                yield orjson.loads(line)
