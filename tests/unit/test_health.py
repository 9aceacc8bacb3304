import urllib.error
import urllib.request

from workers.runtime import metrics  # noqa: F401  (registers the pipeline's metrics)
from workers.runtime.health import Health, serve


def _failing():
    raise ConnectionError("down")


def test_readiness_names_the_unavailable_dependency():
    ready, results = Health({"kafka": lambda: None, "search_engine": _failing}).ready()
    assert not ready
    assert results == {"kafka": "ok", "search_engine": "unavailable: ConnectionError"}


def test_liveness_fails_when_the_loop_stops_beating():
    health = Health({}, stall_seconds=0.0)
    assert not health.alive()[0]
    assert Health({}, stall_seconds=60).alive()[0]


def test_http_endpoints():
    health = Health({"kafka": _failing}, cache_seconds=0)
    server = serve("127.0.0.1", 0, health)
    port = server.server_address[1]
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz") as response:
            assert response.status == 200
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz")
            raise AssertionError("readyz must fail while kafka is down")
        except urllib.error.HTTPError as error:
            assert error.code == 503
            assert "kafka: unavailable" in error.read().decode()
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics") as response:
            assert b"# HELP newswire_stage_messages_total" in response.read()
    finally:
        server.shutdown()
