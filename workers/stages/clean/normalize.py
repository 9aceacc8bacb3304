"""Text normalisation shared by both input paths: decoding bytes, bad characters, entities, Unicode NFC,
line endings, paragraph joining.

Where bytes become text: here, once. Bare raw records, envelopes carrying `raw_base64`, `newswire process`
and `newswire ingest` hand the page's bytes to `clean`, which decodes them with `decode_page` (the order of
the encoding sources is in its docstring); only an envelope's `raw` string arrives as text, decoded by its
producer. `sniff_content_type` tells HTML from a text scrape on the same bytes (a byte-order mark first).
"""

from __future__ import annotations

import codecs
import html
import re
import unicodedata

from charset_normalizer import from_bytes

from workers.stages.clean.limits import CleanError

# Invisible characters that scrapes carry along; they break word matching but never carry meaning here.
_INVISIBLE = re.compile("[\u00ad\u200b\u2060\ufeff]")
# Characters no text should contain: C0 controls other than tab/newline/carriage return/form feed, DEL,
# and the non-characters U+FFFE/U+FFFF. libxml2 drops them or stops parsing at them.
_INVALID = re.compile("[\x00-\x08\x0b\x0e-\x1f\x7f\ufffe\uffff]")
_INVALID_BYTES = bytes([*range(0x00, 0x09), 0x0B, *range(0x0E, 0x20), 0x7F])
# Lone surrogates (from a bad decode upstream) cannot be encoded; libxml2 truncates the document at one.
_SURROGATE = re.compile("[\ud800-\udfff]")
PARAGRAPH_SEPARATOR = "\n\n"

# How far into the page a <meta charset> is looked for (the HTML standard's prescan reads 1024 bytes;
# pages with long <head> scripts put it later).
CHARSET_PRESCAN_BYTES = 4096
# http-equiv="Content-Type" content="text/html; charset=..." is covered by the same pattern: the charset
# stands inside the <meta> tag either way.
_DECLARED_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([\w.:-]+)|<\?xml[^>]+encoding\s*=\s*["']([\w.:-]+)""", re.IGNORECASE)
_CONTENT_TYPE_CHARSET = re.compile(r"charset\s*=\s*[\"']?([\w.:-]+)", re.IGNORECASE)
_BOMS = ((codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be"))
# Labels browsers treat as windows-1252 (a superset that also decodes the 0x80-0x9F range sensibly).
_WINDOWS_1252_ALIASES = {"latin_1", "iso8859-1", "ascii"}
# A declared or tried encoding is accepted with a few undecodable bytes (a stray byte in a UTF-8 page, a
# character pasted from another page) but not with more than this share of replacement characters: then
# the label is wrong and the next source of the encoding is asked.
MAX_REPLACED_SHARE = 0.001
DETECTION_SAMPLE_BYTES = 256 * 1024
BINARY_SNIFF_BYTES = 4096
_HTML_START = re.compile(r"^\s*(<!doctype html|<html|<head|<body|<!--|<\?xml|<meta|<div|<article|<p[\s>])", re.IGNORECASE)
SNIFF_BYTES = 2048


def _codec(label: str | None) -> str | None:
    """Python codec name for a charset label, or None when the label is unknown."""
    if not label:
        return None
    try:
        name = codecs.lookup(label.strip().lower()).name
    except LookupError:
        return None
    return "cp1252" if name in _WINDOWS_1252_ALIASES else name


def _byte_order_mark(data: bytes) -> tuple[bytes, str] | None:
    return next(((bom, encoding) for bom, encoding in _BOMS if data.startswith(bom)), None)


def _declared_labels(data: bytes, content_type: str) -> list[str]:
    """Charset labels in the order they count: the content type's, then the page's own declaration."""
    header = _CONTENT_TYPE_CHARSET.search(content_type or "")
    declared = _DECLARED_CHARSET.search(data[:CHARSET_PRESCAN_BYTES])
    labels = [header.group(1)] if header else []
    if declared:
        labels.append((declared.group(1) or declared.group(2)).decode("ascii", "ignore"))
    return labels


def _decoded_if_plausible(data: bytes, encoding: str) -> str | None:
    try:
        return data.decode(encoding)
    except UnicodeDecodeError:
        text = data.decode(encoding, "replace")
    return text if text.count("\ufffd") <= MAX_REPLACED_SHARE * len(text) + 1 else None


def decode_page(data: bytes, content_type: str = "") -> str:
    """Text of a page given as bytes: the one place where newswire turns page bytes into text.

    Sources of the encoding, first that holds wins: byte-order mark (UTF-8, UTF-16), the `charset=` of the
    content type, the page's `<meta charset>` / http-equiv / XML declaration in its first 4 KB, UTF-8,
    charset detection (charset_normalizer). A declared label that leaves more than 0.1 % replacement
    characters is taken for a wrong label and the next source is asked; if detection finds nothing either,
    the first declared label is used anyway, as a browser would. Raises CleanError("binary") for NUL bytes
    in a page without a UTF-16 byte-order mark and CleanError("undecodable") when no source gives text.
    """
    bom = _byte_order_mark(data)
    if bom is not None:
        return data[len(bom[0]):].decode(bom[1], "replace")
    if b"\x00" in data[:BINARY_SNIFF_BYTES]:
        raise CleanError("binary", "NUL bytes in a page without a UTF-16 byte-order mark")
    # A UTF-16 label on bytes without a byte-order mark is wrong (they would be full of NUL bytes).
    declared = [encoding for encoding in map(_codec, _declared_labels(data, content_type))
                if encoding and not encoding.startswith("utf-16")]
    for encoding in (*declared, "utf-8"):
        text = _decoded_if_plausible(data, encoding)
        if text is not None:
            return text
    guess = from_bytes(data[:DETECTION_SAMPLE_BYTES]).best()
    encoding = _codec(guess.encoding) if guess is not None else None
    if encoding:
        return data.decode(encoding, "replace")
    if declared:
        return data.decode(declared[0], "replace")
    raise CleanError("undecodable", "not UTF-8, no declared charset, and charset detection recognises no encoding")


def sniff_content_type(raw: str | bytes) -> str:
    """text/html when the page starts like HTML (after a byte-order mark), else text/plain."""
    if isinstance(raw, bytes):
        bom = _byte_order_mark(raw)
        head = raw[: 2 * SNIFF_BYTES]
        # Tags are ASCII: latin-1 reads them from any ASCII-compatible encoding without failing.
        raw = head[len(bom[0]):].decode(bom[1], "ignore") if bom else head.decode("latin-1")
    return "text/html" if _HTML_START.match(raw[:SNIFF_BYTES].lstrip("\ufeff")) else "text/plain"


def _has_invalid(text: str, utf8: bytes) -> bool:
    """`_INVALID.search(text)` at C speed: a regex scan of a whole page costs more than encoding it and
    deleting the control bytes (in UTF-8 every one is a single byte no other character uses)."""
    return len(utf8.translate(None, _INVALID_BYTES)) != len(utf8) or "\ufffe" in text or "\uffff" in text


def sanitise(text: str) -> str:
    """Lone surrogates become U+FFFD, control characters and non-characters are removed."""
    try:
        utf8 = text.encode("utf-8")  # also a C-speed test for lone surrogates, which only broken input has
    except UnicodeEncodeError:
        text = _SURROGATE.sub("\ufffd", text)
        utf8 = text.encode("utf-8")
    return _INVALID.sub("", text) if _has_invalid(text, utf8) else text


def normalise_text(text: str) -> str:
    """Decode HTML entities, NFC, Unix line endings, no invisible characters, no trailing blanks on lines.

    Entities are decoded in text scrapes, and once more in HTML text, where publishers' double-encoded
    entities ("&amp;#39;") would otherwise show. NFC composes accents; Devanagari letters with nukta have
    no composed NFC form, so "क़" (U+0958) and "क" + "़" both come out as U+0915 U+093C.
    Spaces inside a line are kept as the source has them.
    """
    text = html.unescape(text)
    text = unicodedata.normalize("NFC", text)
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\u2028", "\n").replace("\u2029", "\n\n")
    text = _INVISIBLE.sub("", text)
    return "\n".join(line.rstrip() for line in text.split("\n"))


def join_paragraphs(paragraphs: list[str]) -> str:
    return PARAGRAPH_SEPARATOR.join(paragraph.strip() for paragraph in paragraphs if paragraph.strip())
