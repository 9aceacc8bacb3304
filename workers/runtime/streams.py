"""The stream stages (clean, classify, enrich) as faust agents: one stage per worker process.

Each agent takes records in batches, runs the stage function in a process pool (so CPU-bound work never blocks
the event loop that also heartbeats to Kafka), sends each result to the next topic or each failure to the
dead-letter topic, and waits until every send is acknowledged before the batch's offsets can be committed
(take_events acks a batch only when the loop body has finished): at-least-once delivery.
"""

from __future__ import annotations

import asyncio
import logging
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

import faust

from workers import topics
from workers.runtime import memory, records
from workers.runtime.deadletter import dead_letter_headers, previous_attempts
from workers.runtime.health import Health, kafka_check, serve
from workers.runtime.kafka import faust_credentials
from workers.runtime.lag import LagMonitor
from workers.runtime.metrics import DEAD_LETTERS, ENCODER_INFO, STAGE_DURATION, STAGE_MESSAGES

log = logging.getLogger(__name__)

STREAM_STAGES = {
    "clean": (topics.RAW, topics.CLEANED),
    "classify": (topics.CLEANED, topics.CLASSIFIED),
    "enrich": (topics.CLASSIFIED, topics.ENRICHED),
}
# A batch goes to the stage pool when records.BATCH_SIZE records are in or 0.1 s has passed: under load batches
# fill at once; at low load every stage hop waits up to this long, so it is a floor of the end-to-end latency.
BATCH_SECONDS = 0.1
# A dead letter keeps the original value for replay, but not a 20 MB one: such a page failed for its size anyway.
MAX_DEAD_LETTER_VALUE_BYTES = 1_048_576


def _header_bytes(headers) -> int:
    items = headers.items() if isinstance(headers, dict) else (headers or [])
    return sum(len(name) + len(value or b"") for name, value in items)


class StagePool:
    """A one-process pool for a stage.

    The model is loaded when the pool starts; if that fails the worker stops with the error (a broken model
    must not turn every page into a dead letter). If a record kills the process, records are retried one by
    one in fresh processes so that only the record that kills it again is dead-lettered.
    """

    def __init__(self, stage: str, max_bytes: int):
        self.stage, self.max_bytes = stage, max_bytes
        self._pool = self._new_pool()

    def _new_pool(self) -> ProcessPoolExecutor:
        pool = ProcessPoolExecutor(max_workers=1, initializer=memory.return_large_blocks_to_the_system)
        # raises here, at start-up, when the model cannot load
        encoder = pool.submit(records.warm_up, self.stage).result()
        if encoder:
            log.info("stage %s: encoder %s", self.stage, encoder)
            ENCODER_INFO.labels(self.stage, encoder["runtime"], encoder["precision"], encoder["isa"]).set(1)
        return pool

    async def run(self, batch: list[records.Record]) -> list[records.Outcome]:
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(self._pool, records.transform_batch, self.stage, batch, self.max_bytes)
        except BrokenProcessPool:
            log.error("stage process died on a batch of %d; retrying records one by one", len(batch))
        self._replace_pool()
        outcomes = []
        for record in batch:
            try:
                outcomes.append(await loop.run_in_executor(self._pool, records.transform_one, self.stage, record, self.max_bytes))
            except BrokenProcessPool:
                outcomes.append(records.Outcome(False, None, "worker_crash", "the stage process died on this record", 0.0))
                self._replace_pool()
        return outcomes

    def _replace_pool(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
        self._pool = self._new_pool()

    def close(self) -> None:
        self._pool.shutdown(cancel_futures=True)


def build_app(stage: str, settings, health: Health) -> faust.App:
    input_name, output_name = STREAM_STAGES[stage]
    Path(settings.state_dir).mkdir(parents=True, exist_ok=True)
    app = faust.App(
        settings.group(stage),
        broker=[f"kafka://{server}" for server in settings.kafka_bootstrap.split(",")],
        broker_credentials=faust_credentials(settings),
        store="memory://",
        datadir=f"{settings.state_dir}/{settings.group(stage)}",
        web_enabled=False,
        topic_replication_factor=settings.topic_replication_factor,
        consumer_auto_offset_reset="earliest",
        producer_acks=-1,
        broker_commit_interval=1.0,
        # CPU work runs in the pool, so heartbeats flow; a short session lets a replacement take over a
        # killed worker's partitions in seconds instead of faust's default minute.
        broker_session_timeout=settings.kafka_session_timeout_ms / 1000,
        broker_heartbeat_interval=settings.kafka_session_timeout_ms / 3000,
        producer_max_request_size=settings.max_page_bytes * 2,
    )
    source = app.topic(settings.topic(input_name), key_type=bytes, value_type=bytes, key_serializer="raw", value_serializer="raw")
    sink = app.topic(settings.topic(output_name), key_serializer="raw", value_serializer="raw")
    dead_letters = app.topic(settings.topic(topics.DEAD_LETTER), key_serializer="raw", value_serializer="raw")
    pool = StagePool(stage, settings.max_page_bytes)

    @app.agent(source, name=f"newswire.{stage}")
    async def stage_agent(stream):
        async for events in stream.take_events(records.BATCH_SIZE, within=BATCH_SECONDS):
            batch = [
                records.Record(e.message.key, e.message.value,
                               int(e.message.timestamp * 1000) if e.message.timestamp else None,
                               _header_bytes(e.message.headers))
                for e in events
            ]
            outcomes = await pool.run(batch)
            deliveries = []
            for event, outcome in zip(events, outcomes):
                STAGE_DURATION.labels(stage).observe(outcome.seconds)
                message = event.message
                if outcome.ok:
                    STAGE_MESSAGES.labels(stage, "ok").inc()
                    deliveries.append(await sink.send(key=message.key, value=outcome.value))
                else:
                    STAGE_MESSAGES.labels(stage, "dead_letter").inc()
                    DEAD_LETTERS.labels(stage, outcome.reason).inc()
                    log.warning("dead letter %s[%s]@%s: %s: %s", message.topic, message.partition, message.offset,
                                outcome.reason, outcome.message)
                    headers = dead_letter_headers(stage, outcome.reason, outcome.message or "", message.topic,
                                                  message.partition, message.offset, previous_attempts(message.headers) + 1)
                    value = message.value
                    if value and len(value) > MAX_DEAD_LETTER_VALUE_BYTES:
                        headers.append(("newswire.truncated_from_bytes", str(len(value)).encode()))
                        value = value[:MAX_DEAD_LETTER_VALUE_BYTES]
                    deliveries.append(await dead_letters.send(key=message.key, value=value, headers=headers))
            await asyncio.gather(*deliveries)  # every output acknowledged before this batch is acked

    @app.timer(5.0)
    async def heartbeat():  # stops beating when the event loop is blocked: /healthz then fails
        health.beat()

    app.newswire_pool = pool
    return app


def run_stream_stage(stage: str, settings, loglevel: str = "info") -> None:
    input_name, _ = STREAM_STAGES[stage]
    health = Health({"kafka": kafka_check(settings)})
    serve(settings.metrics_host, settings.metrics_port_for(stage), health)
    lag = LagMonitor(settings, stage, settings.group(stage), settings.topic(input_name))
    lag.start()
    app = build_app(stage, settings, health)
    try:
        faust.Worker(app, loglevel=loglevel, quiet=True).execute_from_commandline()
    finally:
        lag.stop()
        app.newswire_pool.close()
