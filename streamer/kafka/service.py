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
from kafka.coordinator.assignors.range import RangePartitionAssignor
from kafka.coordinator.assignors.sticky.sticky_assignor import StickyPartitionAssignor
from kafka.structs import TopicPartition

from streamer.config import Settings
from streamer.kafka.clients import ensure_topics, make_consumer, make_producer, rewind, role_topics
from streamer.kafka.lease import Lease
from streamer.kafka.observer import Observer
from streamer.kafka.probe import start_broker_checks
from streamer.kafka.reset import (
    PRODUCER_STATE_LOST,
    BrokerReset,
    EndWatch,
    journal_watch,
    records_went_back,
)
from streamer.stopping import Interrupted, stage

log = logging.getLogger(__name__)

# Starting over after a reset is what a restart would do; a broker that keeps
# losing everything before a single batch gets through is a fault to exit on.
MAX_RESETS_IN_A_ROW = 5
# Leaving the group and flushing may wait on a broker that does not answer; both
# together stay well inside ``shutdown_timeout_s``.
CLOSE_TIMEOUT_MS = 5_000


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

    A little over 300 lines, on purpose: the loop's whole life (start, poll, rebalance,
    reset, close) is the thing to read when a fault is in question, and the roles plug in
    through the few methods at the top; the broker checks and rewinds live in ``clients``,
    ``reset`` and ``probe``.
    """

    role: str
    input_topic: str
    stateless: bool = False
    # A stateful role's partitions stay with their owner when a member joins or leaves
    # (KIP-54 sticky assignment; range too, for a group still on it during an upgrade).
    sticky: bool = False

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
        self.started = False
        self.end_watch: EndWatch | None = None

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

    def poll_timeout_ms(self) -> int:
        """How long the group poll may wait for input."""
        return self.settings.kafka.poll_timeout_ms

    def between_polls(self) -> None:
        """Called after each group poll with nothing left to handle (a standby's own work)."""

    def on_assigned(self, assigned: set[TopicPartition]) -> None:
        """Called inside ``poll`` after ``assigned`` is recorded."""

    def on_revoked(self, revoked: set[TopicPartition]) -> None:
        """Called inside ``poll`` after ``revoked`` is forgotten."""

    def close_role(self) -> None:
        """Release what ``open`` set up; the consumer is closed already, the producer next."""

    # -- the loop -------------------------------------------------------------------------------

    def run(self) -> int:
        """Start, loop, close; after a broker reset, start again with new clients.

        SIGTERM is honoured at every stage: ``start`` and recovery are
        interruptible (``streamer.stopping``), the loop stops between batches,
        and the watchdog of ``Stop`` bounds whatever is left.
        """
        # /readyz follows the broker as it is now, not as it was at start.
        checks = start_broker_checks(self.settings, self.observer.broker_checked)
        try:
            self.run_until_stopped()
        except Interrupted as exc:
            self.close(interrupted=exc.stage)
            return 0
        except BaseException:
            self.close()
            raise
        finally:
            checks.stop()
        self.close()
        return 0

    def run_until_stopped(self) -> None:
        if not self.start():
            log.info("service stopped before Kafka was reachable", extra={"role": self.role})
            return
        resets_in_a_row = 0
        while True:
            batches = self.batches
            try:
                with stage(self.stop, "loop"):
                    self.loop_watching_for_resets()
                return
            except BrokerReset as reset:
                resets_in_a_row = 1 if self.batches > batches else resets_in_a_row + 1
                if not self.recover_from(reset, resets_in_a_row):
                    return

    def start(self) -> bool:
        """The broker, the topics and the clients; False when stopped while waiting for Kafka."""
        with stage(self.stop, "topic admin", interruptible=True):
            if not ensure_topics(self.settings, stop=self.stop, needed=role_topics(self.settings)):
                return False
        with stage(self.stop, "client start", interruptible=True):
            self.producer = make_producer(self.settings)
            extra = (
                {"partition_assignment_strategy": (StickyPartitionAssignor, RangePartitionAssignor)}
                if self.sticky
                else {}
            )
            self.consumer = make_consumer(self.settings, self.settings.kafka.group_id, **extra)
            self.open(self.producer, self.consumer)
            self.consumer.subscribe([self.input_topic], listener=_Listener(self))
        self.started = True
        self.assigned = set()
        self.end_watch = journal_watch(self.settings, self.consumer, self.stateless)
        self.observer.service_started(self.input_topic, self.stateless)
        log.info(
            "service started",
            extra={
                "role": self.role,
                "input": self.input_topic,
                "group": self.settings.kafka.group_id,
            },
        )
        return True

    def loop(self, consumer: KafkaConsumer) -> None:
        k = self.settings.kafka
        last_data = time.monotonic()
        while not self.stop.is_set():
            polled_at = time.monotonic()
            batch = consumer.poll(timeout_ms=self.poll_timeout_ms(), max_records=self.poll_records)
            self.lease = Lease.taken(consumer, k, polled_at)
            if self.stop.is_set():
                break
            with stage(self.stop, "recovery", interruptible=True):
                caught_up = self.catch_up()
            if caught_up:
                last_data = time.monotonic()
                continue
            records = [rec for tp, recs in batch.items() if tp in self.assigned for rec in recs]
            if records:
                self.check_positions(records)
                self.report_consumed(records)
                self.handle_batch(records)
                self.batches += 1
                last_data = time.monotonic()
            elif self.idle_expired(last_data):
                log.info("idle, exiting", extra={"idle_s": self.exit_when_idle})
                break
            self.update_lag(consumer)
            self.between_polls()
            self.check_ends()

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

    def close(self, interrupted: str | None = None) -> None:
        """Leave the group and release everything; says so once the service had started."""
        with stage(self.stop, "shutdown"):
            self.observer.service_stopping()
            self.close_clients()
            self.close_role()
        if self.started or interrupted is not None:
            extra: dict[str, Any] = {"role": self.role, "batches": self.batches}
            if interrupted is not None:
                extra["interrupted"] = interrupted
            log.info("service stopped", extra=extra)

    def close_clients(self) -> None:
        if self.consumer is not None:
            try:
                self.consumer.close(timeout_ms=CLOSE_TIMEOUT_MS)
            except Exception:
                log.warning("error closing consumer", exc_info=True)
            self.consumer = None
        if self.producer is not None:
            try:
                self.producer.close(timeout=CLOSE_TIMEOUT_MS / 1000)
            except Exception:
                log.warning("error closing producer", exc_info=True)
            self.producer = None

    # -- faults that end in a clear state (streamer.kafka.reset, streamer.kafka.probe) -----------

    def handle_batch(self, records: list[Any]) -> None:
        """``process_batch``, timed by readiness: a batch that does not end is not ready."""
        self.observer.batch_started()
        try:
            self.process_batch(records)
        finally:
            self.observer.batch_ended()

    def check_positions(self, records: list[Any]) -> None:
        """Before any record is handled: the consumer must not have gone back on its own."""
        detected = records_went_back(records, self.position)
        if detected is not None:
            raise BrokerReset(detected)

    def check_ends(self) -> None:
        """Every ``reset_check_interval_ms``; read-only, so a signal may cut it short."""
        if self.end_watch is not None and self.end_watch.due():
            with stage(self.stop, "reset check", interruptible=True):
                detected = self.end_watch.check()
            if detected is not None:
                raise BrokerReset(detected)

    def loop_watching_for_resets(self) -> None:
        """The loop; an error in it is held against the evidence of a reset before it is fatal."""
        assert self.consumer is not None
        try:
            self.loop(self.consumer)
        except (BrokerReset, Interrupted):
            raise
        except Exception as exc:
            detected = self.end_watch.check() if self.end_watch is not None else None
            if isinstance(exc, PRODUCER_STATE_LOST):
                detected = {**(detected or {}), "producer_id": "unknown to the broker"}
            if detected is None:
                raise
            raise BrokerReset({**detected, "error": f"{type(exc).__name__}: {exc}"}) from exc

    def recover_from(self, reset: BrokerReset, resets_in_a_row: int) -> bool:
        """Say what was found, then go on as a restarted process would, in this one.

        1. the topics again (``ensure_topics``: created with their settings if gone);
        2. a new producer (the broker no longer knows the old one's id) and, through
           ``open``, everything the role built on the clients;
        3. the held partitions treated as revoked and assigned again: a deciding
           role recovers before its next batch (an empty journal: a fresh index,
           starts by ``auto_offset_reset``), and each partition is sought back to its
           committed offset so the batch dropped on detection is not skipped.

        The group consumer is kept: it rejoins the broker's new group by itself,
        and a consumer closed in the middle of that join has been seen to leave
        the embedded broker's group with a leader that never answers.
        Returns False when stopped while waiting for the broker.
        """
        what = (
            "journal and offsets gone: the broker was reset"
            if reset.lost
            else ("the broker no longer knows this producer: producer re-created")
        )
        (log.error if reset.lost else log.warning)(
            what, extra={"detected": reset.detected, "role": self.role}
        )
        if resets_in_a_row > MAX_RESETS_IN_A_ROW:
            raise RuntimeError(
                f"the broker was reset {resets_in_a_row} times with no batch in between"
            ) from reset
        with stage(self.stop, "topic admin", interruptible=True):
            if not ensure_topics(self.settings, stop=self.stop, needed=role_topics(self.settings)):
                return False
        assert self.consumer is not None
        with stage(self.stop, "client start", interruptible=True):
            if self.producer is not None:
                self.producer.close(timeout=CLOSE_TIMEOUT_MS / 1000)
            self.producer = make_producer(self.settings)
            self.open(self.producer, self.consumer)
        held = set(self.assigned)
        self.on_revoked(held)
        self.on_assigned(held)
        self.observer.partitions_assigned(held, self.stateless)  # not ready until recovered
        rewind(self.consumer, held, self.settings)
        self.end_watch = journal_watch(self.settings, self.consumer, self.stateless)
        return True
