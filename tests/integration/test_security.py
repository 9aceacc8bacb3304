"""Kafka over TLS with SCRAM authentication against the real broker's SASL_SSL listener, and secrets that never
show up in logs or metrics."""

from __future__ import annotations

import secrets
import urllib.request

import pytest
from confluent_kafka import KafkaException
from confluent_kafka.admin import AdminClient, ScramCredentialInfo, ScramMechanism, UserScramCredentialUpsertion

from workers.localrun import envelope, running_pipeline
from workers import topics
from workers.config import load_settings
from workers.datasets import REPO_ROOT
from workers.envelope import page_id_for
from workers.runtime.kafka import client_config

pytestmark = pytest.mark.stack
CA_FILE = REPO_ROOT / "var" / "kafka" / "tls" / "ca.pem"
USER = "newswire-test"


@pytest.fixture(scope="module")
def scram_password() -> str:
    password = "s3cret-" + secrets.token_hex(12)
    admin = AdminClient({"bootstrap.servers": "127.0.0.1:9092"})
    upsert = UserScramCredentialUpsertion(USER, ScramCredentialInfo(ScramMechanism.SCRAM_SHA_512, 8192), password.encode())
    for future in admin.alter_user_scram_credentials([upsert]).values():
        future.result()
    return password


def _secure_env(tmp_path, password: str) -> dict[str, str]:
    password_file = tmp_path / "kafka-password"
    password_file.write_text(password)
    return {
        "NEWSWIRE_KAFKA_BOOTSTRAP": "127.0.0.1:9094",
        "NEWSWIRE_KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
        "NEWSWIRE_KAFKA_SASL_MECHANISM": "SCRAM-SHA-512",
        "NEWSWIRE_KAFKA_SASL_USERNAME": USER,
        "NEWSWIRE_KAFKA_SASL_PASSWORD_FILE": str(password_file),
        "NEWSWIRE_KAFKA_SSL_CA_LOCATION": str(CA_FILE),
    }


def test_wrong_password_is_refused(tmp_path, scram_password):
    settings = load_settings(_secure_env(tmp_path, "not-the-password"))
    with pytest.raises(KafkaException):
        AdminClient(client_config(settings)).list_topics(timeout=8)


def test_pipeline_runs_over_sasl_ssl_and_never_shows_the_secret(tmp_path, scram_password):
    with running_pipeline(tmp_path, _secure_env(tmp_path, scram_password)) as pipeline:
        text = "Council approves new tram line\n\n" + "The city council approved a new tram line on Monday after a long debate. " * 4
        url = "https://secure.example/news/tram"
        pipeline.produce(topics.RAW, url.encode(), envelope(text, url, "text/plain"))
        pipeline.wait_for_documents([page_id_for(url, text)])
        for port in (9401, 9402, 9403, 9404):
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
                assert scram_password not in response.read().decode()
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=10) as response:
                assert response.status == 200
    for log in tmp_path.glob("worker-*.log"):
        assert scram_password not in log.read_text(errors="replace"), log.name
    assert scram_password not in repr(pipeline.settings)
