"""Recovery: the index brought to the journal's end, and where each assigned partition resumes.

It runs on start and on every assignment, before any input of the assignment
is decided, and returns a ``RecoveredState``; the loop only seeks to it.

1. Apply the journal, from where the index stands (``streamer.kafka.standby``:
   a warm standby has read most of it already, a writer that gets its own
   partition back all of it; otherwise a fresh index from offset 0) to its end
   as of now, record by record (``streamer.dedup.feed``); tombstone what the
   window evicted while applying and the journal has not tombstoned.
2. Start each partition at the later of its committed offset and its
   checkpoint, so a batch journaled but not committed is not redone.
3. Scan each output partition only past the lowest position the checkpoints
   recorded. That tail holds the batch published but not journaled (and, if
   a checkpoint was held back, outputs journaled since); the outputs of
   inputs the journal does not cover are found by the input headers they
   carry, and the batch that re-decides those inputs (to the same decisions:
   the index is as it was) does not produce them again. Until then they hold
   every checkpoint's positions back (``BatchState.checkpoint_outputs``), so
   a kill before they are re-decided leaves them in the next recovery's tail.
4. Write a first checkpoint for partitions that had none, so that even a crash
   in the very first batch leaves a bounded tail.
"""

from __future__ import annotations

import gc
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from kafka import KafkaConsumer
from kafka.structs import TopicPartition

from streamer.config import Settings
from streamer.kafka.clients import end_offsets, read_to_end
from streamer.kafka.commit import BatchState, JournalWriter, output_topics, wait_for_acks
from streamer.kafka.standby import CATCH_UP_POLL_RECORDS, JournalTail
from streamer.models import Checkpoint, Coordinates
from streamer.records import parse_headers, parse_partition_key, partition_key

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RecoveredState:
    """Where the batches resume, and what recovery did (for the log line and metrics)."""

    batch_state: BatchState
    journal_records: int
    indexed: int
    evicted: int
    tail_scanned: int
    seconds: float
    warm: bool = False  # the index was kept: only the journal past its position was read
    journal_from: int = 0  # the journal offset the index stood at
    catch_up_seconds: float = 0.0

    def log_fields(self) -> dict[str, object]:
        return {
            "warm": self.warm,
            "journal_from": self.journal_from,
            "catch_up_seconds": round(self.catch_up_seconds, 3),
            "journal_records": self.journal_records,
            "indexed": self.indexed,
            "evicted": self.evicted,
            "tail_scanned": self.tail_scanned,
            "already_published": len(self.batch_state.published_tail),
            "starts": {str(tp): off for tp, off in self.batch_state.next_offsets.items()},
            "seconds": round(self.seconds, 3),
        }


def unaccounted(coords: Coordinates, state: BatchState, input_topics: set[str]) -> bool:
    """Whether an output found in the tail is for an input the journal does not cover.

    An input of a topic this consumer reads is covered below its partition's
    next offset, and is not ours when another instance owns the partition; an
    input behind another topic (the raw coordinates a ``dedup`` writer's
    outputs name) is covered up to its upstream mark. Only the uncovered ones
    are re-decided, so only they may hold a checkpoint back.
    """
    if coords.topic in input_topics:
        start = state.next_offsets.get(TopicPartition(coords.topic, coords.partition))
        return start is not None and coords.offset >= start
    mark = state.upstream.get(partition_key(coords.topic, coords.partition), -1)
    return coords.offset > mark


def resume_points(
    assigned: set[TopicPartition],
    checkpoints: dict[tuple[str, int], Checkpoint],
    committed: dict[TopicPartition, int | None],
    reset: Callable[[TopicPartition], int],
) -> tuple[BatchState, dict[TopicPartition, int]]:
    """Step 2: each partition's next offset and upstream marks, and where each tail scan starts.

    A partition without a checkpoint starts at its committed offset, or where
    ``reset`` (``auto_offset_reset``) says when it has none.
    """
    state = BatchState()
    scan_from: dict[TopicPartition, int] = {}
    for tp in assigned:
        cp = checkpoints.get((tp.topic, tp.partition))
        c = committed.get(tp)
        if cp is None:
            state.next_offsets[tp] = c if c is not None else reset(tp)
            continue
        state.next_offsets[tp] = max(cp.next_offset, c or 0)
        for key, mark in cp.upstream.items():
            state.upstream[key] = max(mark, state.upstream.get(key, -1))
        for key, pos in cp.outputs.items():
            otp = TopicPartition(*parse_partition_key(key))
            scan_from[otp] = min(pos, scan_from.get(otp, pos))
    return state, scan_from


class Recovery:
    """The four steps of the module docstring, with the clients they read and write."""

    def __init__(
        self,
        settings: Settings,
        reader: KafkaConsumer,
        consumer: KafkaConsumer,
        journal_writer: JournalWriter,
    ) -> None:
        self.settings = settings
        self.reader = reader  # assigned by hand, no group: recovery reads whole partitions
        self.consumer = consumer  # the group consumer, for its committed offsets
        self.journal = journal_writer
        self.journal_tp = TopicPartition(settings.topics.journal, 0)

    def run(self, assigned: set[TopicPartition], tail: JournalTail) -> RecoveredState:
        """Bring ``tail``'s index to the journal's end and find where each of ``assigned`` resumes.

        The cyclic garbage collector is paused while the index is built (it
        would rescan every new long-lived object, again and again) and the
        index is then frozen out of later collections.
        """
        gc_was_enabled = gc.isenabled()
        gc.disable()
        try:
            return self.recover(set(assigned), tail)
        finally:
            gc.freeze()
            if gc_was_enabled:
                gc.enable()

    def recover(self, assigned: set[TopicPartition], tail: JournalTail) -> RecoveredState:
        started = time.monotonic()
        if not tail.valid:
            tail.restart()
        warm, journal_from = tail.position > 0, tail.position
        log.info(
            "recovery started",
            extra={"partitions": sorted(map(str, assigned)), "journal_from": journal_from},
        )
        # 1. the journal, from where the index stands to its end
        end = end_offsets(self.reader, [self.journal_tp])[self.journal_tp]
        applied = tail.catch_up(end, self.progress)
        caught_up = time.monotonic()
        if tail.feed.skipped > tail.skips_reported:
            tail.skips_reported = tail.feed.skipped
            log.warning(
                "journal records skipped",
                extra={"skipped": tail.feed.skipped, "examples": tail.feed.parsed.problems},
            )
        evicted = tail.feed.take_untombstoned()
        if evicted:
            for article_id in evicted:
                self.journal.tombstone(article_id)
            self.journal.producer.flush()

        # 2. where each partition starts
        ends = end_offsets(self.reader, self.output_partitions())
        committed = {tp: self.consumer.committed(tp) for tp in assigned}
        checkpoints = tail.feed.checkpoints
        state, scan_from = resume_points(assigned, checkpoints, committed, self.reset_offset)

        # 3. the tail published past the checkpoints
        scanned = self.scan_tail(scan_from, ends, state, {tp.topic for tp in assigned})
        state.output_positions = {
            partition_key(tp.topic, tp.partition): end for tp, end in ends.items()
        }

        # 4. a first checkpoint for partitions that had none
        fresh = [tp for tp in assigned if (tp.topic, tp.partition) not in checkpoints]
        if fresh:
            # Waited for: without it, a crash in the first batch has no bound.
            wait_for_acks(self.journal.producer, self.journal.checkpoints(fresh, state))
        recovered = RecoveredState(
            batch_state=state,
            journal_records=applied,
            indexed=len(tail.stage.index),
            evicted=len(evicted),
            tail_scanned=scanned,
            seconds=time.monotonic() - started,
            warm=warm,
            journal_from=journal_from,
            catch_up_seconds=caught_up - started,
        )
        log.info("recovered", extra=recovered.log_fields())
        return recovered

    def scan_tail(
        self,
        scan_from: dict[TopicPartition, int],
        ends: dict[TopicPartition, int],
        state: BatchState,
        input_topics: set[str],
    ) -> int:
        """Notes each output past the checkpoints whose input no checkpoint accounts for (the
        batch published but not journaled), so it is not published again; returns how many
        output records were read."""
        scanned = 0
        for rec in read_to_end(self.reader, scan_from, ends=ends):
            coords = parse_headers(rec.headers)
            scanned += 1
            if coords is not None and unaccounted(coords, state, input_topics):
                state.published_tail[coords] = Coordinates(
                    topic=rec.topic, partition=rec.partition, offset=rec.offset
                )
        return scanned

    @staticmethod
    def progress(n: int) -> None:
        if n and n % 50_000 < CATCH_UP_POLL_RECORDS:
            log.info("recovery progress", extra={"journal_records": n})

    def reset_offset(self, tp: TopicPartition) -> int:
        # Not consumer.position(): the poll that brought the assignment may have moved it.
        if self.settings.kafka.auto_offset_reset == "earliest":
            return int(self.reader.beginning_offsets([tp])[tp])
        return end_offsets(self.reader, [tp])[tp]

    def output_partitions(self) -> list[TopicPartition]:
        tps: list[TopicPartition] = []
        for topic in set(output_topics(self.settings.topics).values()):
            parts = self.reader.partitions_for_topic(topic) or {0}
            tps.extend(TopicPartition(topic, p) for p in sorted(parts))
        return tps
