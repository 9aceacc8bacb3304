"""Elasticsearch over HTTPS with basic auth and with an API key, against the secured node of the local stack
(`deploy/local/stack.sh start elasticsearch-secure`, started here when it is not running), and secrets that never
show up in logs, metrics or reprs."""

from __future__ import annotations

import base64
import os
import signal
import subprocess
import urllib.request
from pathlib import Path

import pytest
from elasticsearch import AuthenticationException, SSLError

from workers import topics
from workers.config import STAGE_METRICS_PORTS, load_settings
from workers.datasets import REPO_ROOT
from workers.envelope import page_id_for
from workers.localrun import Pipeline, envelope
from workers.runtime.search import make_client

pytestmark = pytest.mark.stack
STACK = REPO_ROOT / "deploy" / "local" / "stack.sh"
SECURE_DIR = Path(os.environ.get("NEWSWIRE_VAR", REPO_ROOT / "var")) / "elasticsearch-secure"
CA_FILE = SECURE_DIR / "tls" / "ca.pem"
USER = "newswire"
# stack.sh may wait up to 600 s for another stack.sh's lock, then up to its start timeout.
STACK_TIMEOUT = 900


def _stack(action: str) -> str:
    result = subprocess.run([str(STACK), action, "elasticsearch-secure"], capture_output=True, text=True,
                            timeout=STACK_TIMEOUT, stdin=subprocess.DEVNULL)
    assert result.returncode == 0, f"stack.sh {action} elasticsearch-secure failed:\n{result.stderr[-4000:]}"
    return result.stdout


@pytest.fixture(scope="module")
def es_password():
    """The secured node's password; the node is started when not running, and then stopped again at the end."""
    already_running = _stack("status").split()[1] == "running"
    try:
        if not already_running:
            _stack("start")
        yield (SECURE_DIR / "password").read_text().strip()
    finally:
        if not already_running:
            _stack("stop")


def _es_env(tmp_path: Path, password: str | None = None, api_key: str | None = None) -> dict[str, str]:
    env = {"NEWSWIRE_ES_URL": "https://127.0.0.1:9201", "NEWSWIRE_ES_CA_CERTS": str(CA_FILE)}
    if password is not None:
        (tmp_path / "es-password").write_text(password)
        env |= {"NEWSWIRE_ES_USERNAME": USER, "NEWSWIRE_ES_PASSWORD_FILE": str(tmp_path / "es-password")}
    if api_key is not None:
        (tmp_path / "es-api-key").write_text(api_key)
        env["NEWSWIRE_ES_API_KEY_FILE"] = str(tmp_path / "es-api-key")
    return env


def test_wrong_password_is_refused_with_401(tmp_path, es_password):
    client = make_client(load_settings(_es_env(tmp_path, password="not-the-password")))
    with pytest.raises(AuthenticationException) as refused:
        client.cluster.health()
    assert refused.value.meta.status == 401


def test_the_node_certificate_is_verified(tmp_path, es_password):
    settings = load_settings({**_es_env(tmp_path, password=es_password), "NEWSWIRE_ES_CA_CERTS": ""})
    with pytest.raises(SSLError) as refused:
        make_client(settings).options(max_retries=0).cluster.health()
    assert "CERTIFICATE_VERIFY_FAILED" in str(refused.value.__cause__)


def _send_page(pipeline: Pipeline, slug: str, sentence: str) -> str:
    url = f"https://secure.example/news/{slug}"
    text = f"{sentence}\n\n" + f"{sentence} The council debated it for a long time on Monday evening. " * 4
    pipeline.produce(topics.RAW, url.encode(), envelope(text, url, "text/plain"))
    return page_id_for(url, text)


def _assert_not_in_metrics(secrets: list[str]) -> None:
    for port in STAGE_METRICS_PORTS.values():
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
            text = response.read().decode()
        for secret in secrets:
            assert secret not in text, f"a secret in /metrics on port {port}"


def _restart_index_worker(pipeline: Pipeline, env: dict[str, str]) -> None:
    """Stop the index worker cleanly (it leaves its consumer group at once), then start it with `env`."""
    worker = pipeline.processes["index"]
    os.killpg(worker.pid, signal.SIGTERM)
    worker.wait(timeout=60)
    pipeline.env = env
    pipeline.start_worker("index")


def test_pipeline_indexes_with_password_then_api_key_and_never_shows_them(tmp_path, es_password):
    pipeline = Pipeline(tmp_path, _es_env(tmp_path, password=es_password))
    basic_header = base64.b64encode(f"{USER}:{es_password}".encode()).decode()
    secrets = [es_password, basic_header]
    api_key = None
    try:
        pipeline.start()
        tram_id = _send_page(pipeline, "tram", "Council approves a new tram line.")
        pipeline.wait_for_documents([tram_id])  # a realtime get: the document may not be searchable yet
        pipeline.es.indices.refresh(index=pipeline.settings.index_alias)
        hits = pipeline.es.search(index=pipeline.settings.index_alias, query={"match": {"body": "tram"}})["hits"]["hits"]
        assert [hit["_id"] for hit in hits] == [tram_id]
        _assert_not_in_metrics(secrets)

        # Only the API key now: without it the restarted index worker could not authenticate at all.
        api_key = pipeline.es.security.create_api_key(name=f"{pipeline.settings.index_alias}-indexer", expiration="1h")
        secrets += [api_key["encoded"], api_key["api_key"]]
        env = {name: value for name, value in pipeline.env.items()
               if name not in ("NEWSWIRE_ES_USERNAME", "NEWSWIRE_ES_PASSWORD_FILE")}
        _restart_index_worker(pipeline, env | _es_env(tmp_path, api_key=api_key["encoded"]))
        bridge_id = _send_page(pipeline, "bridge", "Council opens the rebuilt river bridge.")
        pipeline.wait_for_documents([bridge_id])
        with urllib.request.urlopen(f"http://127.0.0.1:{STAGE_METRICS_PORTS['index']}/readyz", timeout=10) as response:
            assert response.status == 200
        _assert_not_in_metrics(secrets)
        assert es_password not in repr(pipeline.settings)
        assert api_key["encoded"] not in repr(load_settings(pipeline.env))
    finally:
        pipeline.stop()
        pipeline.cleanup()
        if api_key:
            pipeline.es.security.invalidate_api_key(ids=[api_key["id"]])
    logs = list(tmp_path.glob("worker-*.log"))
    assert len(logs) == 4
    for log in logs:
        text = log.read_text(errors="replace")
        for secret in secrets:
            assert secret not in text, f"a secret in {log.name}"
