"""Text normalisation shared by both input paths: entities, Unicode NFC, line endings, paragraph joining."""

from __future__ import annotations

import html
import re
import unicodedata

# Invisible characters that scrapes carry along; they break word matching but never carry meaning here.
_INVISIBLE = re.compile("[\u00ad\u200b\u2060\ufeff]")
PARAGRAPH_SEPARATOR = "\n\n"


def normalise_text(text: str) -> str:
    """Decode HTML entities, NFC, Unix line endings, no invisible characters, no trailing blanks on lines.

    Spaces inside a line are kept as the source has them.
    """
    text = html.unescape(text)
    text = unicodedata.normalize("NFC", text)
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\u2028", "\n").replace("\u2029", "\n\n")
    text = _INVISIBLE.sub("", text)
    return "\n".join(line.rstrip() for line in text.split("\n"))


def join_paragraphs(paragraphs: list[str]) -> str:
    return PARAGRAPH_SEPARATOR.join(paragraph.strip() for paragraph in paragraphs if paragraph.strip())
