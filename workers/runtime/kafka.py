"""confluent-kafka client configuration from Settings (security settings are added here once, for every client)."""

from __future__ import annotations


def client_config(settings, **overrides) -> dict:
    config = {"bootstrap.servers": settings.kafka_bootstrap, "client.id": "newswire"}
    config.update(overrides)
    return config


def producer_config(settings, **overrides) -> dict:
    # Idempotent producer: retries after a broker hiccup never write a record twice.
    return client_config(settings, **{"enable.idempotence": True, "acks": "all", "linger.ms": 20,
                                      "compression.type": "zstd", "message.max.bytes": 10485760, **overrides})
