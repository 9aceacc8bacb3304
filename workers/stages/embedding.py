"""Page embedding: the multilingual-e5-small vector of a page's title, lead and opening, from the shared encoder.

One vector per page, computed once in the classify worker (batched over the records of a stage batch): it is the
topic classifier's main feature and is indexed with the page for semantic search. The passage side of e5 is used
(`passage: ` prefix), as e5 prescribes for documents.
"""

from __future__ import annotations

import numpy as np
import regex

from workers.encoder import DIMENSIONS, get_encoder

# The encoder reads at most encoder_max_tokens tokens (128 by default); 1,000 characters is more than that in
# every script, so the cut never decides what the encoder sees, only how much the tokenizer has to read.
PAGE_TEXT_CHARS = 1000
# Decimals kept in the pipeline document and the index: 1e-5 on a unit vector moves cosines by < 1e-4.
STORED_DECIMALS = 5

_SPACE = regex.compile(r"\s+")


def title_and_body(title: str | None, body: str | None) -> tuple[str, ...]:
    """The title, then the body; the title is left out when the body already starts with it (some extractors and
    data sets repeat the headline as the first line), so it is not counted twice nor fills the encoder's window."""
    title = (title or "").strip()
    body = body or ""
    if title and body.lstrip().startswith(title):
        title = ""
    return tuple(part for part in (title, body) if part)


def page_text(title: str | None, body: str | None) -> str:
    return _SPACE.sub(" ", " ".join(title_and_body(title, body))[: 2 * PAGE_TEXT_CHARS]).strip()[:PAGE_TEXT_CHARS]


def embed_pages(pages: list[tuple[str | None, str | None]]) -> np.ndarray:
    """(title, body) pairs -> float32 [len(pages), 384], L2-normalised, in one batched encoder call."""
    if not pages:
        return np.zeros((0, DIMENSIONS), dtype=np.float32)
    return get_encoder().passages([page_text(title, body) for title, body in pages])


def model_version() -> str:
    """What produced the vectors: the base model, the side of e5 and the window in tokens."""
    return f"multilingual-e5-small:passage:{get_encoder().max_tokens}"


def to_stored(vector: np.ndarray) -> list[float]:
    return np.round(vector.astype(np.float64), STORED_DECIMALS).tolist()
