"""The per-record deadline: a record slow to prepare becomes a ``too_slow`` dead letter.

The slow record is slow by construction (``faults.slow_by_construction``: a regex that
backtracks ~2^64 steps, or one call into C that never checks for signals), so each
test would hang, not merely run long, if the deadline did not hold. Nothing here
asserts a duration.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import threading

import pytest

from streamer.config import LimitSettings, Settings
from streamer.deadline import Overrun, can_interrupt, deadline
from streamer.faults import Faults, slow_by_construction
from streamer.metrics import DEADLETTER_REASONS
from streamer.models import Outcome
from streamer.pipeline import Pipeline, Preparer
from streamer.records import InputRecord, Prepared, Result
from streamer.workers import PreparePool

BODY = "The central bank raised its benchmark rate by a quarter point on Tuesday."


def settings(deadline_s: float = 0.3, **testing: object) -> Settings:
    return Settings.model_validate(
        {"limits": {"prepare_deadline_s": deadline_s}, "testing": testing}
    )


def record(article_id: str, offset: int, body: str = BODY) -> InputRecord:
    value = json.dumps({"id": article_id, "title": f"Story {offset}", "body": body}).encode()
    return InputRecord(
        value=value, key=article_id.encode(), topic="news.raw", partition=2, offset=offset
    )


def assert_too_slow(out: Prepared | Result, rec: InputRecord) -> None:
    """A dead letter like every other: reason, raw bytes, the input's position."""
    assert isinstance(out, Result) and out.outcome is Outcome.DEADLETTER
    assert out.error is not None and out.error.type == "too_slow"
    letter = json.loads(out.value)
    assert letter["error"]["type"] == "too_slow"
    assert letter["raw"].encode() == rec.value
    assert (letter["topic"], letter["partition"], letter["offset"]) == (
        rec.topic,
        rec.partition,
        rec.offset,
    )
    assert out.key == rec.key
    assert out.headers() == rec.headers()


def test_too_slow_is_a_known_reason() -> None:
    assert "too_slow" in DEADLETTER_REASONS


def test_the_alarm_interrupts_a_backtracking_regex() -> None:
    with pytest.raises(Overrun), deadline(0.2):
        slow_by_construction()
    assert signal.getitimer(signal.ITIMER_PROF) == (0.0, 0.0)


def test_an_overrun_swallowed_by_library_code_comes_again() -> None:
    with pytest.raises(Overrun), deadline(0.2):
        with contextlib.suppress(BaseException):  # what a careless library fallback does
            slow_by_construction()
        slow_by_construction()


def test_nothing_is_raised_after_the_block() -> None:
    with deadline(0.05):
        pass
    assert signal.getitimer(signal.ITIMER_PROF) == (0.0, 0.0)
    # Spend well past the deadline outside it: no Overrun arrives.
    total = 0
    for i in range(3_000_000):
        total += i
    assert total > 0


def test_off_the_main_thread_nothing_is_armed() -> None:
    seen: list[object] = []

    def run() -> None:
        seen.append(can_interrupt())
        with deadline(0.01):
            seen.append(signal.getitimer(signal.ITIMER_PROF))

    t = threading.Thread(target=run)
    t.start()
    t.join()
    assert seen == [False, (0.0, 0.0)]
    assert can_interrupt()


def test_a_slow_record_is_a_too_slow_dead_letter_and_the_next_one_is_prepared() -> None:
    s = settings(slow_prepare_on_id="slow")
    preparer = Faults(s.testing).preparer(s)
    slow, after = record("slow", 11), record("after", 12)
    assert_too_slow(preparer.prepare_one(slow), slow)
    assert isinstance(preparer.prepare_one(after), Prepared)


def test_a_batch_goes_on_past_a_slow_record() -> None:
    s = settings(slow_prepare_on_id="slow")
    pipe = Pipeline(s, preparer=Faults(s.testing).preparer(s))
    other = "Copper futures fell for a third day as warehouse stocks in Shanghai grew."
    batch = [record("a", 1), record("slow", 2), record("b", 3, body=other)]
    results = pipe.process(batch)
    assert [r.outcome for r in results] == [Outcome.CLEAN, Outcome.DEADLETTER, Outcome.CLEAN]
    assert_too_slow(results[1], batch[1])


def test_off_the_main_thread_a_record_past_the_deadline_is_judged_too_slow() -> None:
    """No alarm there, so the record runs to its end, then counts as too slow."""
    s = settings(deadline_s=0.000_001)
    long = record("long", 5, body=(BODY + " ") * 400)
    outs: list[Prepared | Result] = []
    t = threading.Thread(target=lambda: outs.append(Preparer(s).prepare_one(long)))
    t.start()
    t.join()
    assert_too_slow(outs[0], long)


def test_no_deadline_when_it_is_zero() -> None:
    s = settings(deadline_s=0)
    assert isinstance(Preparer(s).prepare_one(record("a", 1)), Prepared)


def test_the_setting_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STREAMER_LIMITS__PREPARE_DEADLINE_S", "2.5")
    assert Settings().limits.prepare_deadline_s == 2.5
    assert LimitSettings().prepare_deadline_s == 5.0


# -- the prepare pool ----------------------------------------------------------------------------


def pool_batch() -> list[InputRecord]:
    return [
        record("bad" if i == 5 else f"a{i}", 100 + i, body=f"{BODY} Item {i}.") for i in range(12)
    ]


Batch = list[InputRecord]
Results = list[tuple[Prepared | Result, float]]


def run_pool(s: Settings) -> tuple[list[tuple[Batch, Results]], int]:
    """Two batches through a two-worker pool: each batch with its results, and how many
    workers were replaced."""
    pool = PreparePool(s, workers=2, faults=Faults(s.testing))
    try:
        batches = [pool_batch() for _ in range(2)]
        return [(b, list(pool.prepare(b))) for b in batches], pool.replaced
    finally:
        pool.close()


def check_batch(batch: Batch, results: Results, reason: str) -> None:
    assert len(results) == len(batch)
    for rec, (out, _) in zip(batch, results, strict=True):
        assert out.source is rec  # in input order, each tied to its own input
        if rec.offset == 105:
            assert isinstance(out, Result) and out.error is not None
            assert out.error.type == reason
            letter = json.loads(out.value)
            assert letter["raw"].encode() == rec.value and letter["offset"] == rec.offset
        else:
            assert isinstance(out, Prepared)


def test_pool_worker_stops_a_slow_record_at_its_deadline() -> None:
    batches, replaced = run_pool(settings(slow_prepare_on_id="bad"))
    for batch, results in batches:
        check_batch(batch, results, "too_slow")
    assert replaced == 0  # the alarm stopped it: the worker went on


def test_pool_watchdog_kills_a_worker_the_alarm_cannot_stop() -> None:
    batches, replaced = run_pool(settings(slow_prepare_on_id="bad", slow_prepare_in_c=True))
    for batch, results in batches:
        check_batch(batch, results, "too_slow")
    assert replaced == 2  # once per batch: killed, replaced, the rest of its chunk redone


def test_pool_replaces_a_worker_that_dies() -> None:
    batches, replaced = run_pool(settings(exit_prepare_on_id="bad"))
    for batch, results in batches:
        check_batch(batch, results, "processing_error")
    assert replaced == 2
    out = batches[0][1][5][0]
    assert isinstance(out, Result) and out.error is not None
    assert "exit code 139" in out.error.message


def test_pool_workers_ignore_the_signals_a_process_group_gets() -> None:
    """Ctrl-C or a service manager signals every process of the group: the parent
    finishes its batch, so its workers must not die under it."""
    s = settings()
    pool = PreparePool(s, workers=2)
    try:
        for w in pool._workers:
            os.kill(w.process.pid, signal.SIGINT)
            os.kill(w.process.pid, signal.SIGTERM)
        batch = [record(f"a{i}", i, body=f"{BODY} Item {i}.") for i in range(6)]
        results = list(pool.prepare(batch))
        assert all(isinstance(out, Prepared) for out, _ in results)
        assert pool.replaced == 0
        assert all(w.process.is_alive() for w in pool._workers)
    finally:
        pool.close()
