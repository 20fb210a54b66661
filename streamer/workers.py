"""The stateless half (validate, normalize, fingerprint) in worker processes, with a watchdog.

Preparing an article costs about ten times what deciding it does, and it is a
pure function of the record, so on a machine with spare cores the ``all`` role
hands it to a pool and keeps only the ordered decision in the main process.
Results come back in input order, so decisions are exactly those of the
in-process path.

Each worker prepares under the per-record deadline as the main process does
(``Preparer.prepare_one``: an alarm interrupts the record, which becomes a
``too_slow`` dead letter, and the worker goes on). The watchdog here is for what
an alarm cannot stop. A worker that has sent nothing for ``stuck_after`` seconds
of wall time while holding a record (stuck in one call into C, or stopped) is
killed; one that dies on its own (a crash in a C extension) is found by its pipe
closing. Either way the record it held becomes a dead letter (``too_slow``, or
``processing_error`` naming the exit code), a new worker takes the rest of its
chunk, and the batch completes: one record cannot stall the partition, and it
cannot end the service to meet it again on every restart.

Workers are our own processes on pipes rather than a ``ProcessPoolExecutor``:
the executor cannot kill one worker without breaking the whole pool, nor say
which record a dead worker held. Each worker sends each result as soon as it has
it, so the record in hand is always the first of its chunk not yet answered.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import signal
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from multiprocessing.connection import Connection, wait
from typing import Any

from streamer.config import Settings
from streamer.faults import Faults
from streamer.pipeline import utcnow, warm_up
from streamer.records import InputRecord, Prepared, Result, dead_letter

log = logging.getLogger(__name__)

# What a result carries back instead of its input record: the parent holds the
# record already, and the raw bytes would double what crosses the pipe.
_DETACHED = InputRecord(value=None)
# The watchdog's wall-clock limit, as a multiple of the CPU-time deadline plus a grace.
# Generous on purpose: it is a backstop for hangs, and on a loaded machine a record
# can take several times its CPU time in wall time without being slow at all.
_STUCK_FACTOR = 2.0
_STUCK_GRACE_S = 5.0
# A watchdog with no deadline to derive from still wakes up this often.
_IDLE_WAIT_S = 1.0
_START_TIMEOUT_S = 120.0

PreparedItem = tuple[Prepared | Result, float]


def _serve(conn: Connection, settings: Settings, faults: Faults) -> None:
    """A worker: prepare each chunk it is sent, one message per record.

    It ignores SIGINT and SIGTERM, which a terminal's Ctrl-C or a service manager
    sends to the whole process group: the parent finishes its batch on them, and
    a worker dying under it would turn the record it held into a dead letter. It
    ends when the parent says so, or when its pipe closes because the parent is gone.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    preparer = faults.preparer(settings)
    warm_up(preparer)
    conn.send(None)
    while True:
        try:
            job = conn.recv()
        except EOFError:
            return
        if job is None:
            return
        batch, items = job
        for index, record in items:
            started = time.perf_counter()
            out = preparer.prepare_one(record)
            elapsed = time.perf_counter() - started
            conn.send((batch, index, replace(out, source=_DETACHED), elapsed))


@dataclass
class _Worker:
    process: Any  # multiprocessing.context.ForkServerProcess
    conn: Connection
    batch: int = 0
    pending: deque[int] = field(default_factory=deque)  # indices sent, not yet answered
    since: float = 0.0  # when it last sent something (or got its chunk)


class PreparePool:
    """``workers`` processes preparing records; ``forkserver`` because the parent runs
    Kafka client threads, which a plain fork would copy mid-flight."""

    def __init__(self, settings: Settings, workers: int, faults: Faults | None = None) -> None:
        if workers < 1:
            raise ValueError("a prepare pool needs at least one worker")
        self.settings = settings
        self.faults = faults or Faults()
        self._ctx = multiprocessing.get_context("forkserver")
        limit = settings.limits.prepare_deadline_s
        self.stuck_after: float | None = (
            limit * _STUCK_FACTOR + _STUCK_GRACE_S if limit > 0 else None
        )
        self.replaced = 0  # workers killed or found dead, and replaced
        self._batch = 0
        # Start every worker now (imports, language model) rather than in the first batch.
        self._workers = [self._start() for _ in range(workers)]
        for w in self._workers:
            self._await_ready(w)

    @property
    def workers(self) -> int:
        return len(self._workers)

    def _start(self) -> _Worker:
        parent, child = self._ctx.Pipe()
        process = self._ctx.Process(
            target=_serve, args=(child, self.settings, self.faults), daemon=True
        )
        process.start()
        child.close()
        return _Worker(process, parent)

    def _await_ready(self, w: _Worker) -> None:
        """Wait for a new worker's first message; one that cannot start ends the service."""
        try:
            if w.conn.poll(_START_TIMEOUT_S):
                w.conn.recv()
                return
        except (EOFError, OSError):
            pass
        w.process.kill()
        raise RuntimeError(
            f"prepare worker failed to start (exit code {w.process.exitcode}) "
            f"within {_START_TIMEOUT_S:.0f} s"
        )

    def prepare(self, records: list[InputRecord]) -> Iterator[PreparedItem]:
        """Prepared articles or dead letters, in input order, with each one's seconds.

        Lazy: the caller decides the first records while workers prepare the next.
        """
        self._batch += 1
        batch = self._batch
        n = len(records)
        results: list[PreparedItem | None] = [None] * n
        size = max(1, n // (4 * len(self._workers)))
        chunks: deque[list[int]] = deque(
            list(range(start, min(start + size, n))) for start in range(0, n, size)
        )
        for i in range(n):
            while results[i] is None:
                self._step(batch, records, results, chunks)
            out, seconds = results[i]  # type: ignore[misc]
            yield replace(out, source=records[i]), seconds

    def _step(
        self,
        batch: int,
        records: list[InputRecord],
        results: list[PreparedItem | None],
        chunks: deque[list[int]],
    ) -> None:
        """Hand chunks to idle workers, take in what has come back, act on the stuck."""
        for w in list(self._workers):
            if not w.pending and chunks:
                chunk = chunks.popleft()
                try:
                    w.conn.send((batch, [(i, records[i]) for i in chunk]))
                except OSError:  # it died while idle: nothing of its own is lost
                    chunks.appendleft(chunk)
                    self._replace(w)
                    continue
                w.batch, w.pending, w.since = batch, deque(chunk), time.monotonic()
        busy = [w for w in self._workers if w.pending]
        if not busy:
            return
        now = time.monotonic()
        timeout = _IDLE_WAIT_S
        if self.stuck_after is not None:
            timeout = max(0.0, min(w.since + self.stuck_after for w in busy) - now)
        ready = wait([w.conn for w in busy], timeout)
        for w in busy:
            if w.conn in ready:
                self._receive(w, batch, records, results, chunks)
        if self.stuck_after is not None:
            now = time.monotonic()
            for w in busy:
                if w.pending and now - w.since > self.stuck_after:
                    w.process.kill()
                    self._lost(w, batch, records, results, chunks, stuck=True)

    def _receive(
        self,
        w: _Worker,
        batch: int,
        records: list[InputRecord],
        results: list[PreparedItem | None],
        chunks: deque[list[int]],
    ) -> None:
        try:
            while w.pending and w.conn.poll():
                got_batch, index, out, seconds = w.conn.recv()
                w.since = time.monotonic()
                if w.pending and w.pending[0] == index and got_batch == w.batch:
                    w.pending.popleft()
                if got_batch == batch:
                    results[index] = (out, seconds)
        except (EOFError, OSError):
            self._lost(w, batch, records, results, chunks, stuck=False)

    def _lost(
        self,
        w: _Worker,
        batch: int,
        records: list[InputRecord],
        results: list[PreparedItem | None],
        chunks: deque[list[int]],
        *,
        stuck: bool,
    ) -> None:
        """A worker killed for being stuck, or found dead: its record is a dead letter."""
        w.process.join(5)
        code = w.process.exitcode
        held = w.pending.popleft() if w.pending else None
        if w.batch == batch and held is not None:
            if stuck:
                reason = "too_slow"
                message = (
                    f"preparing ran {self.stuck_after:g} s of wall time without stopping at "
                    "the deadline (limits.prepare_deadline_s); the worker was killed"
                )
            else:
                reason = "processing_error"
                message = f"the prepare worker died preparing this record (exit code {code})"
            log.warning(
                "prepare worker replaced",
                extra={"reason": reason, "exit_code": code, "offset": records[held].offset},
            )
            letter = dead_letter(records[held], reason, message, self.settings, utcnow())
            results[held] = (replace(letter, source=_DETACHED), 0.0)
            if w.pending:
                chunks.appendleft(list(w.pending))
        w.pending.clear()
        self._replace(w)

    def _replace(self, w: _Worker) -> None:
        if w.process.is_alive():
            w.process.kill()
        w.process.join(5)
        w.conn.close()
        self.replaced += 1
        fresh = self._start()
        self._await_ready(fresh)
        self._workers[self._workers.index(w)] = fresh

    def close(self) -> None:
        for w in self._workers:
            with contextlib.suppress(OSError):
                w.conn.send(None)
        for w in self._workers:
            w.process.join(5)
            if w.process.is_alive():
                w.process.kill()
                w.process.join(5)
            w.conn.close()
