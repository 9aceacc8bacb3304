"""The topic declarations in topics/topics.yaml, and creating or updating them on a cluster."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

from workers.datasets import REPO_ROOT

TOPICS_FILE = REPO_ROOT / "topics" / "topics.yaml"

RAW = "newswire.pages.raw"
CLEANED = "newswire.pages.cleaned"
CLASSIFIED = "newswire.pages.classified"
ENRICHED = "newswire.pages.enriched"
DEAD_LETTER = "newswire.deadletter"


@dataclass(frozen=True)
class TopicSpec:
    name: str
    partitions: int
    config: dict[str, str]
    description: str = ""


def load_topic_specs(path: Path = TOPICS_FILE) -> list[TopicSpec]:
    declared = yaml.safe_load(path.read_text(encoding="utf-8"))
    defaults = declared.get("defaults", {})
    specs = []
    for topic in declared["topics"]:
        config = {**defaults.get("config", {}), **topic.get("config", {})}
        specs.append(
            TopicSpec(
                name=topic["name"],
                partitions=int(topic.get("partitions", defaults.get("partitions", 1))),
                config={key: str(value) for key, value in config.items()},
                description=topic.get("description", ""),
            )
        )
    return specs


def apply_topics(admin, specs: list[TopicSpec], prefix: str, replication_factor: int, timeout: float = 30.0) -> list[str]:
    """Create missing topics, raise partition counts and set configs of existing ones. Returns what it did."""
    from confluent_kafka.admin import AlterConfigOpType, ConfigEntry, ConfigResource, NewPartitions, NewTopic

    existing = admin.list_topics(timeout=timeout).topics
    actions: list[str] = []
    to_create = [
        NewTopic(prefix + spec.name, spec.partitions, replication_factor, config=spec.config)
        for spec in specs
        if prefix + spec.name not in existing
    ]
    for name, future in (admin.create_topics(to_create, request_timeout=timeout).items() if to_create else []):
        future.result()
        actions.append(f"created {name}")
    for spec in specs:
        name = prefix + spec.name
        if name not in existing:
            continue
        current_partitions = len(existing[name].partitions)
        if current_partitions < spec.partitions:
            admin.create_partitions([NewPartitions(name, spec.partitions)])[name].result()
            actions.append(f"{name}: partitions {current_partitions} -> {spec.partitions}")
        resource = ConfigResource(
            ConfigResource.Type.TOPIC,
            name,
            incremental_configs=[
                ConfigEntry(key, value, incremental_operation=AlterConfigOpType.SET) for key, value in spec.config.items()
            ],
        )
        admin.incremental_alter_configs([resource])[resource].result()
        actions.append(f"{name}: config up to date")
    return actions
