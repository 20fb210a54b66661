"""The stateless half (validate, normalize, fingerprint) in worker processes.

Preparing an article costs about ten times what deciding it does, and it is a
pure function of the record, so on a machine with spare cores the ``all`` role
hands it to a pool and keeps only the ordered decision in the main process.
Results come back in input order, so decisions are exactly those of the
in-process path.
"""

from __future__ import annotations

import multiprocessing
import time
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import replace

from streamer.config import Settings
from streamer.faults import Faults
from streamer.pipeline import Preparer
from streamer.records import InputRecord, Prepared, Result

_PREPARER: Preparer | None = None
# What a result carries back instead of its input record: the parent holds the
# record already, and the raw bytes would double what crosses the pipe.
_DETACHED = InputRecord(value=None)


def _init_worker(settings: Settings, faults: Faults) -> None:
    global _PREPARER
    _PREPARER = faults.preparer(settings)


def _ready(_: int) -> bool:
    return _PREPARER is not None


def _prepare(record: InputRecord) -> tuple[Prepared | Result, float]:
    assert _PREPARER is not None, "worker not initialized"
    started = time.perf_counter()
    out = _PREPARER.prepare_one(record)
    return replace(out, source=_DETACHED), time.perf_counter() - started


class PreparePool:
    """``workers`` processes preparing records; ``forkserver`` because the parent runs
    Kafka client threads, which a plain fork would copy mid-flight."""

    def __init__(self, settings: Settings, workers: int, faults: Faults | None = None) -> None:
        self.workers = workers
        self._executor = ProcessPoolExecutor(
            max_workers=workers,
            mp_context=multiprocessing.get_context("forkserver"),
            initializer=_init_worker,
            initargs=(settings, faults or Faults()),
        )
        # Start every worker now (imports, language model) rather than in the first batch.
        list(self._executor.map(_ready, range(workers * 2)))

    def prepare(self, records: list[InputRecord]) -> Iterator[tuple[Prepared | Result, float]]:
        """Prepared articles or dead letters, in input order, with each one's seconds.

        Lazy: the caller decides the first chunk while workers prepare the next.
        A worker that dies takes the pool with it (``BrokenProcessPool``): the
        batch is then not published, and the service exits to be restarted.
        """
        chunk = max(1, len(records) // (4 * self.workers))
        results = self._executor.map(_prepare, records, chunksize=chunk)
        return (
            (replace(out, source=record), seconds)
            for record, (out, seconds) in zip(records, results, strict=True)
        )

    def close(self) -> None:
        self._executor.shutdown(wait=True, cancel_futures=True)
