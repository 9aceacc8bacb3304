"""Real pages for the benchmarks: the development extraction sets, interleaved and cycled.

Every HTML page of `extraction_*/pages.jsonl.gz` is used, plus the text-scrape shape of the Fundus pages
(`derived_page_text`, a naive tag-strip like the Hindi input), so the mix is what the pipeline meets. The sets
are interleaved (one page of each in turn) so that any prefix is a mix too. Cycling gives each copy a URL of
its own (a `bench_copy` query parameter, which page ids keep), so copies are distinct documents, not rewrites.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from itertools import zip_longest
from pathlib import Path
from urllib.parse import urlencode, urlsplit, urlunsplit

from workers.datasets import read_jsonl, shared_data_dir
from workers.envelope import encode_page, make_page
from workers.types import Page

EXTRACTION_SETS = (
    "extraction_fundus",
    "extraction_scrapinghub_aeb",
    "extraction_trafilatura_eval",
    "extraction_readability_testpages",
)


@dataclass(frozen=True)
class SourcePage:
    url: str
    content_type: str
    raw: str
    origin: str  # "<set>:<row id>", for reports


def _rows_of_set(path: Path, name: str) -> Iterator[SourcePage]:
    for row in read_jsonl(path):
        url = row.get("url") or f"https://bench.invalid/{name}/{row['id']}"
        if row.get("html"):
            yield SourcePage(url, "text/html", row["html"], f"{name}:{row['id']}")
        if row.get("derived_page_text"):
            yield SourcePage(url, "text/plain", row["derived_page_text"], f"{name}:{row['id']}:text")


def interleave(groups: list[list[SourcePage]]) -> list[SourcePage]:
    return [page for layer in zip_longest(*groups) for page in layer if page is not None]


def load_source_pages(data_dir: str | Path | None = None) -> list[SourcePage]:
    """All benchmark pages found under the shared data folder; raises FileNotFoundError when there are none."""
    root = shared_data_dir(str(data_dir) if data_dir else None)
    groups = [list(_rows_of_set(root / name / "pages.jsonl.gz", name))
              for name in EXTRACTION_SETS if (root / name / "pages.jsonl.gz").exists()]
    pages = interleave(groups)
    if not pages:
        raise FileNotFoundError(f"no extraction sets under {root} (set --data-dir or NEWSWIRE_SHARED_DATA)")
    return pages


def copy_url(url: str, copy: str) -> str:
    parts = urlsplit(url)
    query = f"{parts.query}&" if parts.query else ""
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query + urlencode({"bench_copy": copy}), ""))


def cycle(sources: list[SourcePage], count: int, tag: str, start: int = 0, source: str = "bench") -> list[Page]:
    """`count` pages taken round the sources from position `start`; copy n's URL carries `<tag>-<n>`."""
    pages = []
    for number in range(start, start + count):
        page = sources[number % len(sources)]
        pages.append(make_page(page.raw, url=copy_url(page.url, f"{tag}-{number}"), source=source,
                               content_type=page.content_type))
    return pages


def raw_record(page: Page) -> tuple[bytes, bytes]:
    """The (key, value) a producer sends to the raw topic: the envelope keyed by page id, as `newswire ingest` does."""
    return page.page_id.encode(), encode_page(page)
