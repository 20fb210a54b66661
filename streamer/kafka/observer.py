"""What the services report as they run, so that metrics observe the loop from outside it.

The loop, the batch order and recovery call these hooks at their events and
know nothing about Prometheus; ``streamer.metrics.Metrics`` implements them
(the metric names and what moves them are there, in one place). A hook is
called in the service's own thread, between batches or inside ``poll`` for
rebalances (``broker_checked`` alone from the broker check's thread); it must
not raise.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Protocol

from streamer.records import Result

# A partition as the hooks see it: (topic, partition), which a kafka TopicPartition is.
Partition = tuple[str, int]


class Observer(Protocol):
    def service_started(self, input_topic: str, stateless: bool) -> None:
        """Subscribed to ``input_topic``; a stateless role has no state to recover."""

    def partitions_assigned(self, partitions: Collection[Partition], stateless: bool) -> None:
        """The group gave this instance ``partitions`` (a stateful role recovers next)."""

    def partitions_revoked(
        self, partitions: Collection[Partition], event: str, still_assigned: int
    ) -> None:
        """``event`` is ``revoked`` or ``lost``; ``still_assigned`` partitions are kept."""

    def records_consumed(self, topic: str, records: int) -> None:
        """A poll returned ``records`` records of ``topic`` for this instance to handle."""

    def lag_measured(self, partition: Partition, lag: int) -> None:
        """Records between this instance's position in ``partition`` and its end."""

    def offsets_committed(self) -> None:
        """A batch's consumer offsets were committed."""

    def batch_committed(
        self, results: Sequence[Result | None], seconds: float, index_size: int
    ) -> None:
        """A deciding batch went through the whole batch order (None: a dropped replay)."""

    def record_prepared(self, seconds: float, is_article: bool) -> None:
        """``prepare`` made one envelope: an article, or (``is_article`` False) a dead letter."""

    def recovery_started(self) -> None:
        """The index is being rebuilt from the journal."""

    def recovery_finished(self, journal_records: int, seconds: float, index_size: int) -> None:
        """The index is back and every partition knows where it starts."""

    def standby_lag(self, records: int) -> None:
        """Journal records the index has not applied yet (0 while writing: it made them)."""

    def service_stopping(self) -> None:
        """The loop has ended; the clients are being closed."""

    def broker_checked(self, reachable: bool) -> None:
        """The periodic broker check (another thread) found the broker answering, or not."""

    def batch_started(self) -> None:
        """A polled batch is being handled (until ``batch_ended``: readiness watches how long)."""

    def batch_ended(self) -> None:
        """The batch in hand is done, committed or failed."""
