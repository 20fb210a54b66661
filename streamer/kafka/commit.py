"""One batch, in the order that makes its effect exactly once without transactions.

Kafka transactions are not used (the embedded broker accepts them but does
not isolate them); the order below gives the same effect on any broker:

1. decide every record;
2. produce every output, wait for the acks;
3. produce the journal: an entry per indexed article, a tombstone per evicted
   one, then a checkpoint per assigned partition; wait for the acks;
4. commit the consumer offsets.

A crash after (2) leaves one batch published but not journaled, which
recovery finds by scanning the outputs past the last checkpoint; a crash
after (3) leaves one batch journaled but not committed, which recovery skips
by starting at the checkpoint. Rebalance callbacks run inside ``poll``, never
between these steps, so a revocation never finds a batch half done.

A membership can still end inside a batch, on kafka-python's own thread. The
batch's ``Lease`` is checked before (2), (3) and (4): a batch that outlived
its membership is given up there (``MembershipLost``), and whoever owns the
partition now publishes it (after its recovery) instead of this instance.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from kafka import KafkaConsumer, KafkaProducer
from kafka.errors import KafkaError
from kafka.structs import OffsetAndMetadata, TopicPartition

from streamer.config import TopicSettings
from streamer.dedup import journal
from streamer.dedup.entry import IndexEntry
from streamer.faults import Faults
from streamer.kafka.lease import Lease
from streamer.kafka.observer import Observer
from streamer.kafka.stages import Stage
from streamer.models import Coordinates, Outcome
from streamer.records import Result, partition_key

log = logging.getLogger(__name__)


def output_topics(topics: TopicSettings) -> dict[Outcome, str]:
    """The output topic of each outcome."""
    return {
        Outcome.CLEAN: topics.clean,
        Outcome.DUPLICATE: topics.duplicates,
        Outcome.DEADLETTER: topics.deadletter,
    }


@dataclass
class BatchState:
    """Where the writer stands between batches: what its next checkpoint records.

    Recovery builds the first one; each batch advances it in the batch order.
    ``published_tail`` holds the outputs recovery found already published for
    inputs past the checkpoint; the batch that re-decides those inputs takes
    its outputs from there instead of producing them again.

    A checkpoint's output positions promise the next recovery that nothing
    unjournaled lies before them. Outputs still in ``published_tail`` are
    unjournaled, and may outlive the first batch after recovery (its poll can
    return fewer records than the tail holds, or another partition's), so
    ``checkpoint_outputs`` holds each position back to the first of them.
    """

    next_offsets: dict[TopicPartition, int] = field(default_factory=dict)
    output_positions: dict[str, int] = field(default_factory=dict)
    upstream: dict[str, int] = field(default_factory=dict)
    published_tail: dict[Coordinates, Coordinates] = field(default_factory=dict)

    def checkpoint_outputs(self) -> dict[str, int]:
        """The positions a checkpoint may record: past our outputs, not past the pending tail."""
        positions = dict(self.output_positions)
        for out in self.published_tail.values():
            key = partition_key(out.topic, out.partition)
            positions[key] = min(positions.get(key, out.offset), out.offset)
        return positions


class JournalWriter:
    """Sends to the journal's single partition; the caller waits for the acks it needs.

    Every send is remembered until ``acked_offsets`` takes it: the warm index
    (``streamer.kafka.standby``) moves its journal position past its own writes.
    """

    def __init__(self, producer: KafkaProducer, topic: str) -> None:
        self.producer = producer
        self.topic = topic
        self.sent: list[Any] = []

    def send(self, key: bytes, value: bytes | None) -> Any:
        fut = self.producer.send(self.topic, key=key, value=value, partition=0)
        self.sent.append(fut)
        return fut

    def acked_offsets(self) -> list[int]:
        """The journal offsets of the sends acknowledged since the last call (the rest dropped:
        a send that failed raised in ``wait_for_acks`` already)."""
        offsets = []
        for fut in self.sent:
            if fut.is_done and fut.succeeded():
                offsets.append(int(fut.value.offset))
        self.sent = []
        return offsets

    def entry(self, entry: IndexEntry, body: bytes | None, output: Coordinates | None) -> Any:
        """An indexed article: what recovery loads back into the index.

        ``body`` is the entry as the decision built (and size-checked) it, all but
        its output position (``journal.entry_body``).
        """
        if body is None:
            raise ValueError(f"article {entry.id!r} was indexed without its journal entry")
        key, value = journal.article_key(entry.id), journal.with_output(body, output)
        return self.send(key, value)

    def tombstone(self, article_id: str) -> Any:
        return self.send(journal.article_key(article_id), None)

    def checkpoints(self, tps: Iterable[TopicPartition], state: BatchState) -> list[Any]:
        """One checkpoint per partition: its next offset and the positions past our outputs."""
        now = datetime.now(UTC)
        futures = []
        for tp in tps:
            key, value = journal.encode_checkpoint(
                tp.topic,
                tp.partition,
                state.next_offsets[tp],
                state.checkpoint_outputs(),
                dict(state.upstream),
                now,
            )
            futures.append(self.send(key, value))
        return futures


def wait_for_acks(producer: KafkaProducer, futures: Iterable[Any]) -> None:
    """Flush, then raise if any send failed: nothing is committed past a lost write."""
    producer.flush()
    for fut in futures:
        fut.get(timeout=0)


class BatchOrder:
    """Runs one polled batch through the four steps of the module docstring."""

    def __init__(
        self,
        producer: KafkaProducer,
        consumer: KafkaConsumer,
        topics: TopicSettings,
        faults: Faults,
        observer: Observer,
    ) -> None:
        self.producer = producer
        self.consumer = consumer
        self.output_topic = output_topics(topics)
        self.journal = JournalWriter(producer, topics.journal)
        self.faults = faults
        self.observer = observer

    def run(
        self,
        records: list[Any],
        stage: Stage,
        state: BatchState,
        assigned: set[TopicPartition],
        lease: Lease | None = None,
    ) -> list[Result | None]:
        """One batch, decided, published, journaled and committed, in that order.

        1. Decide every record (``stage``; replays of decided inputs come back None).
        2. Produce every output that the published tail does not already hold; wait
           for the acks; note the output positions.
        3. Advance the next offsets; produce the journal entries, the tombstones and a
           checkpoint per assigned partition; wait for the acks.
        4. Commit the consumer offsets (a failure only warns: step 3 covers it).

        Before 2, 3 and 4 the ``lease`` is checked; ``MembershipLost`` leaves the
        batch there, and the index and ``state`` are then the caller's to recover.
        """
        # 1. decide
        results = stage.process(records, state.upstream)
        self.faults.stall(results)

        # 2. outputs, acknowledged
        self.check(lease, "produce")
        outputs = self.produce_outputs(results, state)
        self.faults.crash("after_outputs")

        # 3. journal, acknowledged
        self.check(lease, "journal")
        self.produce_journal(records, results, outputs, state, assigned)
        self.faults.crash("after_journal")

        # 4. commit
        self.check(lease, "commit")
        self.commit_offsets(state, assigned)
        self.faults.batch_done()
        self.faults.crash("after_commit")
        return results

    def check(self, lease: Lease | None, step: str) -> None:
        if lease is not None:
            lease.check(self.consumer, step)

    def produce_outputs(
        self, results: list[Result | None], state: BatchState
    ) -> dict[int, Coordinates]:
        """Step 2: where each result's output is, by its index in the batch."""
        sends = []
        outputs: dict[int, Coordinates] = {}
        for i, res in enumerate(results):
            if res is None:
                continue
            coords = res.source.coordinates()
            found = None if coords is None else state.published_tail.pop(coords, None)
            if found is not None:
                outputs[i] = found
                continue
            fut = self.producer.send(
                self.output_topic[res.outcome], key=res.key, value=res.value, headers=res.headers()
            )
            sends.append((i, fut))
        self.producer.flush()
        for i, fut in sends:
            md = fut.get(timeout=0)
            outputs[i] = Coordinates(topic=md.topic, partition=md.partition, offset=md.offset)
            key = partition_key(md.topic, md.partition)
            state.output_positions[key] = max(state.output_positions.get(key, 0), md.offset + 1)
        return outputs

    def produce_journal(
        self,
        records: list[Any],
        results: list[Result | None],
        outputs: dict[int, Coordinates],
        state: BatchState,
        assigned: set[TopicPartition],
    ) -> None:
        """Step 3: entries and tombstones in decision order, then the checkpoints."""
        sends = []
        for i, res in enumerate(results):
            if res is None:
                continue
            if res.entry is not None:
                sends.append(self.journal.entry(res.entry, res.journal, outputs.get(i)))
            sends.extend(self.journal.tombstone(article_id) for article_id in res.evicted)
        for rec in records:
            tp = TopicPartition(rec.topic, rec.partition)
            state.next_offsets[tp] = max(state.next_offsets.get(tp, 0), rec.offset + 1)
        sends.extend(self.journal.checkpoints(sorted(assigned, key=str), state))
        wait_for_acks(self.producer, sends)

    def commit_offsets(self, state: BatchState, assigned: set[TopicPartition]) -> None:
        """Step 4: the next offset of every assigned partition this writer knows."""
        offsets = {
            tp: OffsetAndMetadata(state.next_offsets[tp], "", -1)
            for tp in assigned
            if tp in state.next_offsets
        }
        try:
            self.consumer.commit(offsets)
            self.observer.offsets_committed()
        except KafkaError as exc:
            # The checkpoint already records this batch; whoever owns the partition
            # next starts past it, so a failed commit costs nothing but a warning.
            log.warning(
                "commit failed; the journal checkpoint covers it", extra={"error": str(exc)}
            )
