"""Consumer lag of a stage's group, published as a gauge; same code for the faust stages and the indexer."""

from __future__ import annotations

import logging
import threading

from confluent_kafka import Consumer, TopicPartition

from workers.runtime.kafka import client_config
from workers.runtime.metrics import CONSUMER_LAG

log = logging.getLogger(__name__)


class LagMonitor(threading.Thread):
    """Polls committed offsets and high watermarks of `topic` for `group` every `interval` seconds."""

    def __init__(self, settings, stage: str, group: str, topic: str, interval: float = 5.0):
        super().__init__(name=f"lag-{stage}", daemon=True)
        self.stage, self.group, self.topic, self.interval = stage, group, topic, interval
        # A consumer that never subscribes does not join the group; it only reads the group's offsets.
        self._consumer = Consumer(client_config(settings, **{"group.id": group, "enable.auto.commit": False}))
        self._stopped = threading.Event()

    def measure(self) -> dict[int, int]:
        metadata = self._consumer.list_topics(self.topic, timeout=10)
        partitions = [TopicPartition(self.topic, p) for p in metadata.topics[self.topic].partitions]
        lags = {}
        for committed in self._consumer.committed(partitions, timeout=10):
            low, high = self._consumer.get_watermark_offsets(committed, timeout=10, cached=False)
            position = committed.offset if committed.offset >= 0 else low
            lags[committed.partition] = max(high - position, 0)
        return lags

    def run(self) -> None:
        while not self._stopped.wait(self.interval):
            try:
                for partition, lag in self.measure().items():
                    CONSUMER_LAG.labels(self.stage, self.topic, str(partition)).set(lag)
            except Exception as error:  # the broker may be restarting; lag is reported again once it answers
                log.warning("lag measurement failed: %s", error)

    def stop(self) -> None:
        self._stopped.set()
        self._consumer.close()
