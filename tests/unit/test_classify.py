import json
from pathlib import Path

import pytest

from workers.datasets import read_jsonl, shared_data_dir
from workers.evaluation import retrieval
from workers.evaluation.topics import evaluate, expected_calibration_error, summarise
from workers.stages import classify as stage
from workers.stages import story
from workers.stages.embedding import PAGE_TEXT_CHARS, embed_pages, page_text
from workers.training import topics as trainer
from workers.training.topics import EmbeddingCache, is_held_out


def test_section_names_in_several_languages_map_to_topics():
    assert stage.section_topic("World") == "world"
    assert stage.section_topic("  विदेश ") == "world"
    assert stage.section_topic("Politik") == "politics"
    assert stage.section_topic("Sci-Tech") == "tech"
    assert stage.section_topic("Sport") == "other"
    assert stage.section_topic("Opinion") is None
    assert stage.section_topic(None) is None


def test_url_path_segments_map_to_topics():
    assert stage.url_topic("https://example.com/world/asia/story-1.html") == "world"
    assert stage.url_topic("/news/business-62405029") == "other"
    assert stage.url_topic("https://example.com/technology/") == "tech"
    assert stage.url_topic("https://example.com/2024/05/01/story") is None


def test_hint_raises_the_named_label_and_keeps_a_distribution():
    probabilities = stage.np.array([0.25, 0.25, 0.25, 0.25])
    hinted = stage.apply_hint(probabilities, stage.LABELS, "politics", 8.0)
    assert hinted.argmax() == stage.LABELS.index("politics")
    assert hinted.sum() == pytest.approx(1.0)
    assert stage.apply_hint(probabilities, stage.LABELS, None, 8.0) is probabilities


def test_classify_returns_a_calibrated_distribution_over_the_four_labels():
    topic = stage.classify("Parliament passes budget", "The prime minister won the vote in parliament.", "en")
    assert set(topic.probabilities) == set(stage.LABELS)
    assert sum(topic.probabilities.values()) == pytest.approx(1.0, abs=1e-5)
    assert topic.score == pytest.approx(max(topic.probabilities.values()))
    assert topic.label == max(topic.probabilities, key=topic.probabilities.get)


@pytest.mark.parametrize(
    ("title", "body", "expected"),
    [
        ("Apple unveils new iPhone chip", "The smartphone processor and software update improve battery life.", "tech"),
        ("Labour and Tories clash over tax plans", "The prime minister told MPs the election manifesto would cut taxes.", "politics"),
        ("Striker scores twice as United win the cup final", "The football match ended 2-0 at Wembley.", "other"),
    ],
)
def test_clear_english_articles(title, body, expected):
    assert stage.classify(title, body, "en").label == expected


def test_a_title_repeated_at_the_start_of_the_body_is_used_once():
    body = "Fears for pension after talks. Unions say they are disappointed."
    assert page_text("Fears for pension after talks", body) == body
    assert stage.article_text("Fears for pension after talks", body) == body
    assert stage.article_text("Another title", body) == "Another title\n" + body
    assert stage.article_text(None, body) == body
    assert stage.article_text("Only a title", "") == "Only a title"


def test_page_text_is_the_title_and_opening_with_whitespace_folded():
    text = page_text("Title here", "word\n\n  " * 500)
    assert text.startswith("Title here word word")
    assert len(text) == PAGE_TEXT_CHARS and "  " not in text and "\n" not in text


def test_untrained_languages_use_the_alone_head_and_trained_ones_the_combination():
    model = stage.load_model()
    vector = stage.np.linspace(-1.0, 1.0, model.alone_weights.shape[0]).astype(stage.np.float32)
    vector /= stage.np.linalg.norm(vector)
    alone = stage.softmax(vector @ model.alone_weights + model.alone_bias)
    assert stage.np.allclose(model.predict("Titel", "Text", "de", vector), alone)
    encoded = stage.softmax(vector @ model.combined_weights + model.combined_bias)
    short = stage.combine(model.lexical_probabilities("Title\nText"), encoded, model.lexical_share_short)
    assert stage.np.allclose(model.predict("Title", "Text", "en", vector), short)
    article = "Title\n" + "Text of an article. " * 30
    long = stage.combine(model.lexical_probabilities(article), encoded, model.lexical_share_long)
    assert stage.np.allclose(model.predict("Title", "Text of an article. " * 30, "en", vector), long)
    assert not stage.np.allclose(short, alone)


def test_combination_is_a_weighted_geometric_mean():
    lexical, encoded = stage.np.array([0.7, 0.1, 0.1, 0.1]), stage.np.array([0.1, 0.7, 0.1, 0.1])
    assert stage.np.allclose(stage.combine(lexical, encoded, 1.0), lexical, atol=1e-6)
    assert stage.np.allclose(stage.combine(lexical, encoded, 0.0), encoded, atol=1e-6)
    even = stage.combine(lexical, encoded, 0.5)
    assert even[0] == pytest.approx(even[1]) and even.sum() == pytest.approx(1.0)


def test_the_embedding_decides_the_topic_in_a_language_without_training_rows():
    """The same text with the embedding of a sports story and of a world-affairs story: in a language the lexical
    model has no rows for, the page embedding is all that counts."""
    sports, world = embed_pages([("Striker scores twice as United win the cup final", "The match ended 2-0."),
                                 ("UN climate talks in Geneva", "Delegations from 190 countries met the secretary-general.")])
    text = ("Zzyzx qwerty", "Plugh xyzzy.")
    assert stage.classify(*text, "sw", embedding=sports).label == "other"
    assert stage.classify(*text, "sw", embedding=world).label == "world"


def test_only_languages_without_training_rows_take_the_embedding_alone():
    model = stage.load_model()
    assert not model.uses_embedding_alone("en")
    assert not model.uses_embedding_alone("hi")
    assert not model.uses_embedding_alone("")
    assert not model.uses_embedding_alone("und")
    assert model.uses_embedding_alone("de")
    assert model.uses_embedding_alone("zh-cn")


def test_embedding_cache_embeds_each_text_once_and_reloads_without_pickles(tmp_path, monkeypatch):
    calls = []

    def fake_embed(texts):
        calls.extend(texts)
        return stage.np.vstack([stage.np.full(4, float(len(text)), dtype=stage.np.float32) for text in texts])

    monkeypatch.setattr(trainer, "embed_texts", fake_embed)
    path = tmp_path / "cache.npz"
    first = EmbeddingCache(str(path)).embed(["a", "bb", "a"])
    assert calls == ["a", "bb"] and first[:, 0].tolist() == [1.0, 2.0, 1.0]
    again = EmbeddingCache(str(path)).embed(["bb", "ccc"])  # reloaded from disk (allow_pickle=False)
    assert calls == ["a", "bb", "ccc"] and again[:, 0].tolist() == [2.0, 3.0]


def test_article_in_an_untrained_language_is_classified_by_the_embedding():
    topic = stage.classify("Bayern München gewinnt das Pokalfinale",
                           "Die Mannschaft schlug Leipzig mit 3:1, zwei Tore fielen in der Nachspielzeit.", "de")
    assert topic.label == "other"
    assert sum(topic.probabilities.values()) == pytest.approx(1.0, abs=1e-5)


def test_section_hint_can_decide_an_ambiguous_article():
    text = ("Talks continue", "Officials met on Tuesday and will meet again next week.")
    assert stage.classify(*text, "en", section="World").label == "world"
    plain = stage.classify(*text, "en")
    hinted = stage.classify(*text, "en", section="Technology").probabilities
    assert hinted["tech"] > 5 * plain.probabilities["tech"]
    # the hint multiplies the named label's odds against every other label by SECTION_ODDS
    odds = (hinted["tech"] / hinted["other"]) / (plain.probabilities["tech"] / plain.probabilities["other"])
    assert odds == pytest.approx(stage.SECTION_ODDS, rel=1e-3)


def test_eval_gives_the_classifier_a_rows_url_and_section_as_hints(monkeypatch):
    seen = []

    def classify(title, body, lang, section=None, url=None, embedding=None):
        seen.append((section, url))
        return stage.Topic("world", 1.0, {})

    monkeypatch.setattr(stage, "classify", classify)
    rows = [{"title": "t", "text": "b", "lang": "en", "label": "world", "url": "/news/world-1"},
            {"title": "t", "text": "b", "lang": "en", "label": "world", "section": "World"}]
    evaluate(rows)
    assert seen == [(None, "/news/world-1"), ("World", None)]


def test_held_out_split_is_deterministic_and_keeps_translations_together():
    english = {"id": "sib200-eng-1", "flores_index_id": "7", "split": "train", "text": "A sentence."}
    hindi = {"id": "sib200-hin-1", "flores_index_id": "7", "split": "train", "text": "एक वाक्य।"}
    assert is_held_out(english) == is_held_out(hindi)
    lower = {"id": "a", "text": "Jobs growth still slow in the US"}
    upper = {"id": "b", "text": "jobs growth   still slow in the us"}
    assert is_held_out(lower) == is_held_out(upper)


def test_calibration_error_is_zero_when_confidence_matches_accuracy():
    gold = ["world", "world", "tech", "tech"]
    assert expected_calibration_error(gold, gold, [1.0] * 4) == pytest.approx(0.0)
    assert expected_calibration_error(gold, ["world", "tech", "tech", "world"], [0.5] * 4) == pytest.approx(0.0)
    assert expected_calibration_error(gold, ["world", "tech", "tech", "world"], [1.0] * 4) == pytest.approx(0.5)
    assert summarise(gold, gold, ["en"] * 4, [0.9] * 4)["ece"] == pytest.approx(0.1)


def test_summary_macro_f1_counts_only_gold_labels():
    result = summarise(["world", "world", "tech"], ["world", "politics", "tech"], ["en", "en", "hi"])
    assert result["per_label"]["world"]["recall"] == 0.5
    assert "politics" not in result["per_label"]
    assert result["macro_f1"] == pytest.approx((2 / 3 + 1.0) / 2, abs=1e-3)
    assert result["per_lang"]["hi"]["accuracy"] == 1.0


@pytest.mark.shared_data
def test_hindi_example_page_is_world_news():
    examples = shared_data_dir().parent / "examples"
    if not (examples / "hindi_news_page.expected.json").exists():
        pytest.skip("shared examples not available")
    expected = json.loads((examples / "hindi_news_page.expected.json").read_text(encoding="utf-8"))
    topic = stage.classify(expected["title"], expected["body"], "hi", section="World")
    assert topic.label == "world"


STORY_PAIRS = Path(__file__).resolve().parent.parent / "fixtures" / "story_pairs.jsonl"


# Known miss of topics-e5-1 and -2, kept visible (strict: the test fails once it is fixed): the Hindi telling of UN
# climate talks comes out `politics` (the lexical model's Hindi `world` rows are few: 101 BBC Hindi articles).
KNOWN_MISSES = {"climate-talks"}
STORY_GROUPS = sorted({row["group"] for row in read_jsonl(STORY_PAIRS)})


@pytest.fixture(scope="module")
def story_topics() -> dict:
    rows = list(read_jsonl(STORY_PAIRS))
    vectors = embed_pages([(row["title"], row["text"]) for row in rows])
    return {(row["group"], row["lang"]): (row["category"],
                                          stage.classify(row["title"], row["text"], row["lang"], embedding=vector))
            for row, vector in zip(rows, vectors)}


@pytest.fixture(scope="module")
def story_labels(story_topics) -> dict:
    return {key: (expected, topic.label) for key, (expected, topic) in story_topics.items()}


@pytest.mark.parametrize("group", [pytest.param(g, marks=pytest.mark.xfail(strict=True, reason="known miss"))
                                   if g in KNOWN_MISSES else g for g in STORY_GROUPS])
def test_the_same_story_in_hindi_and_english_gets_the_same_category(story_labels, group):
    """Stories written for this test, each told in Hindi and in English (tests/fixtures/story_pairs.jsonl)."""
    (expected, english), (_, hindi) = story_labels[(group, "en")], story_labels[(group, "hi")]
    assert english == hindi == expected


@pytest.mark.parametrize("group", STORY_GROUPS)
def test_a_story_told_in_hindi_and_english_is_filed_under_its_category(story_topics, group):
    """What the index stage files both tellings under once they share a story (workers/runtime/indexer.py): the
    mean of their own distributions. This is what settles the known miss above."""
    (expected, english), (_, hindi) = story_topics[(group, "en")], story_topics[(group, "hi")]
    mean = story.story_topic([english.probabilities, hindi.probabilities])
    assert max(mean, key=mean.get) == expected


def test_each_hindi_story_finds_its_english_telling_first():
    rows = list(read_jsonl(STORY_PAIRS))
    result = retrieval.score(rows, retrieval.embed_rows(rows), pivot="en")
    assert result["n"] == len(rows) // 2 and result["top1"] == 1.0 and result["per_lang"]["hi"]["mrr"] == 1.0
