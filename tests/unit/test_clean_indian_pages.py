"""Indian-language pages written for these tests in the shapes of real sites (navigation, share bars,
"also read" lines inside the body, a live blog, a photo gallery, trending lists, comments), with gold text
written by hand: tests/fixtures/indian_pages/ (README.md there). `newswire eval extract --data` scores them."""

from __future__ import annotations

from pathlib import Path

import pytest

from workers.datasets import read_jsonl
from workers.evaluation.extract import bag_of_tokens_scores
from workers.stages.clean import clean

PAGES = list(read_jsonl(Path(__file__).resolve().parent.parent / "fixtures" / "indian_pages" / "pages.jsonl"))


def test_every_language_is_there():
    assert {page["lang"] for page in PAGES} == {"hi", "bn", "gu", "ta", "mr"}


@pytest.mark.parametrize("page", PAGES, ids=lambda page: page["id"])
def test_html_page_comes_out_as_its_gold_text(page):
    body = clean(page["html"], "text/html", page["url"]).body
    assert bag_of_tokens_scores(body, page["gold_text"])[2] >= 0.97


@pytest.mark.parametrize("page", PAGES, ids=lambda page: page["id"])
def test_text_scrape_keeps_the_whole_article(page):
    body = clean(page["derived_page_text"], "text/plain", page["url"]).body
    precision, recall, _ = bag_of_tokens_scores(body, page["gold_text"])
    assert recall >= 0.99 and precision >= 0.9
