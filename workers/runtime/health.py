"""The worker's HTTP endpoint: /metrics (Prometheus), /healthz (liveness), /readyz (readiness).

Liveness fails when the worker's main loop has not beaten for `stall_seconds` (a stuck loop is restarted by
Kubernetes); readiness fails while a dependency (Kafka, and for the indexer the search engine) does not answer,
so a Service stops routing to it and an operator sees why.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from socketserver import ThreadingMixIn
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from prometheus_client import make_wsgi_app

log = logging.getLogger(__name__)


class Health:
    def __init__(self, checks: dict[str, Callable[[], None]], stall_seconds: float = 120.0, cache_seconds: float = 5.0):
        self.checks = checks  # name -> callable that raises when the dependency is unavailable
        self.stall_seconds = stall_seconds
        self.cache_seconds = cache_seconds
        self._last_beat = time.monotonic()
        self._ready_cache: tuple[float, dict[str, str]] = (0.0, {})
        self._lock = threading.Lock()

    def beat(self) -> None:
        self._last_beat = time.monotonic()

    def alive(self) -> tuple[bool, str]:
        silent = time.monotonic() - self._last_beat
        return silent < self.stall_seconds, f"last loop beat {silent:.1f}s ago"

    def ready(self) -> tuple[bool, dict[str, str]]:
        with self._lock:
            checked_at, results = self._ready_cache
            if time.monotonic() - checked_at > self.cache_seconds:
                results = {}
                for name, check in self.checks.items():
                    try:
                        check()
                        results[name] = "ok"
                    except Exception as error:  # any failure means "not ready", with the reason shown
                        results[name] = f"unavailable: {type(error).__name__}"
                self._ready_cache = (time.monotonic(), results)
        return all(value == "ok" for value in results.values()), results


class _ThreadingServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True  # a slow readiness check never holds up a scrape


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format, *args):  # scrapes every 2 s would flood the log
        pass


def serve(host: str, port: int, health: Health) -> WSGIServer:
    metrics_app = make_wsgi_app()

    def app(environ, start_response):
        path = environ.get("PATH_INFO", "/")
        if path == "/healthz":
            ok, detail = health.alive()
            body = detail
        elif path == "/readyz":
            ok, results = health.ready()
            body = "\n".join(f"{name}: {state}" for name, state in results.items())
        else:
            return metrics_app(environ, start_response)
        start_response("200 OK" if ok else "503 Service Unavailable", [("Content-Type", "text/plain; charset=utf-8")])
        return [(body + "\n").encode()]

    server = make_server(host, port, app, server_class=_ThreadingServer, handler_class=_QuietHandler)
    threading.Thread(target=server.serve_forever, name="http", daemon=True).start()
    log.info("metrics and health on http://%s:%d/{metrics,healthz,readyz}", host, port)
    return server


def kafka_check(settings) -> Callable[[], None]:
    """A readiness check that asks the cluster for its metadata (one admin client, made on first use)."""
    from confluent_kafka.admin import AdminClient

    from workers.runtime.kafka import client_config

    admin: list[AdminClient] = []

    def check() -> None:
        if not admin:
            admin.append(AdminClient(client_config(settings)))
        admin[0].list_topics(timeout=3)

    return check
