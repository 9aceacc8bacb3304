"""The chart's generated files (topics, alert rules) match their sources: run `python -m workers.deploy_gen`."""

from __future__ import annotations

import json

from workers import deploy_gen
from workers.topics import load_topic_specs


def test_committed_generated_files_are_up_to_date():
    stale = [str(path) for path in deploy_gen.stale_files()]
    assert stale == [], "run: python -m workers.deploy_gen"


def test_topics_json_carries_every_declared_topic():
    generated = json.loads(deploy_gen.topics_json())["topics"]
    specs = load_topic_specs()
    assert [(t["name"], t["partitions"], t["config"]) for t in generated] == [(s.name, s.partitions, s.config) for s in specs]


def test_check_reports_a_stale_file(tmp_path):
    assert sorted(path.name for path in deploy_gen.stale_files(tmp_path)) == ["alert-rules.yaml", "topics.json"]
