from workers.runtime.search import full_text_query, index_template
from workers.stages import analysis


def test_a_routed_language_gets_its_own_fields_and_others_none():
    assert analysis.routed_fields("de", "Titel", "Text") == {"title_by_lang": {"de": "Titel"}, "body_by_lang": {"de": "Text"}}
    assert analysis.routed_fields("hi", "शीर्षक", "पाठ") == {}  # the hi multi-fields analyse every page already
    assert analysis.routed_fields("mr", "शीर्षक", "पाठ") == {}  # no Lucene analyzer: standard fields only
    assert analysis.routed_fields("uk", "Заголовок", "Текст") == {"title_by_lang": {"uk": "Заголовок"}, "body_by_lang": {"uk": "Текст"}}


def test_the_template_maps_every_routed_language_to_its_analyzer():
    properties = index_template("newswire-pages")["template"]["mappings"]["properties"]
    for field in ("title_by_lang", "body_by_lang"):
        mapped = {lang: spec["analyzer"] for lang, spec in properties[field]["properties"].items()}
        assert mapped == analysis.ROUTED_ANALYZERS
    assert {properties["body"]["fields"][lang]["analyzer"] for lang in ("hi", "en")} == {"hindi", "english"}


def test_the_template_has_subword_fields_and_their_analyzer():
    template = index_template("newswire-pages")["template"]
    for field in ("title", "body"):
        assert template["mappings"]["properties"][field]["fields"]["grams"] == {"type": "text", "analyzer": "newswire_grams"}
    analyzer = template["settings"]["analysis"]["analyzer"]["newswire_grams"]
    assert analyzer["tokenizer"] == "standard" and analyzer["filter"][0] == "lowercase"
    (gram_filter,) = [template["settings"]["analysis"]["filter"][name] for name in analyzer["filter"][1:]]
    assert gram_filter == {"type": "ngram", "min_gram": 4, "max_gram": 4}


ANALYSED_GRAMS = ["title.grams^0.6", "body.grams^0.2"]


def test_queries_fan_out_to_the_fields_of_their_language():
    assert analysis.query_fields("de") == ["title^3", "body", *ANALYSED_GRAMS, "title_by_lang.de^3", "body_by_lang.de"]
    assert analysis.query_fields("ja") == ["title^3", "body", *ANALYSED_GRAMS, "title_by_lang.zh^3", "body_by_lang.zh",
                                           "title_by_lang.ja^3", "body_by_lang.ja", "title_by_lang.ko^3", "body_by_lang.ko"]
    assert analysis.query_fields("hi") == ["title^3", "body", *ANALYSED_GRAMS, "title.hi^3", "body.hi"]


def test_subwords_weigh_more_where_the_language_has_no_analyzer():
    unanalysed = ["title^3", "body", "title.grams^6.0", "body.grams^2.0"]
    assert analysis.query_fields("mr") == unanalysed
    assert analysis.query_fields(None)[:4] == unanalysed  # not known: every language's fields too
    assert analysis.query_fields("de", subword_weight=0) == ["title^3", "body", "title_by_lang.de^3", "body_by_lang.de"]
    every = set(full_text_query("x")["multi_match"]["fields"])  # too short to detect: every language
    assert {"body.en", "body.hi", "body_by_lang.ru", "body_by_lang.zh", "people", "places"} <= every
    detected = full_text_query("Die Landesregierungen haben neue Häuser für Familien gebaut")["multi_match"]["fields"]
    assert detected == analysis.query_fields("de") + ["people", "organisations", "places"]
    assert full_text_query("Häuser", lang="de")["multi_match"]["fields"] == detected
    assert "body_by_lang.ja" in full_text_query("京都")["multi_match"]["fields"]  # detected as zh: every cjk field


def test_index_document_routes_a_page_by_its_detected_language():
    from workers import pipeline
    from workers.types import Page

    body = ("Die Landesregierungen haben am Montag neue Gesetze zum Schutz der Wälder beschlossen. "
            "Nach Angaben der Ministerien sollen die Regeln ab dem nächsten Jahr in allen Bundesländern gelten.")
    doc = pipeline.clean_page(Page(page_id="p", url="https://example.de/a", source="test", fetched_at=None,
                                   content_type="text/plain", raw=f"Neue Gesetze für die Wälder\n\n{body}"))
    doc["topic"] = {"label": "other", "score": 0.5, "probabilities": {}}
    document = pipeline.index_document(doc)
    assert document["lang"] == "de"
    assert document["title_by_lang"] == {"de": document["title"]} and document["body_by_lang"] == {"de": document["body"]}
