"""Fault injection for the real-process tests: crash points in the batch order, a poison id.

The crash tests need a service that dies (like SIGKILL) at a chosen step of the
batch order, the poison test one record whose preparation raises, and the deadline
tests one that is slow to prepare (or kills the process preparing it). Both are
set through ``testing.*`` settings and handed to the service at start as one
``Faults`` object; nothing in the pipeline, text or dedup code knows about
them. A production config never sets them, and then every hook is a no-op.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
from collections.abc import Callable
from datetime import datetime

from streamer.config import FaultSettings, Settings
from streamer.pipeline import Preparer, utcnow
from streamer.records import InputRecord, Prepared

log = logging.getLogger(__name__)


class Faults:
    """The faults one service run injects (none by default)."""

    def __init__(self, settings: FaultSettings | None = None) -> None:
        self.settings = settings or FaultSettings()
        self.batches = 0

    def crash(self, step: str) -> None:
        """Die here, without cleanup, if this is the configured step and enough batches ran."""
        s = self.settings
        if s.crash_at == step and self.batches >= s.crash_after_batches:
            log.warning("test crash hook firing", extra={"step": step, "batches": self.batches})
            logging.shutdown()
            os._exit(137)

    def batch_done(self) -> None:
        self.batches += 1

    def preparer(self, settings: Settings, clock: Callable[[], datetime] = utcnow) -> Preparer:
        """The preparer to run: one that fails on the poison id, if one is set."""
        if self.settings.slow_on_id is not None or self.settings.exit_on_id is not None:
            return _HookedPreparer(settings, clock, self.settings)
        if self.settings.fail_on_id is None:
            return Preparer(settings, clock)
        return _PoisonPreparer(settings, clock, self.settings.fail_on_id)


class _PoisonPreparer(Preparer):
    """Raises for one article id, as a bug in preparing one record would."""

    def __init__(self, settings: Settings, clock: Callable[[], datetime], poison: str) -> None:
        super().__init__(settings, clock)
        self.poison = poison

    def prepare(self, record: InputRecord) -> Prepared:
        prepared = super().prepare(record)
        if prepared.article.id == self.poison:
            raise RuntimeError(f"injected failure for article {self.poison!r} (testing.fail_on_id)")
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


class _HookedPreparer(Preparer):
    """A preparer that is slow on one article id, dies on another, fails on a third."""

    def __init__(
        self, settings: Settings, clock: Callable[[], datetime], faults: FaultSettings
    ) -> None:
        super().__init__(settings, clock)
        self.faults = faults

    def prepare(self, record: InputRecord) -> Prepared:
        prepared = super().prepare(record)
        article_id = prepared.article.id
        f = self.faults
        if article_id == f.slow_on_id:
            log.warning("test slow hook firing", extra={"id": article_id})
            slow_by_construction(f.slow_uninterruptible)
        if article_id == f.exit_on_id:
            log.warning("test exit hook firing", extra={"id": article_id})
            logging.shutdown()
            os._exit(139)
        if article_id == f.fail_on_id:
            raise RuntimeError(f"injected failure for article {article_id!r} (testing.fail_on_id)")
        return prepared
