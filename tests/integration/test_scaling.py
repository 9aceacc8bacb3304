"""Scaling mid-stream on the local cluster mode: each stream stage goes from one replica to three and back to one
while a stream of 3,000 pages flows, as KEDA does on lag. faust's eager rebalancing stops every replica of the
stage while the group rebalances; the test measures, per rebalance, the longest time the stage's output topic
received nothing (its records' timestamps are set when the stage sends them), and checks that no page is lost
and none is indexed twice. Stalls are measured and printed, not asserted (wall-clock times on a shared machine).

Not in the default run (it takes about ten minutes): `make test-cluster`."""

from __future__ import annotations

import time
from collections import Counter

import pytest
from confluent_kafka import Consumer, TopicPartition

from tests.integration.corpus import DELIVERY_ENV, page_ids, synthetic_pages
from workers.localrun import CLUSTER_ENV, CLUSTER_METRICS_PORTS, running_pipeline
from workers.runtime.kafka import client_config
from workers.runtime.streams import STREAM_STAGES

pytestmark = [pytest.mark.stack, pytest.mark.cluster]
PAGES = 3000
RATE = 8  # pages/s, above the pipeline's capacity on two cores (4-5 pages/s): every stage has work throughout
REPLICAS = 3
FIRST_SCALING_AFTER = 45  # seconds of stream before the first stage scales out
SETTLE_SECONDS = 10  # after a group is stable again, gaps that start this soon still belong to its rebalance


def _output_timestamps(pipeline, stage: str) -> tuple[list[float], Counter]:
    """Send times (s) of every record the stage wrote to its output topic, sorted, and records per key."""
    topic = pipeline.topic(STREAM_STAGES[stage][1])
    consumer = Consumer(client_config(pipeline.settings, **{
        "group.id": f"{pipeline.settings.topic_prefix}scaling-reader", "enable.auto.commit": False}))
    try:
        partitions = consumer.list_topics(topic, timeout=10).topics[topic].partitions
        ends = {p: consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1] for p in partitions}
        consumer.assign([TopicPartition(topic, p, 0) for p in partitions])
        stamps, keys, read = [], Counter(), Counter()
        deadline = time.monotonic() + 120
        while any(read[p] < end for p, end in ends.items()) and time.monotonic() < deadline:
            message = consumer.poll(1.0)
            if message is None or message.error():
                continue
            read[message.partition()] += 1
            stamps.append(message.timestamp()[1] / 1000)
            keys[message.key()] += 1
        return sorted(stamps), keys
    finally:
        consumer.close()


def longest_gap(stamps: list[float], start: float, end: float) -> float:
    """The longest interval between consecutive output records that overlaps [start, end]."""
    return max((later - earlier for earlier, later in zip(stamps, stamps[1:]) if later > start and earlier < end),
               default=0.0)


def _scale(pipeline, stage: str, replicas: int) -> dict:
    """Add or remove replicas of the stage at once (what an autoscaler does), and time until its group is
    stable with that many members."""
    started = time.time()
    before = len(pipeline.replicas(stage))
    while len(pipeline.replicas(stage)) < replicas:
        pipeline.add_replica(stage)
    while len(pipeline.replicas(stage)) > replicas:
        pipeline.remove_replica(stage)
    pipeline.wait_group_stable(stage, replicas, time.monotonic() + 300)
    return {"stage": stage, "change": f"{before}->{replicas}", "started": started, "stable": time.time()}


def test_each_stream_stage_scales_1_3_1_mid_stream_without_loss_or_duplicates(local_cluster, tmp_path):
    pages = synthetic_pages(PAGES, seed=31)
    with running_pipeline(tmp_path, {**CLUSTER_ENV, **DELIVERY_ENV}, CLUSTER_METRICS_PORTS) as pipeline:
        stream_started = time.time()
        producer = pipeline.stream_pages(pages, RATE)
        time.sleep(FIRST_SCALING_AFTER)
        events = [_scale(pipeline, stage, REPLICAS) for stage in STREAM_STAGES]
        events += [_scale(pipeline, stage, 1) for stage in STREAM_STAGES]
        scaled_until = time.time()
        producer.join()
        indexed = pipeline.wait_for_count(len(pages), timeout=1800)
        ids = pipeline.indexed_ids()
        outputs = {stage: _output_timestamps(pipeline, stage) for stage in STREAM_STAGES}

    print(f"\n[scaling] sent={len(pages)} indexed={len(ids)} duplicates={indexed - len(ids)} "
          f"stream {scaled_until - stream_started:.0f} s in when the last rebalance settled")
    for stage, (stamps, keys) in outputs.items():
        baseline = longest_gap(stamps, stamps[0], events[0]["started"])
        print(f"[scaling] {stage}: {len(stamps)} output records for {len(keys)} pages "
              f"({sum(keys.values()) - len(keys)} re-sent after rebalances); longest gap before any scaling {baseline:.1f} s")
    for event in events:
        stamps = outputs[event["stage"]][0]
        stall = longest_gap(stamps, event["started"], event["stable"] + SETTLE_SECONDS)
        print(f"[scaling] {event['stage']} {event['change']}: group stable after {event['stable'] - event['started']:.1f} s, "
              f"longest stall {stall:.1f} s")
    assert ids == page_ids(pages), "no page lost, none extra"
    assert indexed == len(ids), "one document per page"
    for stage, (_, keys) in outputs.items():
        assert len(keys) == len(pages), f"{stage} put out every page"
