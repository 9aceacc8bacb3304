"""The text-scrape line scorer: its guarantees against the rules' block, the shipped weights, and the trainer."""

from __future__ import annotations

import json

import pytest

from workers.datasets import shared_data_dir
from workers.stages.clean.text import rule_block, rule_body, scrape_lines
from workers.stages.clean.text_lines import (
    FEATURE_NAMES, MODEL_PATH, LineModel, choose_body, line_features, shipped_model,
)

PARAGRAPH_1 = (
    "The city council approved a new transport plan on Tuesday that adds three bus lines and extends the tram "
    "network to the northern districts by the end of next year."
)
PARAGRAPH_2 = (
    "Council members said the plan would be paid for by a mix of regional funds and higher parking fees, "
    "a point the opposition criticised during the debate."
)
OUTSIDE_PARAGRAPH = (
    "A separate report published on Monday found that commuters in the region spend more than an hour a day "
    "travelling to work, the longest of any region in the country."
)


def scrape(*lines: str):
    return scrape_lines("\n\n".join(lines) + "\n")


def constant_model(logit: float) -> LineModel:
    """A model that gives every line the same probability: only the bias weighs."""
    return LineModel([logit] + [0.0] * (len(FEATURE_NAMES) - 1), "test")


def test_every_line_gets_one_value_per_feature():
    title, lines, _ = scrape("Title", "Home", PARAGRAPH_1, "Sub-heading", PARAGRAPH_2, "Contact")
    vectors = line_features(title, lines, rule_block(lines))
    assert len(vectors) == len(lines)
    assert {len(vector) for vector in vectors} == {len(FEATURE_NAMES)}


def test_paragraphs_of_the_rules_block_survive_a_model_that_rejects_everything():
    title, lines, _ = scrape("Title", "Home", PARAGRAPH_1, "A short sub-heading", PARAGRAPH_2, "Contact")
    body = choose_body(title, lines, rule_block(lines), constant_model(-30.0))
    assert body == [PARAGRAPH_1, PARAGRAPH_2]


def test_lines_of_the_rules_block_leave_it_only_when_the_model_is_confident():
    title, lines, _ = scrape("Title", PARAGRAPH_1, "A short sub-heading", PARAGRAPH_2)
    block = rule_block(lines)
    assert rule_body(lines) == [PARAGRAPH_1, "A short sub-heading", PARAGRAPH_2]
    # p = 0.38: below the 0.5 that a line outside the block needs, above REMOVE_BELOW (0.25)
    assert choose_body(title, lines, block, constant_model(-0.5)) == rule_body(lines)
    assert choose_body(title, lines, block, constant_model(-2.0)) == [PARAGRAPH_1, PARAGRAPH_2]  # p = 0.12


def test_a_trusted_line_outside_the_rules_block_joins_but_breaks_and_noise_stay_out():
    teasers = [f"Short teaser headline number {n}" for n in range(8)]
    title, lines, _ = scrape(
        "Title", PARAGRAPH_1, PARAGRAPH_2, *teasers, OUTSIDE_PARAGRAPH, "Advertisement", "Recent Posts", "After the break",
    )
    block = rule_block(lines)
    assert rule_body(lines) == [PARAGRAPH_1, PARAGRAPH_2]  # eight costly lines keep the rules out
    body = choose_body(title, lines, block, constant_model(30.0))
    assert body == [PARAGRAPH_1, PARAGRAPH_2, *teasers, OUTSIDE_PARAGRAPH]


def test_a_short_line_outside_the_rules_block_does_not_extend_the_body():
    title, lines, _ = scrape("Title", "Home", "Videos", PARAGRAPH_1, PARAGRAPH_2, "Home", "Sport")
    body = choose_body(title, lines, rule_block(lines), constant_model(0.1))  # p slightly above 0.5
    assert body == [PARAGRAPH_1, PARAGRAPH_2]


def test_weights_must_match_the_features():
    with pytest.raises(ValueError):
        LineModel([0.0] * (len(FEATURE_NAMES) - 1), "short")


def test_shipped_weights_are_for_these_features():
    data = json.loads(MODEL_PATH.read_text())
    assert data["features"] == list(FEATURE_NAMES)
    assert shipped_model().version == data["version"]


def test_a_file_with_other_features_is_refused(tmp_path):
    data = json.loads(MODEL_PATH.read_text())
    data["features"] = list(reversed(data["features"]))
    path = tmp_path / "text_lines.json"
    path.write_text(json.dumps(data))
    with pytest.raises(ValueError, match="retrain"):
        LineModel.from_file(path)


@pytest.mark.skipif(not (shared_data_dir() / "extraction_fundus").exists(), reason="../shared/data not present")
def test_training_reproduces_the_shipped_weights(tmp_path):
    pytest.importorskip("sklearn")
    from workers.training import text_lines

    out = tmp_path / "text_lines.json"
    args = type("Args", (), {"data_dir": None, "cv": 0, "out": str(out), "json": False})()
    assert text_lines.run(args) == 0
    assert out.read_bytes() == MODEL_PATH.read_bytes()


def test_a_scrape_with_more_lines_than_the_scorer_takes_gets_the_rules_body(monkeypatch):
    from workers.stages.clean import text

    raw = "\n\n".join(["Title", PARAGRAPH_1, "Ten short teaser lines follow", PARAGRAPH_2]) + "\n"
    title, lines, _ = scrape_lines(raw)
    monkeypatch.setattr(text, "shipped_model", lambda: constant_model(-30.0))  # would drop the short line
    assert "Ten short teaser lines follow" not in text.clean_text(raw).body
    monkeypatch.setattr(text, "MAX_SCORED_LINES", len(lines) - 1)
    assert text.clean_text(raw).body.split("\n\n") == rule_body(lines)


def test_a_tag_strip_is_the_title_then_one_line_per_block_without_scripts():
    from workers.evaluation.extract import tag_strip, text_scrape

    html = ("<html><head><title>Plan approved</title><style>p {}</style></head><body>"
            "<nav><a href='/'>Home</a> <a href='/w'>World</a></nav><script>var x = 1;</script>"
            "<p>The council <b>approved</b> the plan.</p><ul><li>One</li><li>Two</li></ul></body></html>")
    assert tag_strip(html).split("\n\n") == ["Plan approved", "Home World", "The council approved the plan.", "One", "Two"]
    assert text_scrape({"html": html, "derived_page_text": "Own scrape"}) == "Own scrape"
    assert text_scrape({"html": html}) == tag_strip(html)


def test_the_text_rules_baseline_is_the_rules_body_of_the_same_scrape():
    from workers.evaluation.extract import BASELINES

    raw = "\n\n".join(["Title", PARAGRAPH_1, "A short sub-heading", PARAGRAPH_2])
    assert BASELINES["text-rules"]({"derived_page_text": raw}).split("\n\n") == [PARAGRAPH_1, "A short sub-heading", PARAGRAPH_2]
