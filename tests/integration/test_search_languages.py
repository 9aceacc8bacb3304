"""The search eval on the hand-written fixture against the real engine, for two languages where the analyzer
matters most: Korean (the standard analyzer keeps each spaced word with its particles, the cjk bigrams match
its stem) and Arabic (the light stemmer removes the article and the suffixes)."""

import uuid

import pytest

from workers.config import load_settings
from workers.datasets import read_jsonl
from workers.evaluation import search as search_eval
from workers.evaluation import search_set
from workers.runtime.search import make_client

pytestmark = pytest.mark.stack

LANGUAGES = ("ko", "ar")


@pytest.fixture(scope="module")
def result():
    client = make_client(load_settings())
    if not client.ping():
        pytest.skip("no search engine at es_url")
    rows = [row for row in read_jsonl(search_set.FIXTURE) if row["lang"] in LANGUAGES]
    alias = f"test-{uuid.uuid4().hex[:8]}-search-languages"
    try:
        search_eval.index_rows(client, alias, rows)
        lists = search_eval.ranked_lists(client, alias, rows, cross=False)
        yield search_eval.score(rows, lists, search_eval.targets_of(rows, cross=False), cross=False, sweep=False)
    finally:
        client.indices.delete(index=f"{alias}-*", ignore_unavailable=True)
        client.options(ignore_status=404).indices.delete_index_template(name=f"{alias}-template")


@pytest.mark.parametrize("lang", LANGUAGES)
def test_the_language_analyzer_finds_more_headlines_than_the_standard_one(result, lang):
    figures = result["per_lang"][lang]
    assert figures["n"] >= 12
    assert figures["text"]["recall_at_10"] > figures["standard"]["recall_at_10"]
    assert figures["text"]["mrr_at_10"] > figures["standard"]["mrr_at_10"]


def test_korean_headlines_find_their_article_through_the_bigrams(result):
    assert result["per_lang"]["ko"]["text"]["recall_at_10"] >= 0.95
    assert result["per_lang"]["ko"]["standard"]["recall_at_10"] < 0.6


def test_hybrid_finds_every_headline(result):
    assert all(result["per_lang"][lang]["hybrid"]["recall_at_10"] == 1.0 for lang in LANGUAGES)
