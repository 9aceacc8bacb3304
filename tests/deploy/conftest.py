"""Offline rendering of the Helm chart (Helm's own Go SDK through helm-python-sdk, no cluster, no network)."""

from __future__ import annotations

import pytest
import yaml

from workers.datasets import REPO_ROOT

CHART_DIR = REPO_ROOT / "deploy" / "helm" / "newswire"
STAGES = ["clean", "classify", "enrich", "index"]


def render_chart(values: dict | None = None, namespace: str = "news") -> list[dict]:
    """Every object the chart renders with `values`, parsed, in template order."""
    helm = pytest.importorskip("helm_python", reason="helm-python-sdk renders the chart")
    with helm.Chart.load(str(CHART_DIR)) as chart:
        rendered = chart.render(values or {}, name="newswire", namespace=namespace)
    objects = []
    for path in sorted(rendered):
        if not path.endswith((".yaml", ".yml")):
            continue  # NOTES.txt
        objects += [doc for doc in yaml.safe_load_all(rendered[path]) if doc]
    return objects


def by_kind(objects: list[dict], kind: str) -> dict[str, dict]:
    """name -> object of one kind; for per-stage resources the name ends with -<stage>."""
    return {obj["metadata"]["name"]: obj for obj in objects if obj["kind"] == kind}


def per_stage(objects: list[dict], kind: str) -> dict[str, dict]:
    found = {}
    for obj in objects:
        if obj["kind"] == kind:
            found[obj["metadata"]["labels"]["app.kubernetes.io/component"]] = obj
    return found


@pytest.fixture(scope="session")
def default_objects() -> list[dict]:
    return render_chart()
