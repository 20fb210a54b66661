"""Fault injection for the real-process tests: crash points in the batch order, a poison id.

The crash tests need a service that dies (like SIGKILL) at a chosen step of the
batch order, and the poison test one record whose preparation raises. Both are
set through ``testing.*`` settings and handed to the service at start as one
``Faults`` object; nothing in the pipeline, text or dedup code knows about
them. A production config never sets them, and then every hook is a no-op.
"""

from __future__ import annotations

import logging
import os
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
