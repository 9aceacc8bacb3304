"""Fault tests on the local cluster mode (three KRaft brokers, a two-node engine; `stack.sh start --cluster`):
topics with three replicas and min.insync.replicas 2, indices with one replica. A broker leading most partitions
is killed with SIGKILL mid-stream, and an engine node is stopped mid-stream; each counts what went in and what
came out, and measures how long the pipeline took to move on.

Not in the default run (they need the cluster and take minutes): `make test-cluster`."""

from __future__ import annotations

import os
import signal
import time

import pytest
from confluent_kafka.admin import AdminClient, ConfigResource

from tests.integration import cluster
from tests.integration.corpus import DELIVERY_ENV, page_ids, synthetic_pages
from workers import topics
from workers.localrun import CLUSTER_ENV, CLUSTER_METRICS_PORTS, running_pipeline
from workers.runtime.kafka import client_config

pytestmark = [pytest.mark.stack, pytest.mark.cluster]
PAGES = 1000
RATE = 50  # pages/s: 20 s of producing, then minutes of draining through the encoder on two cores
FAULT_AFTER = PAGES // 10  # documents indexed before the fault: the stream is flowing through every stage
BROKER_DOWN_SECONDS = 20
ENGINE_NODE_DOWN_SECONDS = 30
WARM_UP_PAGES = 20


@pytest.fixture
def pipeline(local_cluster, tmp_path):
    with running_pipeline(tmp_path, {**CLUSTER_ENV, **DELIVERY_ENV}, CLUSTER_METRICS_PORTS) as running:
        yield running


def _wait_for_documents(pipeline, count: int) -> None:
    cluster.wait_until(lambda: pipeline.es.indices.exists_alias(name=pipeline.settings.index_alias)
                       and pipeline.count_documents() >= count, 300, f"{count} documents indexed")


def _reindexed(pipeline) -> int:
    """Documents written more than once (version > 1): re-deliveries that the page-id _id absorbed."""
    pipeline.es.indices.refresh(index=pipeline.settings.index_alias)
    response = pipeline.es.search(index=pipeline.settings.index_alias, size=10_000, source=False, version=True,
                                  query={"match_all": {}})
    return sum(hit["_version"] > 1 for hit in response["hits"]["hits"])


def _check_and_report(name: str, pipeline, pages, **figures) -> None:
    indexed = pipeline.wait_for_count(len(pages))
    ids = pipeline.indexed_ids()
    dead = pipeline.dead_letter_count()
    measured = " ".join(f"{key}={value:.1f}s" if isinstance(value, float) else f"{key}={value}" for key, value in figures.items())
    print(f"\n[cluster:{name}] sent={len(pages)} indexed={len(ids)} dead_lettered={dead} duplicates={indexed - len(ids)} "
          f"rewritten={_reindexed(pipeline)} {measured}")
    assert ids == page_ids(pages), "no page lost, none extra"
    assert indexed == len(ids), "one document per page"
    assert dead == 0
    pipeline.assert_workers_alive()


def test_topics_have_three_replicas_and_need_two_in_sync(pipeline):
    admin = AdminClient(client_config(pipeline.settings))
    raw = pipeline.topic(topics.RAW)
    partitions = admin.list_topics(raw, timeout=10).topics[raw].partitions.values()
    assert {len(partition.replicas) for partition in partitions} == {3}
    resource = ConfigResource(ConfigResource.Type.TOPIC, raw)
    config = admin.describe_configs([resource])[resource].result()
    assert config["min.insync.replicas"].value == "2"
    _wait_for_documents(pipeline, 0)
    settings = pipeline.es.indices.get_settings(index=f"{pipeline.settings.index_alias}-*").body
    assert {index["settings"]["index"]["number_of_replicas"] for index in settings.values()} == {"1"}


def test_kill_9_of_the_broker_leading_most_partitions_mid_stream(pipeline):
    pages = synthetic_pages(PAGES, seed=21)
    with cluster.IndexWatch(pipeline) as watch:
        producer = pipeline.stream_pages(pages, RATE)
        _wait_for_documents(pipeline, FAULT_AFTER)
        broker, led = cluster.broker_leading_most()
        os.kill(cluster.broker_pid(broker), signal.SIGKILL)
        killed_at = time.monotonic()
        leaders_moved = cluster.wait_until(lambda: cluster.partitions_led_by(broker) == 0, 120,
                                           f"broker {broker}'s partitions have new leaders")
        time.sleep(max(0.0, BROKER_DOWN_SECONDS - (time.monotonic() - killed_at)))
        cluster.stack("start", f"kafka-{broker}")
        restarted_at = time.monotonic()
        in_sync = cluster.wait_until(lambda: cluster.under_replicated() == 0, 300, "every partition back in sync")
        producer.join()
        _wait_for_documents(pipeline, len(pages))
    _check_and_report("broker-kill-9", pipeline, pages, broker=broker, partitions_led=led, leaders_moved_in=leaders_moved,
                      longest_indexing_stall=watch.longest_stall_after(killed_at, len(pages)),
                      back_in_sync_after_broker_ready=in_sync, restarted_after=restarted_at - killed_at)


def test_one_engine_node_stopped_mid_stream(pipeline):
    """The node that is not the elected master: with two master-eligible nodes only one votes, so the cluster
    outlives the other (losing the master is the outage the indexer pauses for, `no_master`)."""
    pages = synthetic_pages(PAGES, seed=22)
    indices = f"{pipeline.settings.index_alias}-*"
    master = cluster.elected_master(pipeline.es)
    (node,) = [name for name in cluster.engine_node_names(pipeline.es) if name != master]
    # The first pages create the run's indices (pages, and dedup bands on the first write); then the node to be
    # stopped takes every primary, so the replicas on the other node must take over mid-stream.
    first = pages[:WARM_UP_PAGES]
    pipeline.produce_pages(first)
    _wait_for_documents(pipeline, len(first))
    cluster.move_primaries_to(pipeline.es, indices, node)
    primaries = cluster.primaries_on(pipeline.es, indices)[node]
    with cluster.IndexWatch(pipeline) as watch:
        producer = pipeline.stream_pages(pages[WARM_UP_PAGES:], RATE)
        _wait_for_documents(pipeline, FAULT_AFTER)
        stopped_at = time.monotonic()
        cluster.stack("stop", node.removeprefix("cluster-"))
        time.sleep(max(0.0, ENGINE_NODE_DOWN_SECONDS - (time.monotonic() - stopped_at)))
        indexed_while_down = pipeline.count_documents()
        cluster.stack("start", node.removeprefix("cluster-"))
        restarted_at = time.monotonic()
        producer.join()
        _wait_for_documents(pipeline, len(pages))
        green = cluster.wait_until(
            lambda: pipeline.es.cluster.health(index=pipeline.settings.index_alias)["status"] == "green", 300,
            "the index's replicas assigned again")
    _check_and_report("engine-node-stop", pipeline, pages, node=node, primaries_on_it=primaries,
                      indexed_before_restart=indexed_while_down,
                      longest_indexing_stall=watch.longest_stall_after(stopped_at, len(pages)),
                      green_after_node_ready=green, restarted_after=restarted_at - stopped_at)
