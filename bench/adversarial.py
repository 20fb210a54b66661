"""The worst cost of one record under the size limit: the adversarial set, timed.

    python -m bench.adversarial [--only CASE ...] [--max-bytes N] [--budget S] [--sweep]

The cases are ``streamer.evaluation.adversarial``'s. ``--sweep``
times each case at growing sizes (1/16 .. 1/1 of the limit) and fits the growth
exponent of its time (1 is linear, 2 quadratic); a size that takes longer than the
budget ends the sweep of that case, so a quadratic case on an old checkout costs
one slow point, not ten. Without ``--sweep`` every case runs once at the full size,
which is what ``make bench`` reports: the worst record and its case, goal <= 1 s.

The deadline (``limits.prepare_deadline_s``) is switched off here: the bench measures
what a record costs, not where the deadline cuts it.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass

import orjson

from streamer.config import Settings
from streamer.evaluation.adversarial import CASES, LEAD
from streamer.pipeline import Preparer
from streamer.records import InputRecord, Result

MAX_BYTES = 524_288
# Room for the id, the other fields and JSON escaping below the message limit.
_MARGIN = 2_048


def _preparer() -> Preparer:
    return Preparer(Settings.model_validate({"limits": {"prepare_deadline_s": 0}}))


def time_one(preparer: Preparer, value: bytes) -> tuple[float, str]:
    """CPU seconds ``prepare_one`` takes on one record, and what came out (ok or the reason).

    CPU time, as the deadline counts it: on this shared machine wall time moves with
    the other tenants' load by a factor of two or more; a record's CPU time does not.
    """
    record = InputRecord(value=value, topic="adversarial", partition=0, offset=0)
    started = time.process_time()
    out = preparer.prepare_one(record)
    seconds = time.process_time() - started
    if isinstance(out, Result):
        return seconds, out.error.type if out.error else "deadletter"
    return seconds, "ok"


def growth_exponent(points: list[tuple[int, float]]) -> float | None:
    """Least-squares slope of log(seconds) on log(bytes), over points above timer noise."""
    usable = [(math.log(n), math.log(t)) for n, t in points if t >= 0.005]
    if len(usable) < 2:
        return None
    mx = sum(x for x, _ in usable) / len(usable)
    my = sum(y for _, y in usable) / len(usable)
    sxx = sum((x - mx) ** 2 for x, _ in usable)
    if sxx == 0:
        return None
    return sum((x - mx) * (y - my) for x, y in usable) / sxx


@dataclass
class Measured:
    case: str
    bytes: int
    seconds: float
    outcome: str
    exponent: float | None = None
    complete: bool = True  # False when the budget ended the sweep before the full size


def measure(
    name: str,
    preparer: Preparer,
    max_bytes: int = MAX_BYTES - _MARGIN,
    sweep: bool = False,
    budget: float = 5.0,
) -> Measured:
    """The case at the full size (or swept up to it); see the module docstring."""
    case = CASES[name]
    sizes = [max_bytes // d for d in (16, 8, 4, 2, 1)] if sweep else [max_bytes]
    points: list[tuple[int, float]] = []
    outcome = "ok"
    for size in sizes:
        value = case.record(name, size)
        seconds, outcome = time_one(preparer, value)
        points.append((len(value), seconds))
        if seconds > budget:
            break
    n, t = points[-1]
    return Measured(name, n, t, outcome, growth_exponent(points), len(points) == len(sizes))


def run(
    names: list[str] | None = None,
    max_bytes: int = MAX_BYTES - _MARGIN,
    sweep: bool = False,
    budget: float = 5.0,
    progress: Callable[[Measured], None] | None = None,
) -> list[Measured]:
    preparer = _preparer()
    time_one(preparer, orjson.dumps({"id": "warm", "body": LEAD + "\u00e9 warm up", "html": None}))
    out = []
    for name in names or list(CASES):
        m = measure(name, preparer, max_bytes, sweep, budget)
        out.append(m)
        if progress is not None:
            progress(m)
    return out


def _print(m: Measured) -> None:
    exp = "-" if m.exponent is None else f"{m.exponent:.2f}"
    mark = "" if m.complete else "  (budget hit before full size)"
    print(
        f"{m.case:34s} {m.bytes:8d} B  {m.seconds:8.3f} s  exp {exp:>5s}  {m.outcome}{mark}",
        flush=True,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.adversarial", description=__doc__)
    parser.add_argument("--only", action="append", choices=sorted(CASES))
    parser.add_argument("--max-bytes", type=int, default=MAX_BYTES - _MARGIN)
    parser.add_argument("--budget", type=float, default=5.0)
    parser.add_argument("--sweep", action="store_true")
    args = parser.parse_args(argv)
    results = run(args.only, args.max_bytes, args.sweep, args.budget, _print)
    worst = max(results, key=lambda m: m.seconds)
    print(f"worst: {worst.case} {worst.seconds:.3f} s at {worst.bytes} B (goal <= 1 s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
