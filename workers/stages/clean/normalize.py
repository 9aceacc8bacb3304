"""Text normalisation shared by both input paths: decoding bytes, bad characters, entities, Unicode NFC,
line endings, paragraph joining.

Where bytes become text: the raw topic's envelope and `newswire ingest` decode UTF-8 (ingest falls back to
charset detection for files), so `clean` normally receives `str`. When it is given `bytes` instead (a page
fetched elsewhere), `decode_page` picks the encoding the way browsers do: byte-order mark, then the
`charset=` of the content type, then a `<meta charset>` / XML declaration near the top, then strict UTF-8,
then charset detection (charset_normalizer), and windows-1252 with replacement characters as the last resort.
"""

from __future__ import annotations

import codecs
import html
import re
import unicodedata

from charset_normalizer import from_bytes

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
_DECLARED_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([\w.:-]+)|<\?xml[^>]+encoding\s*=\s*["']([\w.:-]+)""", re.IGNORECASE)
_CONTENT_TYPE_CHARSET = re.compile(r"charset\s*=\s*[\"']?([\w.:-]+)", re.IGNORECASE)
_BOMS = ((codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be"))
# Labels browsers treat as windows-1252 (a superset that also decodes the 0x80-0x9F range sensibly).
_WINDOWS_1252_ALIASES = {"latin_1", "iso8859-1", "ascii"}


def _codec(label: str | None) -> str | None:
    """Python codec name for a charset label, or None when the label is unknown."""
    if not label:
        return None
    try:
        name = codecs.lookup(label.strip().lower()).name
    except LookupError:
        return None
    return "cp1252" if name in _WINDOWS_1252_ALIASES else name


def decode_page(data: bytes, content_type: str = "") -> str:
    """Text of a page given as bytes (see the module docstring for the order of the encoding sources)."""
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            return data[len(bom):].decode(encoding, "replace")
    header = _CONTENT_TYPE_CHARSET.search(content_type or "")
    declared = _DECLARED_CHARSET.search(data[:CHARSET_PRESCAN_BYTES])
    for label in (header.group(1) if header else None, (declared.group(1) or declared.group(2)).decode("ascii", "ignore") if declared else None):
        encoding = _codec(label)
        if encoding and not encoding.startswith("utf-16"):  # a UTF-16 label on bytes without a BOM is wrong
            return data.decode(encoding, "replace")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    guess = from_bytes(data[: 256 * 1024]).best()
    encoding = _codec(guess.encoding) if guess is not None else None
    return data.decode(encoding or "cp1252", "replace")


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
