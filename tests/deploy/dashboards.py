"""Reading the shipped dashboards: the Grafana panel queries and the fields the Kibana saved objects use."""

from __future__ import annotations

import json
import re

from workers.datasets import REPO_ROOT

GRAFANA_DASHBOARD = REPO_ROOT / "dashboards" / "grafana" / "newswire.json"
KIBANA_OBJECTS = REPO_ROOT / "dashboards" / "kibana" / "newswire.ndjson"

# What Grafana puts in place of its variables: every stage, and windows that span several 2 s scrapes locally.
GRAFANA_VARIABLES = {
    "$__rate_interval": "30s",
    "$__range": "5m",
    "$stage": "clean|classify|enrich|index",
}


def grafana_queries() -> list[tuple[str, str]]:
    """(panel title, PromQL expression) for every query of every panel."""
    dashboard = json.loads(GRAFANA_DASHBOARD.read_text(encoding="utf-8"))
    return [(panel["title"], target["expr"]) for panel in dashboard["panels"] for target in panel.get("targets", [])]


def substitute_variables(expression: str) -> str:
    for variable in sorted(GRAFANA_VARIABLES, key=len, reverse=True):  # $__range before a shorter prefix
        expression = expression.replace(variable, GRAFANA_VARIABLES[variable])
    leftover = re.findall(r"\$\w+", expression)
    assert not leftover, f"unsubstituted variables {leftover} in {expression}"
    return expression


def promtool_rules_file(queries: list[tuple[str, str]]) -> str:
    """A Prometheus rules file with one recording rule per query, so `promtool check rules` parses each."""
    rules = [{"record": f"dashboard:query_{index}", "expr": substitute_variables(expr)} for index, (_, expr) in enumerate(queries)]
    return json.dumps({"groups": [{"name": "grafana-panels", "rules": rules}]}, indent=1)  # JSON is YAML


def kibana_objects() -> list[dict]:
    return [json.loads(line) for line in KIBANA_OBJECTS.read_text(encoding="utf-8").splitlines() if line.strip()]


def kibana_field_references(objects: list[dict]) -> set[str]:
    """Every document field a saved object names: time field, saved-search columns and sort, Lens source fields."""
    fields: set[str] = set()
    for obj in objects:
        attributes = obj["attributes"]
        if obj["type"] == "index-pattern":
            fields.add(attributes["timeFieldName"])
        elif obj["type"] == "search":
            fields.update(attributes["columns"])
            fields.update(field for field, _ in attributes["sort"])
        elif obj["type"] == "lens":
            for layer in attributes["state"]["datasourceStates"]["formBased"]["layers"].values():
                fields.update(column["sourceField"] for column in layer["columns"].values()
                              if column["sourceField"] != "___records___")  # Lens' document count
    return fields


def mapped_fields(properties: dict, prefix: str = "") -> dict[str, str]:
    """Flattened mapping: dotted field path -> type (objects recurse; multi-fields appear as field.sub)."""
    flat = {}
    for name, spec in properties.items():
        path = prefix + name
        if "properties" in spec:
            flat.update(mapped_fields(spec["properties"], path + "."))
            continue
        flat[path] = spec["type"]
        for sub, sub_spec in spec.get("fields", {}).items():
            flat[f"{path}.{sub}"] = sub_spec["type"]
    return flat
