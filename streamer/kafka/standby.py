"""The index kept warm: the journal read as it is written, by whoever does not write it.

A deciding instance holds one index, and the index is always the journal
applied up to a position (``JournalTail.position``, the next journal offset):

* standing by (no input partition), it tails ``news.dedup-journal`` with a
  consumer of its own (no group: assign and seek), applying each record as the
  writer produces it (``streamer.dedup.feed``), so that its index is the
  writer's as of the last journaled batch;
* on an assignment, recovery catches the index up from that position to the
  journal's end and runs the usual bounded tail reconciliation: a take-over
  reads what the standby had not read yet, not the whole window;
* writing, its own journal writes are its index's changes already: the
  position moves past them as they are acknowledged, as long as they follow it
  with nothing in between (``writes_acked``). Anything else in between (a
  zombie's write) makes the index unknown, and so does a batch given up after
  its decisions went into the index: the next recovery starts from a fresh
  index at offset 0 (``valid`` false). Losing the partition keeps the index,
  and tailing goes on from the position.

Standing by, the tail runs on a thread of its own (``follow``); the service
stops it before it touches the index (an assignment, a shutdown), so the
index is never changed by two threads, and never during a batch.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from kafka import KafkaConsumer
from kafka.structs import TopicPartition

from streamer.dedup.feed import JournalFeed
from streamer.kafka.stages import Stage

log = logging.getLogger(__name__)

CATCH_UP_POLL_RECORDS = 5000
STALL_S = 60.0


class JournalTail:
    """The journal partition, applied in order to the index of ``stage``."""

    def __init__(
        self,
        consumer: KafkaConsumer,
        topic: str,
        stage: Stage,
        throttle_per_s: float = 0.0,
    ) -> None:
        self.consumer = consumer  # assigned by hand, no group
        self.tp = TopicPartition(topic, 0)
        self.stage = stage
        self.throttle_per_s = throttle_per_s  # testing only: a standby that lags on purpose
        self.restarts = -1
        self.thread: threading.Thread | None = None
        self.stopping = threading.Event()
        self.restart()

    def restart(self) -> None:
        """A fresh index, at the journal's beginning."""
        self.stage.reset_index()
        self.feed = JournalFeed(self.stage.index, self.stage.fingerprinter)
        self.position = 0
        self.valid = True
        self.seek_pending = True
        self.skips_reported = 0  # records the feed skipped that a recovery has logged
        self.restarts += 1

    def invalidate(self, reason: str) -> None:
        """The index holds changes the journal may not (or the journal changes it lacks)."""
        if self.valid:
            log.warning("index no longer follows the journal", extra={"reason": reason})
        self.valid = False

    def lag(self) -> int | None:
        """Journal records past the position (from the last fetch's high watermark)."""
        hw = self.consumer.highwater(self.tp)
        return None if hw is None else max(int(hw) - self.position, 0)

    def poll(self, timeout_ms: int, max_records: int) -> int:
        """One fetch of the journal from the position, applied; how many records it held."""
        if self.seek_pending:
            self.consumer.assign([self.tp])
            self.consumer.seek(self.tp, self.position)
            self.seek_pending = False
        batch = self.consumer.poll(timeout_ms=timeout_ms, max_records=max_records)
        applied = 0
        for rec in batch.get(self.tp, ()):
            if rec.offset < self.position:
                continue
            self.feed.apply(rec.key, rec.value)
            self.position = rec.offset + 1
            applied += 1
        if applied:
            # Past compacted offsets too: the consumer's position is the next record's.
            self.position = max(self.position, int(self.consumer.position(self.tp)))
        return applied

    def follow(self, on_lag: Callable[[int], None]) -> None:
        """Tail the journal on a thread of its own until ``stop_following``.

        A thread, not a share of the loop: the group poll of a standby must keep
        its rhythm for a join to make progress (a standby that read the journal
        between group polls was measured taking over 60 s to join on the
        embedded broker), and the tail must keep up with the writer meanwhile.
        The index is the thread's alone while it runs: the loop touches it only
        after ``stop_following``, which waits for the thread to end.
        """
        if self.thread is not None:
            return
        self.stopping = threading.Event()
        self.thread = threading.Thread(
            target=self.run_following, args=(on_lag,), name="journal-tail", daemon=True
        )
        self.thread.start()

    def stop_following(self) -> None:
        if self.thread is None:
            return
        self.stopping.set()
        self.thread.join()
        self.thread = None

    def run_following(self, on_lag: Callable[[int], None]) -> None:
        while not self.stopping.is_set():
            try:
                if not self.valid:
                    self.restart()  # a fresh index, kept warm from the journal's beginning
                if self.throttle_per_s > 0:
                    n = self.poll(100, max(1, int(self.throttle_per_s / 10)))
                    self.stopping.wait(n / self.throttle_per_s)
                else:
                    self.poll(200, CATCH_UP_POLL_RECORDS)
                lag = self.lag()
                if lag is not None:
                    on_lag(lag)
            except Exception as exc:  # the broker away, say: start over once it is back
                self.invalidate(f"reading the journal failed: {type(exc).__name__}: {exc}")
                self.stopping.wait(1.0)

    def catch_up(self, end: int, on_progress: Callable[[int], None] | None = None) -> int:
        """Apply every journal record below ``end``; how many were applied."""
        applied = 0
        idle_since = time.monotonic()
        while self.position < end:
            n = self.poll(200, CATCH_UP_POLL_RECORDS)
            if n == 0:
                if time.monotonic() - idle_since > STALL_S:
                    raise RuntimeError(f"reading {self.tp} to {end} stalled at {self.position}")
                continue
            idle_since = time.monotonic()
            applied += n
            if on_progress is not None:
                on_progress(applied)
        return applied

    def writes_acked(self, offsets: list[int]) -> None:
        """Our own journal writes, acknowledged: the index made these changes already."""
        if not offsets or not self.valid:
            return
        offsets = sorted(offsets)
        if offsets[0] == self.position and offsets[-1] - offsets[0] + 1 == len(offsets):
            self.position = offsets[-1] + 1
            self.seek_pending = True
        else:
            self.invalidate(
                f"journal written in between: ours at {offsets[0]}..{offsets[-1]}, "
                f"index at {self.position}"
            )
