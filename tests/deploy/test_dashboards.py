"""Offline checks of the shipped dashboards; tests/integration/test_dashboards.py runs them against live data."""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest

from tests.deploy.dashboards import (
    GRAFANA_DASHBOARD,
    grafana_queries,
    kibana_field_references,
    kibana_objects,
    mapped_fields,
    promtool_rules_file,
    substitute_variables,
)
from workers.runtime.search import index_template

KEYWORD_FACETS = {"story_id", "category", "lang", "entities.canonical", "entities.type", "people", "organisations", "places"}


def test_grafana_panels_cover_every_signal_the_issue_names():
    expressions = " ".join(expr for _, expr in grafana_queries())
    for metric in ("newswire_stage_messages_total", "newswire_stage_duration_seconds_bucket", "newswire_end_to_end_seconds_bucket",
                   "newswire_dead_letters_total", "newswire_consumer_lag_messages", "newswire_bulk_duration_seconds_bucket",
                   "newswire_bulk_requests_total", "newswire_bulk_item_errors_total", "process_cpu_seconds_total",
                   "process_resident_memory_bytes", "up", "newswire_stage_paused_seconds_total",
                   "newswire_stories_total"):
        assert metric in expressions, metric
    for quantile in ("0.5", "0.95", "0.99"):
        assert f"histogram_quantile({quantile}," in expressions


def test_grafana_panels_are_well_formed():
    dashboard = json.loads(GRAFANA_DASHBOARD.read_text())
    ids = [panel["id"] for panel in dashboard["panels"]]
    assert len(ids) == len(set(ids))
    variables = {variable["name"] for variable in dashboard["templating"]["list"]}
    assert variables == {"datasource", "stage"}
    for panel in dashboard["panels"]:
        if panel["type"] == "row":
            continue
        assert panel["datasource"]["uid"] == "${datasource}", panel["title"]
        assert panel["gridPos"]["x"] + panel["gridPos"]["w"] <= 24, panel["title"]
        assert panel["targets"], panel["title"]


@pytest.mark.skipif(shutil.which("promtool") is None, reason="promtool comes with deploy/local/stack.sh install")
def test_every_panel_query_parses_as_promql(tmp_path):
    rules = tmp_path / "panels.rules.yaml"
    rules.write_text(promtool_rules_file(grafana_queries()))
    result = subprocess.run(["promtool", "check", "rules", str(rules)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"SUCCESS: {len(grafana_queries())} rules found" in result.stdout


@pytest.mark.skipif(shutil.which("promtool") is None, reason="promtool comes with deploy/local/stack.sh install")
def test_promtool_rejects_a_broken_query(tmp_path):
    rules = tmp_path / "broken.rules.yaml"
    rules.write_text(promtool_rules_file([("broken", "sum by (stage) (rate(newswire_stage_messages_total[$__rate_interval])")]))
    assert subprocess.run(["promtool", "check", "rules", str(rules)], capture_output=True, timeout=60).returncode != 0


def test_variables_are_substituted():
    assert substitute_variables('rate(x{stage=~"$stage"}[$__rate_interval])') == 'rate(x{stage=~"clean|classify|enrich|index"}[30s])'
    with pytest.raises(AssertionError):
        substitute_variables("rate(x[$unknown])")


def test_kibana_objects_reference_only_objects_in_the_file():
    objects = kibana_objects()
    ids = {(obj["type"], obj["id"]) for obj in objects}
    assert len(ids) == len(objects)
    for obj in objects:
        for reference in obj["references"]:
            assert (reference["type"], reference["id"]) in ids, (obj["id"], reference)
    (dashboard,) = [obj for obj in objects if obj["type"] == "dashboard"]
    panel_refs = {panel["panelRefName"] for panel in json.loads(dashboard["attributes"]["panelsJSON"])}
    assert panel_refs == {reference["name"].split(":", 1)[1] for reference in dashboard["references"]}


def test_kibana_fields_exist_in_the_index_template_and_facets_are_keywords():
    fields = mapped_fields(index_template("newswire-pages")["template"]["mappings"]["properties"])
    missing = kibana_field_references(kibana_objects()) - set(fields)
    assert missing == set()
    assert {field: fields[field] for field in KEYWORD_FACETS} == {field: "keyword" for field in KEYWORD_FACETS}


def test_grafana_counts_new_stories_per_language_per_hour():
    (expression,) = [expr for title, expr in grafana_queries() if title == "Stories per language per hour"]
    assert expression == 'sum by (lang) (increase(newswire_stories_total{stage="index"}[1h]))'


def test_kibana_dashboard_groups_pages_by_story_and_shows_their_languages():
    objects = {(obj["type"], obj["id"]): obj for obj in kibana_objects()}
    (dashboard,) = [obj for obj in objects.values() if obj["type"] == "dashboard"]
    on_dashboard = {(reference["type"], reference["id"]) for reference in dashboard["references"]}
    stories_search = objects[("search", "newswire-stories")]
    assert stories_search["attributes"]["columns"][:2] == ["story_id", "lang"]
    assert stories_search["attributes"]["sort"][0] == ["story_id", "asc"]
    lens = objects[("lens", "newswire-stories-by-language")]
    (layer,) = lens["attributes"]["state"]["datasourceStates"]["formBased"]["layers"].values()
    (visual,) = lens["attributes"]["state"]["visualization"]["layers"]
    grouped_by = layer["columns"][visual["xAccessor"]]
    split_by = layer["columns"][visual["splitAccessor"]]
    assert (grouped_by["operationType"], grouped_by["sourceField"]) == ("terms", "story_id")
    assert (split_by["operationType"], split_by["sourceField"]) == ("terms", "lang")
    assert {("search", "newswire-stories"), ("lens", "newswire-stories-by-language")} <= on_dashboard


def test_index_template_analyses_hindi_and_english():
    properties = index_template("newswire-pages")["template"]["mappings"]["properties"]
    for field in ("title", "body"):
        analyzers = {sub: spec.get("analyzer") for sub, spec in properties[field]["fields"].items()}
        assert analyzers["hi"] == "hindi" and analyzers["en"] == "english"
