"""`newswire topics apply|list`: create or update the declared topics (topics/topics.yaml)."""

from __future__ import annotations

from workers.config import load_settings
from workers.topics import apply_topics, load_topic_specs


def register(subparsers) -> None:
    parser = subparsers.add_parser("topics", help="create/update the declared Kafka topics, or list them")
    parser.add_argument("action", choices=["apply", "list"])
    parser.set_defaults(func=run)


def run(args) -> int:
    specs = load_topic_specs()
    settings = load_settings()
    if args.action == "list":
        for spec in specs:
            print(f"{settings.topic(spec.name)}\tpartitions={spec.partitions}\t{spec.description}")
        return 0
    from confluent_kafka.admin import AdminClient

    from workers.runtime.kafka import client_config

    admin = AdminClient(client_config(settings))
    for action in apply_topics(admin, specs, settings.topic_prefix, settings.topic_replication_factor):
        print(action)
    return 0
