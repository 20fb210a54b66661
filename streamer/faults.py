"""Fault injection for the real-process tests: crash points in the batch order, a poison id,
a slow batch, a stalled or never-ending prepare.

The crash tests need a service that dies (like SIGKILL) at a chosen step of the
batch order, the poison test one record whose preparation raises, the
zombie test one batch that takes longer than its owner's membership, the
readiness test one record that takes long to prepare (a stuck batch), and the
deadline tests one record that never ends preparing (or kills the process). All are
set through ``testing.*`` settings and handed to the service at start as one
``Faults`` object; nothing in the pipeline, text or dedup code knows about
them. A production config never sets them, and then every hook is a no-op.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import time
from collections.abc import Callable, Iterable
from datetime import datetime
from pathlib import Path

from streamer.config import FaultSettings, Settings
from streamer.pipeline import Preparer, utcnow
from streamer.records import InputRecord, Prepared, Result

log = logging.getLogger(__name__)


class Faults:
    """The faults one service run injects (none by default)."""

    def __init__(self, settings: FaultSettings | None = None) -> None:
        self.settings = settings or FaultSettings()
        self.batches = 0
        self.stalled = False

    def crash(self, step: str) -> None:
        """Die here, without cleanup, if this is the configured step and enough batches ran."""
        s = self.settings
        if s.crash_at == step and self.batches >= s.crash_after_batches:
            log.warning("test crash hook firing", extra={"step": step, "batches": self.batches})
            logging.shutdown()
            os._exit(137)

    def batch_done(self) -> None:
        self.batches += 1

    def stall(self, results: Iterable[Result | None]) -> None:
        """Hold the batch that decided the slow id, once per process, as a slow record would.

        The zombie test needs a batch that outlives its owner's membership
        whatever the real per-record deadline does, so the pause is taken in the
        batch order between deciding and producing, not inside the preparer.
        """
        s = self.settings
        if s.slow_on_id is None or self.stalled:
            return
        if any(r is not None and r.article_id == s.slow_on_id for r in results):
            self.stalled = True
            log.warning(
                "test stall hook firing", extra={"id": s.slow_on_id, "seconds": s.slow_seconds}
            )
            # A test can end the stall early by creating slow_until_file, once what it
            # waits for has happened, rather than guess how long that takes.
            release = Path(s.slow_until_file) if s.slow_until_file else None
            deadline = time.monotonic() + s.slow_seconds
            while time.monotonic() < deadline and not (release and release.exists()):
                time.sleep(0.1)

    def preparer(self, settings: Settings, clock: Callable[[], datetime] = utcnow) -> Preparer:
        """The preparer to run: one that fails on the poison id, if one is set."""
        s = self.settings
        if s.slow_prepare_on_id is not None or s.exit_prepare_on_id is not None:
            return _HookedPreparer(settings, clock, s)
        if s.fail_on_id is None and s.stall_on_id is None:
            return Preparer(settings, clock)
        return _FaultyPreparer(settings, clock, self.settings)


class _FaultyPreparer(Preparer):
    """Raises for one article id, as a bug in preparing one record would; stalls on another."""

    def __init__(
        self, settings: Settings, clock: Callable[[], datetime], faults: FaultSettings
    ) -> None:
        super().__init__(settings, clock)
        self.poison = faults.fail_on_id
        self.stall_on = faults.stall_on_id
        self.stall_seconds = faults.stall_seconds

    def prepare(self, record: InputRecord) -> Prepared:
        prepared = super().prepare(record)
        if prepared.article.id == self.poison:
            raise RuntimeError(f"injected failure for article {self.poison!r} (testing.fail_on_id)")
        if prepared.article.id == self.stall_on:
            log.warning("test stall hook firing", extra={"seconds": self.stall_seconds})
            time.sleep(self.stall_seconds)
        return prepared


# Exponential backtracking: "a" * 64 + "b" takes ~2^64 steps to fail, in the regex
# engine, which checks for signals as it goes (so the deadline interrupts it).
_CATASTROPHIC_RE = re.compile(r"(a+)+$")
_CATASTROPHIC_INPUT = "a" * 64 + "b"


def slow_by_construction(uninterruptible: bool = False) -> None:
    """Never return on its own: a record that is slow to prepare for a real reason.

    By default the time goes to backtracking in the regex engine, which the deadline
    interrupts. ``uninterruptible`` spends it in one long call into C that never checks
    for signals (OpenSSL's PBKDF2 loop, for minutes), so that no alarm can stop it and
    only killing the process does.
    """
    if uninterruptible:
        hashlib.pbkdf2_hmac("sha256", b"slow", b"by construction", 2**31 - 1)
    else:
        _CATASTROPHIC_RE.match(_CATASTROPHIC_INPUT)


class _HookedPreparer(_FaultyPreparer):
    """A preparer that never ends on one article id and ends its process on another."""

    def __init__(
        self, settings: Settings, clock: Callable[[], datetime], faults: FaultSettings
    ) -> None:
        super().__init__(settings, clock, faults)
        self.faults = faults

    def prepare(self, record: InputRecord) -> Prepared:
        prepared = super().prepare(record)
        article_id = prepared.article.id
        f = self.faults
        if article_id == f.slow_prepare_on_id:
            log.warning("test slow-prepare hook firing", extra={"id": article_id})
            slow_by_construction(f.slow_prepare_in_c)
        if article_id == f.exit_prepare_on_id:
            log.warning("test exit hook firing", extra={"id": article_id})
            logging.shutdown()
            os._exit(139)
        return prepared
