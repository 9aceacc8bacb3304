"""Synthetic news-like text pages for the fault tests: many distinct pages, quick to process, deterministic."""

from __future__ import annotations

import random

from workers.envelope import page_id_for

# Worker settings of the delivery tests (faults, reliability, cluster, scaling), which stream hundreds of these
# English pages: what they check (nothing lost, nothing doubled, pauses) does not depend on the tagger, and the
# contextual Latin tagger costs about 200 ms of fp32 CPU per page here against 5 ms, minutes per test on 2 cores.
# Devanagari keeps its contextual path; the end-to-end tests run the default tagger.
DELIVERY_ENV = {"NEWSWIRE_ENTITY_TAGGER": "context-deva"}

SUBJECTS = ["The city council", "A regional court", "The energy ministry", "Local farmers", "A group of engineers",
            "The central bank", "Hospital staff", "The port authority", "University researchers", "Rail operators"]
VERBS = ["announced", "rejected", "postponed", "approved", "criticised", "welcomed", "reviewed", "extended"]
OBJECTS = ["a plan to expand public transport", "new rules for water use", "the budget for road repairs",
           "a proposal to build more housing", "changes to school hours", "a study of air quality",
           "the contract for a new bridge", "measures to support small shops"]
CLOSERS = ["on Monday after a long debate", "following weeks of talks", "despite protests outside the building",
           "in a statement published on its website", "after an independent review", "at a press conference"]


def _sentence(rng: random.Random) -> str:
    return f"{rng.choice(SUBJECTS)} {rng.choice(VERBS)} {rng.choice(OBJECTS)} {rng.choice(CLOSERS)}."


def synthetic_pages(count: int, seed: int = 7) -> list[tuple[str, str]]:
    """(url, text page) pairs; every page distinct, with a title, three paragraphs and some site boilerplate."""
    rng = random.Random(seed)
    pages = []
    for number in range(count):
        title = f"Report {number}: {rng.choice(SUBJECTS)} {rng.choice(VERBS)} {rng.choice(OBJECTS)}"
        paragraphs = [" ".join(_sentence(rng) for _ in range(3)) for _ in range(3)]
        text = "\n\n".join([title, "Home | News | Sport | Weather", *paragraphs, "Also Read", "Recent Posts",
                            f"Page {number} teaser…", "5 minutes ago"])
        pages.append((f"https://synthetic.example/news/{number}", text))
    return pages


def page_ids(pages: list[tuple[str, str]]) -> set[str]:
    return {page_id_for(url, text) for url, text in pages}
