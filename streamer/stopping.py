"""SIGTERM honoured at every stage of a service's life, within a bound.

The loop checks the stop event between batches, so a batch in hand is finished,
journaled and committed before the service leaves. Other stages cannot check an
event: a Kafka client's constructor bootstraps inside kafka-python, an admin
call waits on the broker, recovery reads a journal that may take a minute.
Those stages are entered as *interruptible*: a signal arriving there raises
``Interrupted`` in the main thread (where Python runs signal handlers), which
unwinds the blocking call at once. Nothing is lost by it: each such stage is
one a crash may already interrupt (the batch order makes every crash safe).

Behind both, a watchdog: once a signal arrived, the process exits within
``shutdown_timeout_s`` even if a stage is stuck where neither reaches it (a
flush to a frozen broker, a close that waits for an answer), after one log line
naming the stage.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import threading
import time
from collections.abc import Iterator
from typing import Any

log = logging.getLogger(__name__)


class Interrupted(Exception):
    """A stop signal arrived while the main thread was in an interruptible stage."""

    def __init__(self, stage: str) -> None:
        super().__init__(f"stopped by a signal during {stage}")
        self.stage = stage


class Stop(threading.Event):
    """The stop event, knowing which stage the service is in and whether it can be cut short."""

    def __init__(self, shutdown_timeout_s: float = 25.0) -> None:
        super().__init__()
        self.shutdown_timeout_s = shutdown_timeout_s
        self.stage = "starting"
        self.interruptible = False
        self.signalled_at: float | None = None
        self._watchdog: threading.Timer | None = None

    @contextlib.contextmanager
    def entering(self, name: str, interruptible: bool = False) -> Iterator[None]:
        """Run the block as stage ``name``; an interruptible one raises ``Interrupted`` on a
        signal, and at once if the signal came before it started."""
        outer = (self.stage, self.interruptible)
        self.stage = name
        if interruptible and self.is_set():
            self.stage, self.interruptible = outer
            raise Interrupted(name)
        self.interruptible = interruptible
        try:
            yield
        finally:
            self.stage, self.interruptible = outer

    def signalled(self, signum: int) -> None:
        """The signal handler's work: set, arm the watchdog, cut an interruptible stage short."""
        first = not self.is_set()
        log.info(
            "signal received, finishing the current batch",
            extra={"signal": signum, "stage": self.stage},
        )
        self.set()
        if first:
            self.signalled_at = time.monotonic()
            self._watchdog = threading.Timer(self.shutdown_timeout_s, self._overrun)
            self._watchdog.daemon = True
            self._watchdog.start()
        if self.interruptible:
            self.interruptible = False  # raised once; the unwinding itself is not cut short
            raise Interrupted(self.stage)

    def disarm(self) -> None:
        """No watchdog after all (a caller that lives on after the stop, as a test does)."""
        if self._watchdog is not None:
            self._watchdog.cancel()

    def _overrun(self) -> None:
        log.error(
            "did not stop in time after the signal, exiting now",
            extra={"stage": self.stage, "shutdown_timeout_s": self.shutdown_timeout_s},
        )
        logging.shutdown()
        os._exit(1)

    def install(self) -> None:
        def handler(signum: int, _frame: Any) -> None:
            self.signalled(signum)

        signal.signal(signal.SIGTERM, handler)
        signal.signal(signal.SIGINT, handler)


@contextlib.contextmanager
def stage(stop: threading.Event, name: str, interruptible: bool = False) -> Iterator[None]:
    """``Stop.entering`` for any event: services run in-process (tests) get a plain Event."""
    if isinstance(stop, Stop):
        with stop.entering(name, interruptible):
            yield
    else:
        yield
