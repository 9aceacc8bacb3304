"""Clean stage: a raw page (HTML or a text scrape) in, the article's title, body and metadata out.

`clean(raw, content_type, url)` returns a `CleanedPage` or raises `CleanError(reason)` for input it cannot
clean (reasons: "not_text", "binary", "undecodable", "empty", "too_large", "timeout", "too_deep"); see
limits.py for the size and time caps. `raw` as `bytes` (bare records, files) is decoded here, with
`normalize.decode_page`; `str` is text its producer already decoded.
"""

from __future__ import annotations

import re

from workers import __version__
from workers.stages.clean.html import clean_html
from workers.stages.clean.limits import CleanError, check_size, max_bytes, time_limit, timeout_seconds
from workers.stages.clean.normalize import decode_page, sanitise
from workers.stages.clean.text import clean_text
from workers.stages.clean.text_lines import shipped_model
from workers.types import CleanedPage

__all__ = ["CLEANER_VERSION", "CleanError", "clean"]

# What a document records as `models.clean`: the package's version and the text-scrape line scorer's weights.
CLEANER_VERSION = f"{__version__}+{shipped_model().version}"

_HTML_TYPES = {"text/html", "application/xhtml+xml"}
_TEXT_TYPES = {"text/plain"}
# Share of NUL/control bytes above which the "text" is binary data.
MAX_CONTROL_SHARE = 0.01
_CONTROL = re.compile("[\x00-\x08\x0b\x0e-\x1f]")  # below the space, other than tab, newline, CR, FF


def _media_type(content_type: str) -> str:
    return (content_type or "").split(";")[0].strip().lower()


def _looks_binary(raw: str) -> bool:
    sample = raw[:4096]
    return len(_CONTROL.findall(sample)) > len(sample) * MAX_CONTROL_SHARE


def clean(raw: str | bytes, content_type: str, url: str | None = None) -> CleanedPage:
    media_type = _media_type(content_type)
    if media_type not in _HTML_TYPES | _TEXT_TYPES or not isinstance(raw, (str, bytes)):
        raise CleanError("not_text", f"content type {content_type!r}")
    if isinstance(raw, bytes):
        if len(raw) > max_bytes():
            raise CleanError("too_large", f"more than {max_bytes()} bytes")
        raw = decode_page(raw, content_type)
    raw = raw.removeprefix("\ufeff")  # a byte-order mark the producer decoded along with the page
    if not raw.strip():
        raise CleanError("empty")
    check_size(raw, max_bytes())
    if _looks_binary(raw):
        raise CleanError("not_text", "binary content")
    raw = sanitise(raw)
    with time_limit(timeout_seconds()) as deadline:
        if media_type in _TEXT_TYPES:
            page = clean_text(raw, deadline)
        else:
            page = clean_html(raw, url, deadline)
    if url and not page.canonical_url:
        page.canonical_url = url
    return page
