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
which record a dead worker held. Each worker notes the record in hand in memory
shared with the parent and sends its results every few tens of milliseconds; a
reader thread takes them off the pipes and hands out the next chunk.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import signal
import threading
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
# A watchdog with no deadline to derive from still wakes up this often, and the reader
# looks for new workers' pipes this often.
_IDLE_WAIT_S = 1.0
_READER_POLL_S = 0.1
# A worker sends what it has prepared at least this often (and at the end of a chunk):
# one message a record cost the parent more than deciding it.
_FLUSH_S = 0.05
_START_TIMEOUT_S = 120.0

PreparedItem = tuple[Prepared | Result, float]


def _serve(
    jobs: Connection, results: Connection, current: Any, settings: Settings, faults: Faults
) -> None:
    """A worker: prepare each chunk it is sent; results go back every ``_FLUSH_S`` or so.

    Before each record it writes the batch and index it is on into ``current``
    (memory shared with the parent), so that when it is killed or dies the parent
    knows which record it held without a message per record. It ignores SIGINT and
    SIGTERM, which a terminal's Ctrl-C or a service manager sends to the whole
    process group: the parent finishes its batch on them, and a worker dying under
    it would turn the record it held into a dead letter. It ends when the parent
    says so, or when its pipe closes because the parent is gone.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    preparer = faults.preparer(settings)
    warm_up(preparer)
    results.send(None)
    while True:
        try:
            job = jobs.recv()
        except EOFError:
            return
        if job is None:
            return
        batch, items = job
        done: list[tuple[int, Prepared | Result, float]] = []
        flushed = time.monotonic()
        for index, record in items:
            current[0], current[1] = batch, index
            started = time.perf_counter()
            out = preparer.prepare_one(record)
            done.append((index, replace(out, source=_DETACHED), time.perf_counter() - started))
            if time.monotonic() - flushed >= _FLUSH_S:
                results.send((batch, done))
                done, flushed = [], time.monotonic()
        current[1] = -1
        results.send((batch, done))


@dataclass(eq=False)
class _Worker:
    process: Any  # multiprocessing.context.ForkServerProcess
    jobs: Connection  # parent to worker: chunks, then None
    results: Connection  # worker to parent, read by the pool's reader thread
    current: Any  # shared [batch, index] of the record in hand (-1: none)
    batch: int = 0
    pending: deque[int] = field(default_factory=deque)  # indices sent, not yet answered
    since: float = 0.0  # when it last sent something (or got its chunk)
    dead: bool = False  # its pipe closed: the process is gone
    retired: bool = False  # taken out of the pool; the reader closes its pipe


@dataclass(eq=False)
class _Batch:
    id: int
    records: list[InputRecord]
    results: list[PreparedItem | None]
    chunks: deque[list[int]]  # not handed to a worker yet


_Send = tuple[_Worker, tuple[int, list[tuple[int, InputRecord]]]]


class PreparePool:
    """``workers`` processes preparing records; ``forkserver`` because the parent runs
    Kafka client threads, which a plain fork would copy mid-flight.

    A reader thread takes results off the workers' pipes as they come and hands the
    next chunk to a worker as soon as it has answered its last, whatever the caller
    is doing meanwhile (as ``ProcessPoolExecutor``'s threads do); the caller's thread
    waits for the results in order and is the watchdog. Everything the two share is
    guarded by ``_lock``.
    """

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
        self._lock = threading.Condition()
        self._batch: _Batch | None = None
        self._batches = 0
        self._stopping = False
        self._new: list[_Worker] = []  # ready workers the reader has not watched yet
        # Start every worker now (imports, language model) rather than in the first batch.
        self._workers = [self._start() for _ in range(workers)]
        for w in self._workers:
            self._await_ready(w)
        self._reader = threading.Thread(target=self._read, name="prepare-pool-reader", daemon=True)
        self._reader.start()

    @property
    def workers(self) -> int:
        return len(self._workers)

    # -- workers -------------------------------------------------------------------------------

    def _start(self) -> _Worker:
        jobs_r, jobs_w = self._ctx.Pipe(duplex=False)
        results_r, results_w = self._ctx.Pipe(duplex=False)
        current = self._ctx.RawArray("q", [0, -1])
        process = self._ctx.Process(
            target=_serve,
            args=(jobs_r, results_w, current, self.settings, self.faults),
            daemon=True,
        )
        process.start()
        jobs_r.close()
        results_w.close()
        return _Worker(process, jobs_w, results_r, current)

    def _await_ready(self, w: _Worker) -> None:
        """Wait for a new worker's first message, then hand its pipe to the reader.

        A worker that cannot start ends the service: that is no record's fault.
        """
        try:
            if w.results.poll(_START_TIMEOUT_S):
                w.results.recv()
                with self._lock:
                    self._new.append(w)
                return
        except (EOFError, OSError):
            pass
        w.process.kill()
        raise RuntimeError(
            f"prepare worker failed to start (exit code {w.process.exitcode}) "
            f"within {_START_TIMEOUT_S:.0f} s"
        )

    def _dispatch(self) -> list[_Send]:
        """Give every idle worker the next chunk (under ``_lock``); send them outside it."""
        b = self._batch
        sends: list[_Send] = []
        if b is None:
            return sends
        for w in self._workers:
            if b.chunks and not w.pending and not (w.dead or w.retired):
                chunk = b.chunks.popleft()
                w.batch, w.pending, w.since = b.id, deque(chunk), time.monotonic()
                sends.append((w, (b.id, [(i, b.records[i]) for i in chunk])))
        return sends

    def _send(self, sends: list[_Send]) -> None:
        for w, job in sends:
            try:
                w.jobs.send(job)
            except OSError:  # gone: the watchdog finds it dead and gives its chunk back
                with self._lock:
                    w.dead = True
                    self._lock.notify_all()

    def _read(self) -> None:
        """The reader thread: results into their batch, idle workers onto the next chunk."""
        watched: list[_Worker] = []
        while True:
            with self._lock:
                if self._stopping:
                    break
                watched += self._new
                self._new.clear()
                for w in [w for w in watched if w.retired]:
                    w.results.close()
                    watched.remove(w)
            live = [w for w in watched if not w.dead]
            if not live:
                time.sleep(_READER_POLL_S)
                continue
            got: list[tuple[_Worker, float, Any]] = []
            ready = wait([w.results for w in live], _READER_POLL_S)
            for w in live:
                if w.results not in ready:
                    continue
                try:
                    while w.results.poll():
                        got.append((w, time.monotonic(), w.results.recv()))
                except (EOFError, OSError):
                    got.append((w, time.monotonic(), None))
            if not got:
                continue
            with self._lock:
                for w, when, message in got:
                    self._take(w, when, message)
                sends = self._dispatch()
                self._lock.notify_all()
            self._send(sends)
        for w in watched:
            w.results.close()

    def _take(self, w: _Worker, when: float, message: Any) -> None:
        """One message from a worker (under ``_lock``): a result, or its pipe closing."""
        if w.retired:
            return
        if message is None:
            w.dead = True
            return
        batch, items = message
        w.since = when
        b = self._batch
        for index, out, seconds in items:
            if w.pending and w.pending[0] == index and batch == w.batch:
                w.pending.popleft()
            if b is not None and batch == b.id:
                b.results[index] = (out, seconds)

    # -- the caller's side: results in order, and the watchdog ----------------------------------

    def prepare(self, records: list[InputRecord]) -> Iterator[PreparedItem]:
        """Prepared articles or dead letters, in input order, with each one's seconds.

        Lazy: the caller decides the first records while workers prepare the next.
        """
        n = len(records)
        size = max(1, n // (4 * len(self._workers)))
        with self._lock:
            self._batches += 1
            b = _Batch(
                self._batches,
                records,
                [None] * n,
                deque(list(range(start, min(start + size, n))) for start in range(0, n, size)),
            )
            self._batch = b
            sends = self._dispatch()
        self._send(sends)
        try:
            for i in range(n):
                while True:
                    with self._lock:
                        item = b.results[i]
                        if item is not None:
                            break
                        lost = self._retire_lost(b)
                        if not lost:
                            self._lock.wait(self._until_stuck())
                            continue
                    for w in lost:
                        self._replace(w)
                yield replace(item[0], source=records[i]), item[1]
        finally:  # done, or abandoned: hand out no more of its chunks
            with self._lock:
                if self._batch is b:
                    self._batch = None

    def _until_stuck(self) -> float:
        """How long the watchdog may wait (under ``_lock``) before a worker could be stuck."""
        busy = [w.since for w in self._workers if w.pending and not w.retired]
        if self.stuck_after is None or not busy:
            return _IDLE_WAIT_S
        return max(0.0, min(busy) + self.stuck_after - time.monotonic())

    def _retire_lost(self, b: _Batch) -> list[_Worker]:
        """Workers found dead, or stuck past ``stuck_after`` (killed here), under ``_lock``.

        The record each held becomes a dead letter and the rest of its chunk goes
        back to the queue; the caller replaces them outside the lock.
        """
        now = time.monotonic()
        lost: list[_Worker] = []
        for w in self._workers:
            stuck = bool(
                self.stuck_after is not None and w.pending and now - w.since > self.stuck_after
            )
            if w.retired or not (w.dead or stuck):
                continue
            w.retired = True
            if w.process.is_alive():
                w.process.kill()
            w.process.join(5)
            # What it had prepared since its last message is lost with it and done
            # again; the record it was on is the one to blame.
            batch, index = w.current[0], w.current[1]
            held = index if batch == w.batch and index in w.pending else None
            if w.batch == b.id:
                if held is not None:
                    b.results[held] = (self._letter(b.records[held], w, stuck), 0.0)
                rest = [i for i in w.pending if i != held]
                if rest:
                    b.chunks.appendleft(rest)
            w.pending.clear()
            lost.append(w)
        return lost

    def _letter(self, record: InputRecord, w: _Worker, stuck: bool) -> Result:
        code = w.process.exitcode
        if stuck and not w.dead:
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
            extra={"reason": reason, "exit_code": code, "offset": record.offset},
        )
        letter = dead_letter(record, reason, message, self.settings, utcnow())
        return replace(letter, source=_DETACHED)

    def _replace(self, w: _Worker) -> None:
        """A new worker in the place of a retired one (outside ``_lock``: it takes seconds)."""
        w.jobs.close()  # its results pipe is the reader's to close
        fresh = self._start()
        self._await_ready(fresh)
        with self._lock:
            self._workers[self._workers.index(w)] = fresh
            self.replaced += 1
            sends = self._dispatch()
        self._send(sends)

    def close(self) -> None:
        for w in self._workers:
            with contextlib.suppress(OSError):
                w.jobs.send(None)
        for w in self._workers:
            w.process.join(5)
            if w.process.is_alive():
                w.process.kill()
                w.process.join(5)
            w.jobs.close()
        with self._lock:
            self._stopping = True
        self._reader.join(5)
