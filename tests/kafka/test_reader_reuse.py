"""A reader reused across recoveries must see each partition's end as it is now.

``read_to_end`` pauses what it has read, and kafka-python keeps a partition's
state (paused, its last high watermark) when it is assigned again: a second
recovery on the same reader then took an old end for the true one, or waited
for a fetch that never came. Real broker, real socket.
"""

from __future__ import annotations

import pytest
from kafka.structs import TopicPartition

from streamer.config import Settings
from streamer.kafka.clients import (
    end_offsets,
    ensure_topics,
    make_consumer,
    make_producer,
    read_to_end,
)
from tests.conftest import make_settings

pytestmark = [pytest.mark.kafka]


def _send(settings: Settings, partition: int, n: int) -> None:
    producer = make_producer(settings)
    try:
        for i in range(n):
            producer.send(settings.topics.clean, value=b"x%d" % i, partition=partition)
        producer.flush()
    finally:
        producer.close()


def test_a_reused_reader_sees_the_ends_as_they_are_now(bootstrap: str) -> None:
    settings = make_settings(bootstrap, partitions=2)
    ensure_topics(settings)
    p0, p1 = (TopicPartition(settings.topics.clean, p) for p in (0, 1))
    _send(settings, 0, 3)
    reader = make_consumer(settings, None, fetch_max_wait_ms=50)
    try:
        # The first recovery: p0 read to its end (then paused), p1 empty (paused at once).
        assert [(r.partition, r.offset) for r in read_to_end(reader, {p0: 0, p1: 0})] == [
            (0, 0),
            (0, 1),
            (0, 2),
        ]
        _send(settings, 0, 5)
        _send(settings, 1, 2)
        # The next recovery on the same reader.
        assert end_offsets(reader, [p0, p1], timeout_s=10) == {p0: 8, p1: 2}
        read = sorted((r.partition, r.offset) for r in read_to_end(reader, {p0: 3, p1: 0}))
        assert read == [(0, 3), (0, 4), (0, 5), (0, 6), (0, 7), (1, 0), (1, 1)]
    finally:
        reader.close()
