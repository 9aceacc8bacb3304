"""Per-language analysis against the real engine: the routed fields exist on an index created before them, each
is read by its language's analyzer, and `search` reaches them; the subword fields find what no analysed word
matches."""

import json
import uuid
from pathlib import Path

import pytest
from elasticsearch import helpers

from workers.config import load_settings
from workers.runtime.search import ensure_index, index_template, make_client, search
from workers.stages import analysis
from workers.stages import embedding as embedding_stage

pytestmark = pytest.mark.stack

# (lang, indexed body, query in another inflection, a page of the same language the query must not find)
INFLECTED = [
    ("de", "Die Landesregierungen haben neue Häuser für Familien gebaut.", "Landesregierung Haus",
     "Der Verein feiert sein Jubiläum im Sommer."),
    ("ru", "Правительства областей строили новые дома для семей.", "правительство дом",
     "Клуб отмечает юбилей летом."),
    ("uk", "Уряди областей будували нові будинки для родин.", "уряд будинок", "Клуб святкує ювілей улітку."),
    ("es", "Los gobiernos regionales construyeron casas nuevas.", "gobierno casa", "El club celebra su aniversario."),
    ("fr", "Les gouvernements régionaux ont construit des maisons.", "gouvernement maison", "Le club fête son anniversaire."),
    ("tr", "Bölge hükümetleri yeni evler inşa etti.", "hükümet ev", "Kulüp yıl dönümünü kutluyor."),
    ("ar", "بنت الحكومات المحلية المنازل الجديدة للعائلات.", "حكومة منزل", "يحتفل النادي بذكرى تأسيسه."),
    ("bn", "রাজ্য সরকারগুলো পরিবারের জন্য নতুন বাড়ি বানিয়েছে।", "সরকার", "ক্লাব গ্রীষ্মে বার্ষিকী উদযাপন করে।"),
]


def _index_bodies(client, alias: str, documents: list[tuple[str, str, str]]) -> None:
    """(page id, lang, body) pages without titles, routed as the indexer routes them."""
    helpers.bulk(client, ({"_index": alias, "_id": page_id, "_source": {
        "page_id": page_id, "title": "", "body": body, "lang": lang, **analysis.routed_fields(lang, "", body)}}
        for page_id, lang, body in documents), refresh="wait_for")


def _drop(client, alias: str) -> None:
    client.indices.delete(index=f"{alias}-*", ignore_unavailable=True)
    client.options(ignore_status=404).indices.delete_index_template(name=f"{alias}-template")


@pytest.fixture(scope="module")
def search_index():
    settings = load_settings({"NEWSWIRE_INDEX_ALIAS": f"test-{uuid.uuid4().hex[:8]}-search"})
    client, alias = make_client(settings), settings.index_alias
    client.cluster.health(wait_for_status="yellow", timeout="10s")
    # An index made by the template as it was before routing and subwords: ensure_index must add the routed
    # fields to it, and leave out the subword fields, whose analyzer an open index cannot take.
    old = index_template(alias)["template"]
    for field in analysis.mapping_properties():
        del old["mappings"]["properties"][field]
    for field in ("title", "body"):
        del old["mappings"]["properties"][field]["fields"][analysis.SUBWORD_FIELD]
    del old["settings"]["analysis"]
    client.indices.create(index=f"{alias}-000001", aliases={alias: {"is_write_index": True}}, **old)
    ensure_index(client, alias)
    documents = [(f"{lang}-match", lang, body) for lang, body, _, _ in INFLECTED]
    documents += [(f"{lang}-other", lang, other) for lang, _, _, other in INFLECTED]
    documents += [("ja-kyoto", "ja", "京都の古い寺院を訪ねる観光客が増えている。"), ("ja-tokyo", "ja", "東京の都市計画が発表された。")]
    _index_bodies(client, alias, documents)
    yield client, alias
    _drop(client, alias)


def _ids(client, alias: str, query: dict) -> set[str]:
    return {hit["_id"] for hit in client.search(index=alias, query=query, size=20)["hits"]["hits"]}


@pytest.mark.parametrize("lang,query", [(lang, query) for lang, _, query, _ in INFLECTED])
def test_a_routed_field_matches_another_inflection_the_standard_field_misses(search_index, lang, query):
    client, alias = search_index
    assert _ids(client, alias, {"match": {f"body_by_lang.{lang}": query}}) == {f"{lang}-match"}
    assert f"{lang}-match" not in _ids(client, alias, {"match": {"body": {"query": query, "operator": "and"}}})
    assert [hit["_id"] for hit in search(client, alias, query, size=1, lang=lang)] == [f"{lang}-match"]
    assert search(client, alias, query, size=1)[0]["_id"] == f"{lang}-match"  # every language's fields


def test_cjk_bigrams_keep_a_word_apart_from_its_characters(search_index):
    client, alias = search_index
    # 京都 (Kyoto) as bigrams matches the Kyoto page only; one token per character matches Tokyo's 東京の都市 too.
    assert _ids(client, alias, {"match": {"body_by_lang.ja": "京都"}}) == {"ja-kyoto"}
    assert _ids(client, alias, {"match": {"body": "京都"}}) == {"ja-kyoto", "ja-tokyo"}


def test_the_engine_has_every_analyzer_the_template_names(search_index):
    client, alias = search_index
    mapping = client.indices.get_mapping(index=alias).body
    properties = next(iter(mapping.values()))["mappings"]["properties"]
    assert {lang: spec["analyzer"] for lang, spec in properties["body_by_lang"]["properties"].items()} == analysis.ROUTED_ANALYZERS
    for analyzer in set(analysis.ROUTED_ANALYZERS.values()):
        assert client.indices.analyze(index=alias, analyzer=analyzer, text="news 新闻")["tokens"]


def test_an_index_made_before_the_subword_fields_keeps_working_without_them(search_index):
    client, alias = search_index
    properties = next(iter(client.indices.get_mapping(index=alias).body.values()))["mappings"]["properties"]
    assert analysis.SUBWORD_FIELD not in properties["body"]["fields"] and "hi" in properties["body"]["fields"]
    ensure_index(client, alias)  # idempotent, still without them
    assert search(client, alias, "правительство дом", size=1)[0]["_id"] == "ru-match"  # queries name them anyway


# (lang, indexed body, query sharing no analysed word with it, a same-language page it must not find): a Dutch
# and a German compound against its parts (no decompounding in Lucene's analyzers), and Marathi, which has no
# analyzer, in another inflection.
SUBWORDS = [
    ("nl", "De prijzen van woningen in Amsterdam stegen opnieuw.", "Huizenprijzen",
     "Het weer wordt morgen zonnig en warm."),
    ("de", "Die Wahl zum Landtag findet im Herbst statt.", "Landtagswahlen", "Der Verein feiert sein Jubiläum im Sommer."),
    ("mr", "सरकारच्या निर्णयामुळे शेतकऱ्यांना दिलासा मिळाला.", "सरकारने", "पावसामुळे शाळांना सुट्टी जाहीर झाली."),
]


@pytest.fixture(scope="module")
def subword_index():
    settings = load_settings({"NEWSWIRE_INDEX_ALIAS": f"test-{uuid.uuid4().hex[:8]}-subwords"})
    client, alias = make_client(settings), settings.index_alias
    ensure_index(client, alias)
    documents = [(f"{lang}-{kind}", lang, body) for lang, match, _, other in SUBWORDS
                 for kind, body in (("match", match), ("other", other))]
    _index_bodies(client, alias, documents)
    yield client, alias
    _drop(client, alias)


@pytest.mark.parametrize("lang,query", [(lang, query) for lang, _, query, _ in SUBWORDS])
def test_subword_fields_find_a_compound_or_inflection_no_analysed_word_matches(subword_index, lang, query):
    client, alias = subword_index
    fields = analysis.query_fields(lang, subword_weight=0)
    assert not _ids(client, alias, {"multi_match": {"query": query, "fields": fields}})
    assert _ids(client, alias, {"match": {"body.grams": query}}) == {f"{lang}-match"}
    assert [hit["_id"] for hit in search(client, alias, query, size=2, lang=lang)] == [f"{lang}-match"]


STORY_PAIRS = Path(__file__).resolve().parent.parent / "fixtures" / "story_pairs.jsonl"


@pytest.fixture(scope="module")
def story_index():
    """The Hindi/English tellings of tests/fixtures/story_pairs.jsonl, embedded as the pipeline embeds pages."""
    stories = [json.loads(line) for line in STORY_PAIRS.read_text(encoding="utf-8").splitlines() if line.strip()]
    settings = load_settings({"NEWSWIRE_INDEX_ALIAS": f"test-{uuid.uuid4().hex[:8]}-stories"})
    client, alias = make_client(settings), settings.index_alias
    ensure_index(client, alias)
    vectors = embedding_stage.embed_pages([(story["title"], story["text"]) for story in stories])
    helpers.bulk(client, ({"_index": alias, "_id": story["id"], "_source": {
        "page_id": story["id"], "title": story["title"], "body": story["text"], "lang": story["lang"],
        "embedding": embedding_stage.to_stored(vector), **analysis.routed_fields(story["lang"], story["title"], story["text"])}}
        for story, vector in zip(stories, vectors)), refresh="wait_for")
    yield client, alias, stories
    _drop(client, alias)


# Not hybrid-rrf: reciprocal ranks let every same-language full-text match that is also a neighbour outrank a
# telling found by kNN alone (docs/search.md measures it).
@pytest.mark.parametrize("mode", ["semantic", "hybrid"])
@pytest.mark.parametrize("query_lang,target_lang", [("en", "hi"), ("hi", "en")])
def test_a_query_finds_the_other_language_telling_of_its_story(story_index, mode, query_lang, target_lang):
    client, alias, stories = story_index
    by_id = {story["id"]: story for story in stories}
    for story in (s for s in stories if s["lang"] == query_lang):
        hits = search(client, alias, story["title"], size=2, mode=mode)
        assert {by_id[hit["_id"]]["group"] for hit in hits} == {story["group"]}, (story["title"], [h["_id"] for h in hits])
        assert {hit["lang"] for hit in hits} == {query_lang, target_lang}
        assert "embedding" not in hits[0] and hits[0]["title"]


def test_full_text_alone_does_not_cross_languages(story_index):
    client, alias, stories = story_index
    english = next(story for story in stories if story["lang"] == "en")
    assert all(hit["lang"] == "en" for hit in search(client, alias, english["title"], size=3, mode="text"))

