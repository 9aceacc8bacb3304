"""Reliability the way production meets it, against the real servers, without stopping any shared server:
an index block (what the engine sets at the flood-stage disk watermark) for over a minute mid-stream, and a
page that kills the stage's pool process. Each counts what went in and what came out."""

from __future__ import annotations

import re
import threading
import time
import urllib.request

import pytest

from tests.integration.corpus import DELIVERY_ENV, page_ids, synthetic_pages
from workers import topics
from workers.config import STAGE_METRICS_PORTS
from workers.envelope import page_id_for
from workers.localrun import envelope
from workers.runtime.deadletter import read_dead_letter_headers

pytestmark = pytest.mark.stack
BLOCK_PAGES = 600
BLOCK_RATE = 20  # pages/s: a 30 s stream, most of it produced while the index is blocked
BLOCK_SECONDS = 60
READ_ONLY_ALLOW_DELETE = "index.blocks.read_only_allow_delete"
PAUSED_GAUGE = 'newswire_stage_paused{stage="index"}'
WORKER_ENV = DELIVERY_ENV  # for conftest's pipeline


def _metrics(stage: str) -> dict[str, float]:
    with urllib.request.urlopen(f"http://127.0.0.1:{STAGE_METRICS_PORTS[stage]}/metrics", timeout=5) as response:
        lines = response.read().decode().splitlines()
    return {name: float(value) for name, value in (line.rsplit(" ", 1) for line in lines if line and line[0] != "#")}


def _wait_for_index(pipeline) -> None:
    """The index worker creates its index once it runs (its metrics port opens a little earlier)."""
    deadline = time.monotonic() + 60
    while not pipeline.es.indices.exists_alias(name=pipeline.settings.index_alias):
        assert time.monotonic() < deadline, "the index worker created its index"
        pipeline.assert_workers_alive()
        time.sleep(0.5)


def _set_block(pipeline, value: bool | None) -> None:
    """The block on this test's own indices only (its pages and its dedup generations), as the flood stage
    sets it on every index of a node."""
    pipeline.es.indices.put_settings(index=f"{pipeline.settings.index_alias}-*", settings={READ_ONLY_ALLOW_DELETE: value})


def _produce(pipeline, pages, per_second=None) -> None:
    pipeline.produce_pages(pages, per_second)


def test_index_block_mid_stream_pauses_then_drains_with_no_dead_letter_loss_or_duplicate(pipeline):
    pages = synthetic_pages(BLOCK_PAGES, seed=15)
    _wait_for_index(pipeline)
    ids_before, dead_before = pipeline.indexed_ids(), pipeline.dead_letter_count()
    blocked_metric = 'newswire_stage_paused_seconds_total{reason="blocked",stage="index"}'  # labels sorted
    paused_before = _metrics("index").get(blocked_metric, 0.0)
    producer = threading.Thread(target=_produce, args=(pipeline, pages, BLOCK_RATE), daemon=True)
    producer.start()
    while pipeline.count_documents() < len(ids_before) + 20:  # mid-stream: pages are flowing into the index
        pipeline.assert_workers_alive()
        time.sleep(0.5)
    _set_block(pipeline, True)
    try:
        blocked_at = time.monotonic()
        indexed_at_block = pipeline.count_documents()
        seen_paused = False
        while time.monotonic() - blocked_at < BLOCK_SECONDS:
            pipeline.assert_workers_alive()
            seen_paused = seen_paused or _metrics("index")[PAUSED_GAUGE] == 1.0
            time.sleep(1)
        producer.join()
        indexed_during_block = pipeline.count_documents() - indexed_at_block
        paused_for_block = _metrics("index")[blocked_metric] - paused_before
    finally:
        _set_block(pipeline, None)
    lifted_at = time.monotonic()
    expected = len(ids_before) + len(pages)
    while pipeline.count_documents() < expected and time.monotonic() - lifted_at < 300:
        pipeline.assert_workers_alive()
        time.sleep(0.5)
    drain_seconds = time.monotonic() - lifted_at
    indexed = pipeline.wait_for_count(expected)
    ids = pipeline.indexed_ids()
    dead = pipeline.dead_letter_count() - dead_before
    print(f"\n[fault:index-block] sent={len(pages)} indexed={len(ids - ids_before)} dead_lettered={dead} "
          f"duplicates={indexed - len(ids)} indexed_while_blocked={indexed_during_block} "
          f"paused_blocked_seconds={paused_for_block:.1f} drained_in={drain_seconds:.1f}s")
    assert seen_paused and paused_for_block > 0, "the index stage paused, with reason `blocked`"
    assert dead == 0
    assert ids - ids_before == page_ids(pages)
    assert indexed == len(ids)
    assert _metrics("index")[PAUSED_GAUGE] == 0.0


def _killer_page() -> str:
    """Valid HTML of 4.3 MB (under the 5 MB cap) that costs several CPU seconds to clean, against ~15 ms for a
    normal page: past CPU_SECONDS_PER_RECORD, so the kernel kills the pool process while it cleans it."""
    paragraphs = "".join(f"<p>Paragraph {n} of the report says the council approved a plan.</p>" for n in range(62_000))
    return f"<html><head><title>An endless page</title></head><body>{paragraphs}</body></html>"


def test_a_page_that_kills_the_stage_process_is_dead_lettered_and_its_batch_neighbours_indexed(pipeline):
    clean = pipeline.processes["clean"]
    clean.terminate()
    clean.wait(timeout=30)
    pipeline.start_worker("clean", module="tests.integration.cpu_limited_worker")
    _wait_for_index(pipeline)
    neighbours = synthetic_pages(24, seed=16)
    killer_url = "https://synthetic.example/killer"
    records = [(u.encode(), envelope(t, u, "text/plain"), None) for u, t in neighbours[:12]]
    records.append((killer_url.encode(), envelope(_killer_page(), killer_url, "text/html"), None))
    records += [(u.encode(), envelope(t, u, "text/plain"), None) for u, t in neighbours[12:]]
    dead_before = pipeline.dead_letter_count()
    pipeline.produce_many(topics.RAW, records)  # at once: the killer shares a batch with its neighbours
    found = pipeline.wait_for_documents(sorted(page_ids(neighbours)))
    letters = [m for m in pipeline.read_topic(topics.DEAD_LETTER, dead_before + 1) if m.key() == killer_url.encode()]
    pipeline.assert_workers_alive()
    log = (pipeline.log_dir / "worker-clean.log").read_text(errors="replace")
    batches = [int(size) for size in re.findall(r"stage process died on a batch of (\d+)", log)]
    print(f"\n[fault:worker-crash] sent={len(records)} indexed={len(found)} dead_lettered={len(letters)} "
          f"crashed_batches={batches}")
    assert len(letters) == 1
    headers = read_dead_letter_headers(letters[0].headers())
    assert (headers["stage"], headers["reason"]) == ("clean", "worker_crash")
    assert batches and max(batches) > 1, "the killer was in a batch with neighbours"
    assert page_id_for(killer_url, "") not in pipeline.indexed_ids()
