"""The Kafka clients the services use, and the two reads recovery needs.

Producers are idempotent with ``acks=all``: the batch order waits for every ack
before it moves on, so a send that is not acknowledged is never committed past.
Consumers never auto-commit: offsets are committed by the batch order only.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

from kafka import KafkaConsumer, KafkaProducer
from kafka.admin import KafkaAdminClient, NewTopic
from kafka.errors import KafkaConnectionError, KafkaError, TopicAlreadyExistsError
from kafka.structs import TopicPartition

from streamer.config import Settings

log = logging.getLogger(__name__)


def make_producer(settings: Settings) -> KafkaProducer:
    k = settings.kafka
    return KafkaProducer(
        **k.client_kwargs(),
        acks="all",
        linger_ms=k.producer_linger_ms,
        batch_size=k.producer_batch_size,
        max_request_size=k.producer_max_request_size,
        compression_type=k.compression_type,
        enable_idempotence=True,
    )


def make_consumer(settings: Settings, group_id: str | None, **extra: Any) -> KafkaConsumer:
    k = settings.kafka
    kwargs: dict[str, Any] = {
        **k.client_kwargs(),
        "group_id": group_id,
        "enable_auto_commit": False,
        "auto_offset_reset": k.auto_offset_reset,
        "fetch_max_bytes": k.fetch_max_bytes,
        "max_partition_fetch_bytes": k.max_partition_fetch_bytes,
        "max_poll_records": k.max_poll_records,
    }
    if group_id is not None:
        kwargs.update(
            session_timeout_ms=k.session_timeout_ms,
            heartbeat_interval_ms=k.heartbeat_interval_ms,
            max_poll_interval_ms=k.max_poll_interval_ms,
        )
    kwargs.update(extra)
    return KafkaConsumer(**kwargs)


def any_reachable(bootstrap_servers: str, timeout_s: float = 1.0) -> bool:
    """Whether some bootstrap server accepts a TCP connection: a probe that never blocks long."""
    for server in bootstrap_servers.split(","):
        host, _, port = server.strip().rpartition(":")
        try:
            with socket.create_connection((host.strip("[]") or "localhost", int(port)), timeout_s):
                return True
        except (OSError, ValueError):
            continue
    return False


def ensure_topics(
    settings: Settings, timeout_s: float = 30.0, stop: threading.Event | None = None
) -> bool:
    """Create missing topics; the journal is compacted and, like news.prepared, has one partition.

    One journal partition keeps every index change in one order, which is what
    the single writer of an index needs; news.prepared has one partition so
    that one dedup instance sees every prepared article in one order. Returns
    False when ``stop`` was set while waiting for the broker.
    """
    if not settings.kafka.create_topics:
        return True
    t = settings.topics
    k = settings.kafka
    wanted = {
        t.raw: (k.topic_partitions, {}),
        t.clean: (k.topic_partitions, {}),
        t.duplicates: (k.topic_partitions, {}),
        t.deadletter: (1, {}),
        t.prepared: (1, {}),
        t.journal: (1, {"cleanup.policy": "compact"}),
    }
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            # A plain TCP probe first: the admin client's own bootstrap blocks with
            # growing backoff and would not let SIGTERM through while Kafka is down.
            if not any_reachable(k.bootstrap_servers):
                raise KafkaConnectionError("no bootstrap server accepts connections")
            admin = KafkaAdminClient(**k.client_kwargs())
            break
        except KafkaError as exc:
            if time.monotonic() > deadline:
                raise RuntimeError(f"cannot reach Kafka at {k.bootstrap_servers}: {exc}") from exc
            log.warning("waiting for Kafka", extra={"bootstrap": k.bootstrap_servers})
            if stop is not None and stop.wait(1):
                return False
    try:
        existing = set(admin.list_topics())
        new = [
            NewTopic(name, parts, k.replication_factor, topic_configs=cfg)
            for name, (parts, cfg) in wanted.items()
            if name not in existing
        ]
        if new:
            with contextlib.suppress(TopicAlreadyExistsError):
                admin.create_topics(new)
            log.info("topics created", extra={"topics": [n.name for n in new]})
        # Metadata propagates asynchronously; wait until every topic is visible.
        while not set(wanted) <= set(admin.list_topics()):
            if time.monotonic() > deadline:
                raise RuntimeError("topics did not appear in metadata in time")
            time.sleep(0.2)
    finally:
        admin.close()
    return True


def end_offsets(
    consumer: KafkaConsumer, tps: list[TopicPartition], timeout_s: float = 30.0
) -> dict[TopicPartition, int]:
    """The true end of each partition, from the high watermark of a fetch.

    Not ``consumer.end_offsets``: the embedded broker answers ListOffsets with
    the base offset of the last record batch plus one, which is short of the end
    whenever a batch holds more than one record (measured: 8 records in two
    batches of 3 and 5 gave 4). A fetch response's high watermark is right on
    every broker we tried, so we fetch once from the listed end and take that.
    """
    if not tps:
        return {}
    listed = consumer.end_offsets(tps)
    consumer.assign(tps)
    for tp in tps:
        consumer.seek(tp, listed[tp])
    deadline = time.monotonic() + timeout_s
    while True:
        consumer.poll(timeout_ms=200)
        marks = {tp: consumer.highwater(tp) for tp in tps}
        if all(m is not None for m in marks.values()):
            return {tp: max(int(m), listed[tp]) for tp, m in marks.items() if m is not None}
        if time.monotonic() > deadline:
            raise RuntimeError(
                f"no fetch response for {[tp for tp, m in marks.items() if m is None]}"
            )


def read_to_end(
    consumer: KafkaConsumer,
    starts: dict[TopicPartition, int],
    on_progress: Callable[[int], None] | None = None,
    ends: dict[TopicPartition, int] | None = None,
) -> Iterator[Any]:
    """Every record of ``starts`` partitions from the given offsets to their end, once.

    The end is fixed when the read begins, so a topic that keeps growing does
    not make recovery chase it forever.
    """
    if not starts:
        return
    tps = list(starts)
    if ends is None:
        ends = end_offsets(consumer, tps)
    consumer.assign(tps)
    pending = {}
    for tp, start in starts.items():
        if start < ends[tp]:
            consumer.seek(tp, start)
            pending[tp] = ends[tp]
    if not pending:
        return
    consumer.pause(*[tp for tp in tps if tp not in pending])
    seen = 0
    idle_since = time.monotonic()
    while pending:
        batch = consumer.poll(timeout_ms=500, max_records=5000)
        if not batch:
            if time.monotonic() - idle_since > 60:
                raise RuntimeError(f"reading {list(pending)} to end stalled")
            continue
        idle_since = time.monotonic()
        for tp, records in batch.items():
            end = pending.get(tp)
            if end is None:
                continue
            for rec in records:
                if rec.offset >= end:
                    break
                yield rec
                seen += 1
            if consumer.position(tp) >= end:
                pending.pop(tp, None)
                consumer.pause(tp)
        if on_progress is not None:
            on_progress(seen)
