"""The Kafka clients the services use, and the two reads recovery needs.

Producers are idempotent with ``acks=all``: the batch order waits for every ack
before it moves on, so a send that is not acknowledged is never committed past.
Consumers never auto-commit: offsets are committed by the batch order only.
Neither creates a topic as a side effect of asking for it (``allow_auto_create_topics``):
a broker reset would otherwise bring the journal back with the broker's defaults
(not compacted, several partitions) before the service could notice it was gone.
Topics are created by ``ensure_topics``, with their settings, or by the operator.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

from kafka import KafkaConsumer, KafkaProducer
from kafka.admin import KafkaAdminClient, NewTopic
from kafka.errors import KafkaError, TopicAlreadyExistsError
from kafka.structs import TopicPartition

from streamer.config import Settings
from streamer.kafka.probe import BrokerProblem, BrokerUnreachable, check_broker

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
        allow_auto_create_topics=False,
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
        "allow_auto_create_topics": False,
    }
    if group_id is not None:
        kwargs.update(
            session_timeout_ms=k.session_timeout_ms,
            heartbeat_interval_ms=k.heartbeat_interval_ms,
            max_poll_interval_ms=k.max_poll_interval_ms,
        )
    kwargs.update(extra)
    return KafkaConsumer(**kwargs)


class TopicsMissing(Exception):
    """Topics the role needs are missing and ``kafka.create_topics`` is false: for the operator."""

    def __init__(self, topics: list[str]) -> None:
        super().__init__(f"topics missing: {', '.join(topics)}")
        self.topics = topics


def wanted_topics(settings: Settings) -> dict[str, tuple[int, dict[str, str]]]:
    """Every topic of the service, with the partitions and config it is created with.

    One journal partition keeps every index change in one order, which is what
    the single writer of an index needs; news.prepared has one partition so
    that one dedup instance sees every prepared article in one order.
    """
    t = settings.topics
    parts = settings.kafka.topic_partitions
    return {
        t.raw: (parts, {}),
        t.clean: (parts, {}),
        t.duplicates: (parts, {}),
        t.deadletter: (1, {}),
        t.prepared: (1, {}),
        t.journal: (1, {"cleanup.policy": "compact"}),
    }


def role_topics(settings: Settings) -> list[str]:
    """The topics a role reads or writes: what must exist before it starts."""
    t = settings.topics
    if settings.role == "prepare":
        return [t.raw, t.prepared]
    first = t.prepared if settings.role == "dedup" else t.raw
    return [first, t.clean, t.duplicates, t.deadletter, t.journal]


def wait_for_broker(
    settings: Settings, timeout_s: float = 30.0, stop: threading.Event | None = None
) -> bool:
    """Wait until a bootstrap server takes our settings (``probe.check_broker``).

    A broker that refuses them (TLS, SASL) raises ``BrokerRefused`` at once; one
    that is not there is retried every second until ``timeout_s``, then
    ``BrokerUnreachable``. False when ``stop`` was set while waiting.
    """
    k = settings.kafka
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            check_broker(k, k.probe_timeout_ms / 1000)
            return True
        except BrokerUnreachable:
            if time.monotonic() > deadline:
                raise
            log.warning("waiting for Kafka", extra={"bootstrap": k.bootstrap_servers})
            if stop is not None and stop.wait(1):
                return False


def make_admin(settings: Settings) -> KafkaAdminClient:
    k = settings.kafka
    return KafkaAdminClient(**k.client_kwargs(), bootstrap_timeout_ms=k.request_timeout_ms)


def ensure_topics(
    settings: Settings,
    timeout_s: float = 30.0,
    stop: threading.Event | None = None,
    needed: list[str] | None = None,
) -> bool:
    """Create missing topics (``wanted_topics``), or with ``create_topics`` false check them.

    ``needed`` (all topics by default) are the ones that must exist; when one
    is missing and may not be created, ``TopicsMissing`` names them. Returns
    False when ``stop`` was set while waiting for the broker.
    """
    if not wait_for_broker(settings, timeout_s, stop):
        return False
    k = settings.kafka
    wanted = wanted_topics(settings)
    needed = list(wanted) if needed is None else needed
    deadline = time.monotonic() + timeout_s
    admin = make_admin(settings)
    try:
        existing = set(admin.list_topics())
        if not k.create_topics:
            missing = [name for name in needed if name not in existing]
            if missing:
                raise TopicsMissing(missing)
            return True
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


def missing_topics(
    settings: Settings, topics: list[str], timeout_s: float | None = None
) -> list[str] | None:
    """Which of ``topics`` the broker does not have; None when it cannot be told now."""
    k = settings.kafka
    try:
        check_broker(k, k.probe_timeout_ms / 1000 if timeout_s is None else timeout_s)
        admin = make_admin(settings)
    except (BrokerProblem, KafkaError):
        return None
    try:
        existing = set(admin.list_topics())
    except KafkaError:
        return None
    finally:
        admin.close()
    return [t for t in topics if t not in existing]


def assign_fresh(consumer: KafkaConsumer, tps: list[TopicPartition]) -> None:
    """Assign ``tps`` by hand with no state left from an earlier read.

    ``assign`` keeps a partition's state when it was assigned before: paused
    stays paused (``read_to_end`` pauses what it has read), and the high
    watermark stays the one of the last fetch. A reader reused by a later
    recovery would then never fetch a paused partition, or take an old high
    watermark for its end and miss what was published since (seen: a second
    recovery after a rebalance waited 30 s for a partition the first one had
    paused). Clearing the assignment first gives every partition a new state.
    """
    consumer.unsubscribe()
    consumer.assign(tps)


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
    assign_fresh(consumer, tps)
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
    assign_fresh(consumer, tps)
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


def rewind(consumer: KafkaConsumer, partitions: set[TopicPartition], settings: Settings) -> None:
    """Each partition back to its committed offset, or where ``auto_offset_reset`` says."""
    for tp in sorted(partitions, key=str):
        try:
            committed = consumer.committed(tp, timeout_ms=settings.kafka.request_timeout_ms)
            if committed is not None:
                consumer.seek(tp, committed)
            elif settings.kafka.auto_offset_reset == "earliest":
                consumer.seek_to_beginning(tp)
            else:
                consumer.seek_to_end(tp)
        except Exception as exc:
            # Not held any more (a rebalance is under way): the next assignment decides.
            log.warning("rewind skipped", extra={"partition": str(tp), "error": str(exc)})
