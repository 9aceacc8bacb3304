"""The ECK example validates against the Elasticsearch/Kibana CRD schemas and matches the chart's defaults;
the ILM policy is well formed and rolls over."""

from __future__ import annotations

import json

import yaml

from tests.deploy.conftest import CHART_DIR
from tests.deploy.test_chart import crd_validator

ELASTICSEARCH_DIR = CHART_DIR.parents[1] / "elasticsearch"


def eck_objects() -> dict[str, dict]:
    return {doc["kind"]: doc for doc in yaml.safe_load_all((ELASTICSEARCH_DIR / "eck.yaml").read_text()) if doc}


def test_eck_example_validates():
    objects = eck_objects()
    assert sorted(objects) == ["Elasticsearch", "Kibana"]
    for obj in objects.values():
        crd_validator(obj).validate(obj)
    assert objects["Kibana"]["spec"]["elasticsearchRef"]["name"] == objects["Elasticsearch"]["metadata"]["name"]
    assert objects["Kibana"]["spec"]["version"] == objects["Elasticsearch"]["spec"]["version"]


def test_chart_defaults_point_at_the_eck_example():
    values = yaml.safe_load((CHART_DIR / "values.yaml").read_text())
    name = eck_objects()["Elasticsearch"]["metadata"]["name"]
    # ECK's naming: Service <name>-es-http, Secret <name>-es-elastic-user holding the password under "elastic".
    assert values["settings"]["es_url"].startswith(f"http://{name}-es-http:9200")
    assert values["elasticsearch"]["existingSecret"] == f"{name}-es-elastic-user"
    assert values["elasticsearch"]["passwordKey"] == values["settings"]["es_username"] == "elastic"
    es_selector = values["networkPolicy"]["elasticsearch"]["to"][0]["podSelector"]["matchLabels"]
    assert es_selector == {"elasticsearch.k8s.elastic.co/cluster-name": name}


def test_ilm_policy_rolls_over_then_deletes():
    phases = json.loads((ELASTICSEARCH_DIR / "ilm-policy.json").read_text())["policy"]["phases"]
    assert list(phases) == ["hot", "warm", "delete"]
    assert {"max_age", "max_primary_shard_size"} <= set(phases["hot"]["actions"]["rollover"])
    assert "delete" in phases["delete"]["actions"]


def test_eck_example_installs_the_ukrainian_analysis_plugin_on_every_node():
    # `ukrainian` (title_by_lang.uk) is not in analysis-common: without Elastic's plugin the template is rejected.
    from workers.stages import analysis

    assert analysis.ROUTED_ANALYZERS["uk"] == "ukrainian"
    for node_set in eck_objects()["Elasticsearch"]["spec"]["nodeSets"]:
        commands = [" ".join(c["command"]) for c in node_set["podTemplate"]["spec"].get("initContainers", [])]
        assert any("elasticsearch-plugin install --batch analysis-ukrainian" in c for c in commands), node_set["name"]
