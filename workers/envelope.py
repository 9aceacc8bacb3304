"""The wire format of raw pages: a versioned JSON envelope, or a bare page as a plain Kafka client sends it.

Envelope (version 1), JSON object:
    {"v": 1, "page_id": "...", "url": "...", "source": "...", "fetched_at": "ISO 8601",
     "content_type": "text/html" | "text/plain" [+ "; charset=..."], "raw": "<the page>" | "raw_base64": "..."}
`page_id` is optional (derived from the canonical URL). `raw` is the page as text (its producer decoded it);
`raw_base64` is the page's bytes as fetched, which the clean stage decodes, using the `charset=` of
`content_type` when there is one. A bare record (anything that is not a JSON object with "v") is the page
itself: its bytes, in any encoding, as the value, the URL (or nothing) as the key; the clean stage decodes
the bytes too (workers/stages/clean/normalize.py). Nothing here decodes a page.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import orjson

from workers.stages.clean.normalize import sniff_content_type
from workers.types import Page

ENVELOPE_VERSION = 1
CONTENT_TYPES = ("text/html", "text/plain")
_TRACKING_PARAM = re.compile(r"^(utm_\w+|fbclid|gclid|mc_cid|mc_eid|ref|ocid)$", re.IGNORECASE)


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


def page_id_for(url: str | None, raw: str | bytes) -> str:
    """Stable id: hash of the canonical URL; pages without a URL are identified by their content (a page's
    UTF-8 bytes and its text give the same id)."""
    if url:
        return hashlib.sha256(("url:" + canonical_url(url)).encode("utf-8")).hexdigest()[:32]
    content = raw if isinstance(raw, bytes) else raw.encode("utf-8", "surrogatepass")
    return hashlib.sha256(b"content:" + content).hexdigest()[:32]


def encode_page(page: Page) -> bytes:
    """The envelope of a page: text as `raw`, bytes (not decoded yet) as `raw_base64`."""
    body = {"raw_base64": base64.b64encode(page.raw).decode("ascii")} if isinstance(page.raw, bytes) else {"raw": page.raw}
    return orjson.dumps(
        {
            "v": ENVELOPE_VERSION,
            "page_id": page.page_id,
            "url": page.url,
            "source": page.source,
            "fetched_at": page.fetched_at,
            "content_type": page.content_type,
            **body,
        }
    )


def make_page(raw: str | bytes, url: str | None = None, source: str | None = None, fetched_at: str | None = None,
              content_type: str | None = None) -> Page:
    """A Page from text or from bytes as read (which the clean stage decodes)."""
    return Page(page_id_for(url, raw), url, source, fetched_at, content_type or sniff_content_type(raw), raw)


def _url_from_key(key: bytes | None) -> str | None:
    """The page's URL when the record key is one; any other key still partitions the record."""
    url = key.decode("utf-8", "replace").strip() if key else None
    return url if url and re.match(r"^https?://", url, re.IGNORECASE) and "\ufffd" not in url else None


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
    url = _url_from_key(key)
    return Page(page_id_for(url, value), url, None, None, sniff_content_type(value), value)


def _raw_of(envelope: dict) -> str | bytes:
    encoded = envelope.get("raw_base64")
    if encoded is None:
        return _field(envelope, "raw", required=True)
    if not isinstance(encoded, str):
        raise EnvelopeError("wrong_field_type", f"envelope field 'raw_base64' must be a string, not {type(encoded).__name__}")
    try:
        return base64.b64decode(encoded, validate=True)
    except binascii.Error as error:
        raise EnvelopeError("malformed_envelope", f"envelope field 'raw_base64' is not base64: {error}") from None


def _page_from_envelope(envelope: dict) -> Page:
    if envelope["v"] != ENVELOPE_VERSION:
        raise EnvelopeError("unknown_version", f"envelope version {envelope['v']!r} is not supported (expected {ENVELOPE_VERSION})")
    raw = _raw_of(envelope)
    url = _field(envelope, "url")
    # Parameters are kept: the `charset=` of a page sent as bytes is what the clean stage decodes it with.
    content_type = (_field(envelope, "content_type") or sniff_content_type(raw)).strip()
    media_type = content_type.split(";")[0].strip().lower()
    if media_type not in CONTENT_TYPES:
        raise EnvelopeError("unsupported_content_type", f"content type {media_type!r} is not one of {CONTENT_TYPES}")
    page_id = _field(envelope, "page_id") or page_id_for(url, raw)
    return Page(page_id, url, _field(envelope, "source"), _field(envelope, "fetched_at"), content_type, raw)
