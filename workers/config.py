"""Settings: defaults below, overridden by a YAML file named in $NEWSWIRE_CONFIG, overridden by environment.

Each setting `foo_bar` is read from the file key `foo_bar` and from the variable `NEWSWIRE_FOO_BAR`.
Secret settings are wrapped in `Secret` so they never appear in logs, reprs or metrics; each can also be read
from a file named by `NEWSWIRE_FOO_BAR_FILE` (a mounted Kubernetes Secret).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields
from pathlib import Path

import yaml


class Secret(str):
    """A string whose repr and str hide the value; use .reveal() where the value is really needed."""

    def __new__(cls, value: str):
        obj = super().__new__(cls, "********" if value else "")
        obj._value = value
        return obj

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('********')" if self._value else "Secret('')"


STAGE_METRICS_PORTS = {"clean": 9401, "classify": 9402, "enrich": 9403, "index": 9404}


@dataclass(frozen=True)
class Settings:
    kafka_bootstrap: str = "127.0.0.1:9092"
    kafka_session_timeout_ms: int = 10_000
    kafka_security_protocol: str = "PLAINTEXT"  # PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL
    kafka_sasl_mechanism: str = "SCRAM-SHA-512"  # or SCRAM-SHA-256, PLAIN
    kafka_sasl_username: str = ""
    kafka_sasl_password: Secret = field(default_factory=lambda: Secret(""))
    kafka_ssl_ca_location: str = ""  # CA bundle (PEM) to verify the brokers; empty = the system's
    kafka_ssl_certificate_location: str = ""  # client certificate (PEM) for mutual TLS
    kafka_ssl_key_location: str = ""  # its private key (PEM)
    # Prefix for every topic and consumer group, so that several pipelines (or test runs) share one cluster.
    topic_prefix: str = ""
    topic_replication_factor: int = 1
    es_url: str = "http://127.0.0.1:9200"  # one node, or several separated by commas
    es_username: str = ""
    es_password: Secret = field(default_factory=lambda: Secret(""))
    es_api_key: Secret = field(default_factory=lambda: Secret(""))
    es_ca_certs: str = ""  # CA bundle (PEM) for an https es_url; empty = the system's
    index_alias: str = "newswire-pages"
    dedup_window_days: float = 7.0  # a copy is recognised at least this long after its story's first copy
    index_batch_size: int = 500
    index_batch_seconds: float = 0.2
    # faust keeps a small state folder per stage (no tables are used); outside the working directory.
    state_dir: str = "/tmp/newswire-state"
    index_replicas: int = 0  # replicas of each index shard: 0 on one node, 1+ on a cluster
    index_lifecycle_policy: str = ""  # an ILM policy name (deploy/elasticsearch/ilm-policy.json); engines without ILM: empty
    metrics_host: str = "127.0.0.1"
    metrics_port: int = 0  # 0 = the stage's default port from STAGE_METRICS_PORTS
    max_page_bytes: int = 5_000_000
    # The shared multilingual encoder (workers/encoder/): "auto" = bf16 where the CPU has AMX, int8 where it has
    # VNNI integer units, else fp32; "fp32" forces the fallback, "bf16" and "int8" force those paths. Threads per stage
    # process; texts are cut to encoder_max_tokens tokens.
    encoder_precision: str = "auto"
    encoder_threads: int = 1
    encoder_max_tokens: int = 128
    encoder_batch_size: int = 32
    # "context": Devanagari and Latin-script sentences through the encoder + stacked CRF; "context-deva": Devanagari
    # only (Latin keeps the plain CRF); "crf": the plain CRFs only (no encoder pass in the enrich stage; faster,
    # weaker on names in running text).
    entity_tagger: str = "context"
    # A sentence of a contextual script skips the encoder where the plain CRF tags no name in it and gives every
    # word at least this probability of being no name (a lower-case Latin sentence never skips: without case the
    # plain CRF's certainty means nothing); 1 sends every sentence through the encoder. Chosen on dev rows
    # (workers/models/entities/MODEL_CARD.md, "Context gate").
    entity_context_gate: float = 0.95

    def topic(self, logical_name: str) -> str:
        return f"{self.topic_prefix}{logical_name}"

    def group(self, stage: str) -> str:
        return f"{self.topic_prefix}newswire-{stage}"

    def metrics_port_for(self, stage: str) -> int:
        return self.metrics_port or STAGE_METRICS_PORTS[stage]


def _coerce(value, target_type):
    if target_type in (int, "int"):
        return int(value)
    if target_type in (float, "float"):
        return float(value)
    if target_type in (Secret, "Secret"):
        return Secret(str(value))
    return str(value)


def load_settings(environ: dict[str, str] | None = None) -> Settings:
    environ = os.environ if environ is None else environ
    values: dict[str, object] = {}
    config_path = environ.get("NEWSWIRE_CONFIG")
    if config_path:
        loaded = yaml.safe_load(Path(config_path).read_text(encoding="utf-8")) or {}
        if not isinstance(loaded, dict):
            raise ValueError(f"{config_path}: expected a mapping of settings")
        values.update(loaded)
    for setting in fields(Settings):
        env_name = f"NEWSWIRE_{setting.name.upper()}"
        if env_name in environ:
            values[setting.name] = environ[env_name]
        elif setting.type in (Secret, "Secret") and f"{env_name}_FILE" in environ:
            values[setting.name] = Path(environ[f"{env_name}_FILE"]).read_text(encoding="utf-8").strip()
    unknown = set(values) - {f.name for f in fields(Settings)}
    if unknown:
        raise ValueError(f"unknown settings: {', '.join(sorted(unknown))}")
    protocol = str(values.get("kafka_security_protocol", "PLAINTEXT")).upper()
    if protocol not in ("PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"):
        raise ValueError(f"kafka_security_protocol must be PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL, not {protocol!r}")
    types = {f.name: f.type for f in fields(Settings)}
    return Settings(**{name: _coerce(value, types[name]) for name, value in values.items()})
