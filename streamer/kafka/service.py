"""The one consumer loop every role runs: poll, hand the batch to the role, repeat.

What the roles share lives here once: topic setup, the group subscription with
its one rebalance listener, the stop event (SIGTERM finishes the batch in
hand), ``--exit-when-idle``, lag, and closing the clients. A role subclasses
``ConsumerService`` and fills in what differs: what a batch is turned into
(``process_batch``), what must happen after an assignment before any input
(``catch_up``: recovery, for the deciding roles), and how far it has got in
each partition (``position``).
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from kafka import ConsumerRebalanceListener, KafkaConsumer, KafkaProducer
from kafka.structs import TopicPartition

from streamer.config import Settings
from streamer.kafka.clients import ensure_topics, make_consumer, make_producer
from streamer.kafka.lease import Lease
from streamer.kafka.observer import Observer

log = logging.getLogger(__name__)


class _Listener(ConsumerRebalanceListener):
    """Rebalance callbacks run inside ``poll``, so no batch is ever in flight here."""

    def __init__(self, service: ConsumerService) -> None:
        self.service = service

    def on_partitions_revoked(self, revoked: list[TopicPartition]) -> None:
        self.service.partitions_revoked(set(revoked), lost=False)

    def on_partitions_lost(self, lost: list[TopicPartition]) -> None:
        self.service.partitions_revoked(set(lost), lost=True)

    def on_partitions_assigned(self, assigned: list[TopicPartition]) -> None:
        self.service.partitions_assigned(set(assigned))


class ConsumerService:
    """A consumer-group member that turns polled batches of ``input_topic`` into effects.

    ``stateless`` roles are ready as soon as they hold partitions; the others
    only once ``catch_up`` has run after the assignment.
    """

    role: str
    input_topic: str
    stateless: bool = False

    def __init__(
        self,
        settings: Settings,
        observer: Observer,
        stop: threading.Event,
        exit_when_idle: float | None = None,
    ) -> None:
        self.settings = settings
        self.observer = observer
        self.stop = stop
        self.exit_when_idle = exit_when_idle
        self.assigned: set[TopicPartition] = set()
        self.batches = 0
        self.producer: KafkaProducer | None = None
        self.consumer: KafkaConsumer | None = None
        # The batch in hand: the membership it was polled under, and the next poll's size.
        self.lease: Lease | None = None
        self.poll_records = settings.kafka.max_poll_records

    # -- what a role fills in -------------------------------------------------------------------

    def open(self, producer: KafkaProducer, consumer: KafkaConsumer) -> None:
        """The clients exist; set up what the role builds on them."""

    def process_batch(self, records: list[Any]) -> None:
        """Handle one non-empty batch of records of assigned partitions, committing it."""
        raise NotImplementedError

    def catch_up(self) -> bool:
        """Run what an assignment requires before any input; True if it ran (the polled
        records are then dropped: the role has sought each partition to where it starts)."""
        return False

    def position(self, tp: TopicPartition) -> int | None:
        """The next offset this instance will handle in ``tp``; None while unknown."""
        return None

    def on_assigned(self, assigned: set[TopicPartition]) -> None:
        """Called inside ``poll`` after ``assigned`` is recorded."""

    def on_revoked(self, revoked: set[TopicPartition]) -> None:
        """Called inside ``poll`` after ``revoked`` is forgotten."""

    def close_role(self) -> None:
        """Release what ``open`` set up; the consumer is closed already, the producer next."""

    # -- the loop -------------------------------------------------------------------------------

    def run(self) -> int:
        if not ensure_topics(self.settings, stop=self.stop):
            log.info("service stopped before Kafka was reachable", extra={"role": self.role})
            return 0
        self.producer = make_producer(self.settings)
        self.consumer = make_consumer(self.settings, self.settings.kafka.group_id)
        self.open(self.producer, self.consumer)
        self.consumer.subscribe([self.input_topic], listener=_Listener(self))
        self.observer.service_started(self.input_topic, self.stateless)
        log.info(
            "service started",
            extra={
                "role": self.role,
                "input": self.input_topic,
                "group": self.settings.kafka.group_id,
            },
        )
        try:
            self.loop(self.consumer)
        finally:
            self.close()
        return 0

    def loop(self, consumer: KafkaConsumer) -> None:
        k = self.settings.kafka
        last_data = time.monotonic()
        while not self.stop.is_set():
            polled_at = time.monotonic()
            batch = consumer.poll(timeout_ms=k.poll_timeout_ms, max_records=self.poll_records)
            self.lease = Lease.taken(consumer, k, polled_at)
            if self.catch_up():
                last_data = time.monotonic()
                continue
            records = [rec for tp, recs in batch.items() if tp in self.assigned for rec in recs]
            if records:
                self.report_consumed(records)
                self.process_batch(records)
                self.batches += 1
                last_data = time.monotonic()
            elif self.idle_expired(last_data):
                log.info("idle, exiting", extra={"idle_s": self.exit_when_idle})
                break
            self.update_lag(consumer)

    def batch_overran(self) -> None:
        """The batch outlived its lease: poll half as many records until a batch fits."""
        self.poll_records = max(1, self.poll_records // 2)

    def batch_fit(self) -> None:
        self.poll_records = min(self.settings.kafka.max_poll_records, self.poll_records * 2)

    def idle_expired(self, last_data: float) -> bool:
        """``--exit-when-idle``: partitions held and nothing arrived for that long."""
        return (
            self.exit_when_idle is not None
            and bool(self.assigned)
            and time.monotonic() - last_data >= self.exit_when_idle
        )

    def report_consumed(self, records: list[Any]) -> None:
        counts: dict[str, int] = {}
        for rec in records:
            counts[rec.topic] = counts.get(rec.topic, 0) + 1
        for topic, n in counts.items():
            self.observer.records_consumed(topic, n)

    def update_lag(self, consumer: KafkaConsumer) -> None:
        for tp in self.assigned:
            hw = consumer.highwater(tp)
            pos = self.position(tp)
            if hw is not None and pos is not None:
                self.observer.lag_measured(tp, max(hw - pos, 0))

    # -- rebalances (inside poll) -----------------------------------------------------------------

    def partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        self.assigned = set(assigned)
        self.observer.partitions_assigned(assigned, self.stateless)
        self.on_assigned(assigned)
        log.info("partitions assigned", extra={"partitions": sorted(map(str, assigned))})

    def partitions_revoked(self, revoked: set[TopicPartition], lost: bool) -> None:
        event = "lost" if lost else "revoked"
        self.assigned -= revoked
        self.on_revoked(revoked)
        self.observer.partitions_revoked(revoked, event, len(self.assigned))
        log.info(f"partitions {event}", extra={"partitions": sorted(map(str, revoked))})

    # -- shutdown ---------------------------------------------------------------------------------

    def close(self) -> None:
        self.observer.service_stopping()
        if self.consumer is not None:
            try:
                self.consumer.close()
            except Exception:
                log.warning("error closing consumer", exc_info=True)
        self.close_role()
        if self.producer is not None:
            self.producer.close(timeout=10)
        log.info("service stopped", extra={"role": self.role, "batches": self.batches})
