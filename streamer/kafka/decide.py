"""The ``all`` and ``dedup`` roles: the single ordered writer of an index.

Both run the same loop, batch order and recovery; they differ only in their
stage (the whole pipeline over ``news.raw``, or the decision over
``news.prepared``). After every assignment, before any of its input, the
index is brought to the journal's end (``streamer.kafka.recovery``); each batch
then goes through the batch order (``streamer.kafka.commit``). An instance
that holds no partition stands by warm: it tails the journal into its index
(``streamer.kafka.standby``), so that a take-over reads only what it had not.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from kafka import KafkaConsumer, KafkaProducer
from kafka.structs import TopicPartition

from streamer.config import Settings
from streamer.faults import Faults
from streamer.kafka.clients import make_consumer
from streamer.kafka.commit import BatchOrder, BatchState
from streamer.kafka.lease import MembershipLost
from streamer.kafka.observer import Observer
from streamer.kafka.recovery import Recovery
from streamer.kafka.service import ConsumerService
from streamer.kafka.stages import AllStage, DedupStage, Stage
from streamer.kafka.standby import JournalTail

log = logging.getLogger(__name__)


class DecideService(ConsumerService):
    """Decides every input once, in partition order, against an index recovered on assignment."""

    sticky = True

    def __init__(
        self,
        settings: Settings,
        observer: Observer,
        stop: threading.Event,
        exit_when_idle: float | None = None,
        faults: Faults | None = None,
    ) -> None:
        super().__init__(settings, observer, stop, exit_when_idle)
        self.faults = faults or Faults()
        self.role = settings.role
        self.stage: Stage
        if self.role == "dedup":
            self.stage = DedupStage(settings)
            self.input_topic = settings.topics.prepared
        else:
            self.stage = AllStage(settings, self.faults)
            self.input_topic = settings.topics.raw
        self.state = BatchState()
        self.needs_recovery = False
        self.reader: KafkaConsumer | None = None
        self.order: BatchOrder | None = None
        self.recovery: Recovery | None = None
        self.tail: JournalTail | None = None
        self.tail_consumer: KafkaConsumer | None = None

    def open(self, producer: KafkaProducer, consumer: KafkaConsumer) -> None:
        if self.tail is not None:
            self.tail.stop_following()
        for old in (self.reader, self.tail_consumer):
            if old is not None:  # opened again after a broker reset: new clients throughout
                old.close()
        # The reader only serves recovery; a short fetch wait keeps empty reads quick.
        self.reader = make_consumer(self.settings, None, fetch_max_wait_ms=50)
        # The tail follows the journal as it is written (a fresh index: a new broker's journal).
        self.tail_consumer = make_consumer(self.settings, None, fetch_max_wait_ms=100)
        self.tail = JournalTail(
            self.tail_consumer,
            self.settings.topics.journal,
            self.stage,
            self.faults.settings.standby_throttle_per_s,
        )
        self.order = BatchOrder(
            producer, consumer, self.settings.topics, self.faults, self.observer
        )
        self.recovery = Recovery(self.settings, self.reader, consumer, self.order.journal)

    def on_assigned(self, assigned: set[TopicPartition]) -> None:
        self.needs_recovery = bool(assigned)
        if assigned and self.tail is not None:
            self.tail.stop_following()  # the index is the loop's again

    def on_revoked(self, revoked: set[TopicPartition]) -> None:
        for tp in revoked:
            self.state.next_offsets.pop(tp, None)

    def position(self, tp: TopicPartition) -> int | None:
        return self.state.next_offsets.get(tp)

    def standing_by(self) -> bool:
        return not self.assigned and self.tail is not None

    def between_polls(self) -> None:
        """Standing by: the journal is tailed into the index (its lag exported) until assigned."""
        if self.standing_by():
            assert self.tail is not None
            self.tail.follow(self.observer.standby_lag)

    def catch_up(self) -> bool:
        """Recovery, once after each assignment, before any of its input.

        Records polled with the assignment may start before the checkpoint: the
        loop drops them, and every partition is sought to where it must start.
        """
        if not self.needs_recovery or not self.assigned:
            return False
        assert self.recovery is not None and self.consumer is not None, "runs inside run()"
        assert self.tail is not None and self.order is not None
        self.tail.stop_following()
        self.needs_recovery = False
        self.observer.recovery_started()
        recovered = self.recovery.run(self.assigned, self.tail)
        self.tail.writes_acked(self.order.journal.acked_offsets())
        self.observer.standby_lag(0)
        self.state = recovered.batch_state
        for tp in self.assigned:
            self.consumer.seek(tp, self.state.next_offsets[tp])
        self.observer.recovery_finished(
            recovered.journal_records, recovered.seconds, len(self.stage.index)
        )
        return True

    def process_batch(self, records: list[Any]) -> None:
        """The batch order over ``records``, or nothing of it past a lost membership.

        A batch given up leaves its decisions in the index and its positions in
        the state: both are recovered from the journal before anything else is
        decided, whoever owns the partitions by then.
        """
        assert self.order is not None
        started = time.monotonic()
        try:
            results = self.order.run(records, self.stage, self.state, self.assigned, self.lease)
        except MembershipLost as lost:
            self.needs_recovery = True
            assert self.tail is not None
            self.order.journal.acked_offsets()
            self.tail.invalidate("a batch was given up after its decisions")
            self.batch_overran()
            log.warning(
                "batch given up: membership lost",
                extra={"step": lost.step, "reason": lost.reason, "records": len(records)},
            )
            return
        self.batch_fit()
        if self.tail is not None:
            self.tail.writes_acked(self.order.journal.acked_offsets())
        self.observer.batch_committed(results, time.monotonic() - started, len(self.stage.index))
        log.info("batch committed", extra={"records": len(records)})

    def close_role(self) -> None:
        if self.tail is not None:
            self.tail.stop_following()
        for reader in (self.reader, self.tail_consumer):
            if reader is None:
                continue
            try:
                reader.close()
            except Exception:
                log.warning("error closing consumer", exc_info=True)
        self.stage.close()
