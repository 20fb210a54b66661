"""A time limit on preparing one record, enforced by a CPU-time alarm in the preparing thread.

Preparing is pure computation, so a record that takes long is a pathological input
(a regex backtracking, a pass gone quadratic), and one such record must not hold up
the partition behind it. ``deadline(seconds)`` arms ``ITIMER_PROF`` (CPU time of the
process) and raises ``Overrun`` into the code it wraps once that much CPU time is spent:

* CPython runs signal handlers between bytecodes of the main thread, and the ``re``
  engine checks for signals while it matches (3.11: a catastrophic backtracking match
  stops within a millisecond of the alarm), so both Python code and regexes are
  interrupted. A single call into C that does not check (a ``str`` method on a huge
  string, an lxml parse) finishes first; the passes are linear, which bounds those,
  and the prepare pool's watchdog (``workers``) kills a worker stuck in one.
* CPU time rather than wall time: whether a record is too slow then depends on the
  record, not on how busy the machine is, so a replay after a crash decides it the
  same way and a loaded machine does not dead-letter ordinary articles. (It counts
  every thread of the process; the service's other threads are mostly idle.)
* SIGPROF, not SIGALRM: test runners and other libraries use SIGALRM for their own
  timeouts; SIGPROF only matters to signal-based profilers.
* ``Overrun`` is a ``BaseException`` and the alarm repeats every few milliseconds
  until the wrapped code returns, so a library's broad ``except`` (trafilatura's
  fallback, ftfy's guard) that swallows one does not keep the record running.

Only the main thread receives signals, and every role prepares there (the service
loop in ``all`` and ``prepare``, each worker process of the pool). Called from another
thread, ``deadline`` arms nothing; ``spent_past`` then tells afterwards that the limit
was passed, so the record is judged the same way, only not interrupted.
"""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Any

# How often the alarm repeats once it has fired, until the wrapped code returns.
_REPEAT_S = 0.005


class Overrun(BaseException):
    """Raised into code that has used up its deadline.

    A ``BaseException``, so that ``except Exception`` in the code it interrupts does
    not take it for an error of its own.
    """


class _State:
    active = False
    installed = False
    previous: Any = None


_state = _State()


def _on_alarm(signum: int, frame: FrameType | None) -> None:
    if _state.active:
        raise Overrun()
    previous = _state.previous
    if callable(previous):  # someone else's SIGPROF handler, from before ours
        previous(signum, frame)


def can_interrupt() -> bool:
    """Whether ``deadline`` can interrupt here (the main thread of a process)."""
    return threading.current_thread() is threading.main_thread() and hasattr(signal, "setitimer")


@contextmanager
def deadline(seconds: float) -> Iterator[None]:
    """Raise ``Overrun`` inside the block once it has used ``seconds`` of CPU time.

    No limit when ``seconds`` is 0 or less, or outside the main thread. Not reentrant.
    """
    if seconds <= 0 or not can_interrupt():
        yield
        return
    if _state.active:
        raise RuntimeError("deadline() does not nest")
    if not _state.installed:
        # Installed once and left in place: a SIGPROF still pending after the block
        # must meet a handler that ignores it, not the default action (terminate).
        _state.previous = signal.signal(signal.SIGPROF, _on_alarm)
        _state.installed = True
    _state.active = True
    try:
        signal.setitimer(signal.ITIMER_PROF, seconds, _REPEAT_S)
        yield
    finally:
        _state.active = False
        signal.setitimer(signal.ITIMER_PROF, 0)


def cpu_seconds() -> float:
    """The CPU time ``deadline`` counts: the whole process's."""
    return time.process_time()


def spent_past(started: float, seconds: float) -> bool:
    """Whether more than ``seconds`` of CPU time went by since ``cpu_seconds()`` was ``started``."""
    return seconds > 0 and cpu_seconds() - started > seconds
