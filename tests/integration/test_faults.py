"""Fault tests against the real servers: crashes, a broker restart, an engine outage, bad input, a mapping
conflict. Each counts what went in and what came out: no page missing, none extra, every bad one explained."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
import urllib.request

import orjson
import pytest

from tests.integration.corpus import DELIVERY_ENV, page_ids, synthetic_pages
from workers.localrun import envelope, running_pipeline
from workers import topics
from workers.datasets import REPO_ROOT
from workers.runtime.deadletter import read_dead_letter_headers

pytestmark = pytest.mark.stack
STACK = str(REPO_ROOT / "deploy" / "local" / "stack.sh")
# The classify stage runs the encoder on every page (about 10 pages per CPU second on an fp32-only CPU), so
# 600 pages keep every stage busy through the 16 s of kills below while the test stays within minutes.
STREAM_PAGES = 600
STREAM_RATE = 50  # pages/s: the stream lasts 12 s and the backlog well beyond, so every kill lands mid-stream


@pytest.fixture
def fresh_pipeline(tmp_path):
    with running_pipeline(tmp_path, DELIVERY_ENV) as running:
        yield running


def _dead_letters(pipeline, count: int) -> list:
    return pipeline.read_topic(topics.DEAD_LETTER, count, timeout=30) if count else []


def _report(name: str, sent: int, pipeline, dead: int = 0) -> None:
    indexed = pipeline.count_documents()
    print(f"\n[fault:{name}] sent={sent} indexed={indexed} dead_lettered={dead} duplicates={indexed - len(pipeline.indexed_ids())}")


def _stage_metric(stage_port: int, name: str) -> float:
    with urllib.request.urlopen(f"http://127.0.0.1:{stage_port}/metrics", timeout=5) as response:
        for line in response.read().decode().splitlines():
            if line.startswith(name + "{") or line.startswith(name + " "):
                return float(line.rsplit(" ", 1)[1])
    return 0.0


def test_kill_each_worker_mid_stream_loses_and_duplicates_nothing(fresh_pipeline):
    pages = synthetic_pages(STREAM_PAGES, seed=1)
    producer = fresh_pipeline.stream_pages(pages, STREAM_RATE)
    for stage in ["clean", "classify", "enrich", "index"]:
        time.sleep(4)
        fresh_pipeline.kill_and_restart(stage)
    producer.join()
    assert fresh_pipeline.wait_for_count(STREAM_PAGES) == STREAM_PAGES
    assert fresh_pipeline.indexed_ids() == page_ids(pages)
    _report("kill-9", STREAM_PAGES, fresh_pipeline)


def test_broker_restart_mid_stream_loses_and_duplicates_nothing(fresh_pipeline):
    pages = synthetic_pages(STREAM_PAGES, seed=2)
    half = STREAM_PAGES // 2
    fresh_pipeline.produce_pages(pages[:half])
    time.sleep(3)
    subprocess.run([STACK, "stop", "kafka"], check=True, timeout=120)
    time.sleep(5)
    subprocess.run([STACK, "start", "kafka"], check=True, timeout=300)
    fresh_pipeline.produce_pages(pages[half:])
    assert fresh_pipeline.wait_for_count(STREAM_PAGES) == STREAM_PAGES
    assert fresh_pipeline.indexed_ids() == page_ids(pages)
    fresh_pipeline.assert_workers_alive()
    _report("broker-restart", STREAM_PAGES, fresh_pipeline)


def test_search_engine_outage_pauses_then_drains(fresh_pipeline):
    pages = synthetic_pages(STREAM_PAGES, seed=3)
    subprocess.run([STACK, "stop", "elasticsearch"], check=True, timeout=120)
    outage_started = time.monotonic()
    try:
        fresh_pipeline.produce_pages(pages)
        paused = 0.0
        while time.monotonic() - outage_started < 30 or not paused:
            paused = _stage_metric(9404, "newswire_stage_paused")
            fresh_pipeline.assert_workers_alive()
            time.sleep(1)
        assert paused == 1.0, "the index stage reports its pause"
    finally:
        subprocess.run([STACK, "start", "elasticsearch"], check=True, timeout=300)
    assert fresh_pipeline.wait_for_count(STREAM_PAGES) == STREAM_PAGES
    assert fresh_pipeline.indexed_ids() == page_ids(pages)
    assert _stage_metric(9404, "newswire_stage_paused") == 0.0
    _report("engine-outage", STREAM_PAGES, fresh_pipeline)


def _bad_records() -> list[tuple[str, bytes | None, bytes, list | None, str]]:
    """(name, key, value, headers, expected dead-letter reason)."""
    return [
        ("undecodable", b"bad-undecodable", bytes(b or 1 for b in random.Random(5).randbytes(4000)), None,
         "undecodable"),
        ("binary", b"bad-binary", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 4, None, "binary"),
        ("empty", b"bad-empty", b"", None, "empty"),
        ("huge-page", b"bad-huge", b"<html><body><p>" + b"word " * 4_200_000 + b"</p></body></html>", None, "too_large"),
        ("deep-nesting", b"bad-deep", b"<html><body>" + b"<div>" * 10_000 + b"text" + b"</div>" * 10_000 + b"</body></html>",
         None, "too_deep"),
        ("only-scripts", b"bad-scripts", b"<html><head><script>var a = 1;</script></head><body><script>run()</script>"
         b"<script>track()</script></body></html>", None, "no_content"),
        ("malformed-envelope", b"bad-json", b'{"v": 1, "raw": "unterminated', None, "malformed_envelope"),
        ("missing-field", b"bad-missing", orjson.dumps({"v": 1, "url": "https://x.example/a"}), None, "missing_field"),
        ("wrong-type", b"bad-type", orjson.dumps({"v": 1, "raw": ["not", "a", "string"]}), None, "wrong_field_type"),
        ("unknown-version", b"bad-version", orjson.dumps({"v": 99, "raw": "x"}), None, "unknown_version"),
        ("huge-headers", b"bad-headers", envelope("Title\n\n" + "A fine paragraph of news text. " * 20,
                                                  "https://x.example/headers", "text/plain"),
         [("x-padding", b"h" * 200_000)], "headers_too_large"),
        ("non-text-type", b"bad-pdf", orjson.dumps({"v": 1, "raw": "%PDF-1.7", "content_type": "application/pdf"}), None,
         "unsupported_content_type"),
    ]


def test_bad_input_corpus_is_dead_lettered_with_reasons_and_good_pages_flow(fresh_pipeline):
    bad = _bad_records()
    good = synthetic_pages(60, seed=4)
    records = []
    for number, (url, text) in enumerate(good):
        records.append((url.encode(), envelope(text, url, "text/plain"), None))
        if number % 5 == 0 and bad:
            _, key, value, headers, _ = bad[number // 5]
            records.append((key, value, headers))
    fresh_pipeline.produce_many(topics.RAW, records)
    assert fresh_pipeline.wait_for_count(len(good)) == len(good)
    assert fresh_pipeline.indexed_ids() == page_ids(good)
    letters = {m.key(): read_dead_letter_headers(m.headers()) for m in _dead_letters(fresh_pipeline, len(bad))}
    for name, key, _, _, reason in bad:
        assert key in letters, f"{name} is in the dead-letter topic"
        assert letters[key]["reason"] == reason, name
        assert letters[key]["stage"] == "clean"
    fresh_pipeline.assert_workers_alive()
    _report("bad-input", len(good) + len(bad), fresh_pipeline, dead=len(letters))


def test_mapping_conflict_dead_letters_one_item_and_indexes_the_rest(fresh_pipeline):
    good = synthetic_pages(5, seed=5)
    fresh_pipeline.produce_many(topics.RAW, [(u.encode(), envelope(t, u, "text/plain"), None) for u, t in good])
    fresh_pipeline.wait_for_count(len(good))
    enriched = fresh_pipeline.read_topic(topics.ENRICHED, len(good))
    conflicting = orjson.loads(enriched[0].value())
    conflicting["page_id"] = "conflict-1"
    conflicting["clean"]["published_at"] = "not a date"  # the mapping says `date`
    batch = [(b"conflict-1", orjson.dumps(conflicting), None)]
    for number, message in enumerate(enriched[1:]):
        doc = orjson.loads(message.value())
        doc["page_id"] = f"second-copy-{number}"
        batch.append((doc["page_id"].encode(), orjson.dumps(doc), None))
    fresh_pipeline.produce_many(topics.ENRICHED, batch)
    fresh_pipeline.wait_for_count(len(good) + len(batch) - 1)
    ids = fresh_pipeline.indexed_ids()
    assert "conflict-1" not in ids
    assert {f"second-copy-{n}" for n in range(len(batch) - 1)} <= ids
    letters = [m for m in _dead_letters(fresh_pipeline, 1) if m.key() == b"conflict-1"]
    headers = read_dead_letter_headers(letters[0].headers())
    assert headers["stage"] == "index" and headers["reason"] == "index_rejected"
    assert "published_at" in headers["error"]
    _report("mapping-conflict", len(good) + len(batch), fresh_pipeline, dead=1)


def _newswire(pipeline, *args: str) -> str:
    result = subprocess.run([sys.executable, "-m", "workers", *args], env=pipeline.env, cwd=REPO_ROOT,
                            capture_output=True, text=True, timeout=120, check=True)
    return result.stdout


def test_dlq_inspect_counts_and_replay_sends_records_back(fresh_pipeline):
    fresh_pipeline.produce(topics.RAW, b"bad-version", orjson.dumps({"v": 99, "raw": "x"}))
    fresh_pipeline.produce(topics.RAW, b"bad-empty", b"")
    deadline = time.monotonic() + 60
    summary = {}
    while time.monotonic() < deadline and summary.get("total", 0) < 2:
        summary = orjson.loads(_newswire(fresh_pipeline, "dlq", "inspect", "--json").splitlines()[-1])
        time.sleep(1)
    assert summary["by_stage_reason"] == {"clean/unknown_version": 1, "clean/empty": 1}
    assert "would replay 1 records" in _newswire(fresh_pipeline, "dlq", "replay", "--reason", "unknown_version", "--dry-run")
    _newswire(fresh_pipeline, "dlq", "replay", "--stage", "clean", "--reason", "unknown_version")
    letters = []
    while time.monotonic() < deadline + 60 and len(letters) < 2:
        letters = [m for m in _dead_letters(fresh_pipeline, 3) if m.key() == b"bad-version"]
    assert len(letters) == 2, "the replayed record went through the clean stage again"
    assert read_dead_letter_headers(letters[-1].headers())["attempts"] == "2"


def test_sigterm_stops_each_worker_promptly_without_losing_pages(fresh_pipeline):
    pages = synthetic_pages(600, seed=6)
    producer = fresh_pipeline.stream_pages(pages, STREAM_RATE)
    time.sleep(2)
    for stage in ["clean", "classify", "enrich", "index"]:
        process = fresh_pipeline.processes[stage]
        os.killpg(process.pid, signal.SIGTERM)
        assert process.wait(timeout=30) == 0, f"{stage} exits cleanly within 30 s of SIGTERM"
        fresh_pipeline.start_worker(stage)
    producer.join()
    assert fresh_pipeline.wait_for_count(len(pages)) == len(pages)
    assert fresh_pipeline.indexed_ids() == page_ids(pages)
