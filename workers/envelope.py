"""The wire format of raw pages: a versioned JSON envelope, or a bare page as a plain Kafka client sends it.

Envelope (version 1), JSON object:
    {"v": 1, "page_id": "...", "url": "...", "source": "...", "fetched_at": "ISO 8601",
     "content_type": "text/html" | "text/plain", "raw": "<the page>"}
`page_id` is optional (derived from the canonical URL). A bare record (anything that is not a JSON object with
"v") is the page itself: UTF-8 HTML or text as the value, the URL (or nothing) as the key.
"""

from __future__ import annotations

import hashlib
import re
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import orjson

from workers.types import Page

ENVELOPE_VERSION = 1
CONTENT_TYPES = ("text/html", "text/plain")
_TRACKING_PARAM = re.compile(r"^(utm_\w+|fbclid|gclid|mc_cid|mc_eid|ref|ocid)$", re.IGNORECASE)
_HTML_START = re.compile(rb"^\s*(<!doctype html|<html|<head|<body|<!--|<\?xml|<meta|<div|<article|<p[\s>])", re.IGNORECASE)


class EnvelopeError(ValueError):
    """A raw record that cannot become a Page; `reason` names the class of problem for the dead-letter topic."""

    def __init__(self, reason: str, message: str):
        super().__init__(message)
        self.reason = reason


def canonical_url(url: str) -> str:
    """Lower-cased scheme and host, no fragment, no tracking parameters, no trailing slash on the path."""
    parts = urlsplit(url.strip())
    query = urlencode(sorted((k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if not _TRACKING_PARAM.match(k)))
    path = parts.path.rstrip("/") or "/"
    host = (parts.hostname or "").lower()
    if parts.port and not (parts.scheme == "http" and parts.port == 80 or parts.scheme == "https" and parts.port == 443):
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme.lower(), host, path, query, ""))


def page_id_for(url: str | None, raw: str) -> str:
    """Stable id: hash of the canonical URL; pages without a URL are identified by their content."""
    basis = ("url:" + canonical_url(url)) if url else ("content:" + raw)
    return hashlib.sha256(basis.encode("utf-8")).hexdigest()[:32]


def sniff_content_type(raw: bytes) -> str:
    return "text/html" if _HTML_START.match(raw[:2048]) else "text/plain"


def encode_page(page: Page) -> bytes:
    return orjson.dumps(
        {
            "v": ENVELOPE_VERSION,
            "page_id": page.page_id,
            "url": page.url,
            "source": page.source,
            "fetched_at": page.fetched_at,
            "content_type": page.content_type,
            "raw": page.raw,
        }
    )


def make_page(raw: str, url: str | None = None, source: str | None = None, fetched_at: str | None = None,
              content_type: str | None = None) -> Page:
    content_type = content_type or sniff_content_type(raw.encode("utf-8", "replace"))
    return Page(page_id_for(url, raw), url, source, fetched_at, content_type, raw)


def _decode_text(data: bytes, what: str) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise EnvelopeError("invalid_utf8", f"{what} is not valid UTF-8 (byte {error.start})") from None


def _field(envelope: dict, name: str, required: bool = False) -> str | None:
    value = envelope.get(name)
    if value is None:
        if required:
            raise EnvelopeError("missing_field", f"envelope has no {name!r}")
        return None
    if not isinstance(value, str):
        raise EnvelopeError("wrong_field_type", f"envelope field {name!r} must be a string, not {type(value).__name__}")
    return value


def decode_raw_record(key: bytes | None, value: bytes | None, max_bytes: int) -> Page:
    """Turn a raw-topic record into a Page, or raise EnvelopeError with the reason."""
    if not value:
        raise EnvelopeError("empty", "record has no value")
    if len(value) > max_bytes:
        raise EnvelopeError("too_large", f"record is {len(value)} bytes, the limit is {max_bytes}")
    if value[:1] == b"{":
        try:
            envelope = orjson.loads(value)
        except orjson.JSONDecodeError as error:
            if b'"v"' in value[:200]:
                raise EnvelopeError("malformed_envelope", f"envelope is not valid JSON: {error}") from None
            envelope = None  # a text page that happens to start with "{"
        if isinstance(envelope, dict) and "v" in envelope:
            return _page_from_envelope(envelope)
    if b"\x00" in value[:4096]:
        raise EnvelopeError("binary", "record value looks binary (NUL bytes)")
    raw = _decode_text(value, "record value")
    url = _decode_text(key, "record key").strip() if key else None
    if url and not re.match(r"^https?://", url, re.IGNORECASE):
        url = None  # a key that is not a URL still partitions the record, but is no page address
    return Page(page_id_for(url, raw), url, None, None, sniff_content_type(value), raw)


def _page_from_envelope(envelope: dict) -> Page:
    if envelope["v"] != ENVELOPE_VERSION:
        raise EnvelopeError("unknown_version", f"envelope version {envelope['v']!r} is not supported (expected {ENVELOPE_VERSION})")
    raw = _field(envelope, "raw", required=True)
    url = _field(envelope, "url")
    content_type = _field(envelope, "content_type") or sniff_content_type(raw.encode("utf-8"))
    content_type = content_type.split(";")[0].strip().lower()
    if content_type not in CONTENT_TYPES:
        raise EnvelopeError("unsupported_content_type", f"content type {content_type!r} is not one of {CONTENT_TYPES}")
    page_id = _field(envelope, "page_id") or page_id_for(url, raw)
    return Page(page_id, url, _field(envelope, "source"), _field(envelope, "fetched_at"), content_type, raw)
