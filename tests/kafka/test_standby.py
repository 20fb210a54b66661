"""Warm standby (issue 16) with real processes: a writer killed with SIGKILL, a standby that
kept its index from the journal takes over.

Each test runs two ``--role all`` instances in one group over one input partition, so that
the decisions can be compared with an uninterrupted run of the file path over the same order:

* the standby joins while the writer runs and does not take the partition from it (sticky
  assignment); the writer's own recoveries after the join read nothing it had not written;
* the writer is killed mid-stream; the standby's take-over starts from the journal position
  its index had reached (``warm``, ``journal_from`` > 0), not from a fresh index;
* a writer that loses its partition (paused past its session while idle) stands by with
  the index it had, tails the new writer's journal, and takes over again from there;
* every input lands exactly once, no output key twice, and the decisions are the
  uninterrupted run's.
"""

from __future__ import annotations

import signal
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from streamer.config import Settings
from tests.conftest import REUTERS, make_settings
from tests.kafka.kafkautil import http_get, key_of, produce, wait_for, write_config
from tests.kafka.test_exactly_once import check, output_count, undated_first_stream, with_testing
from tests.kafka.test_roles import (
    Proc,
    events,
    last_assignment,
    metric_sum,
    stop_all,
    wait_all_published,
)

pytestmark = [
    pytest.mark.kafka,
    pytest.mark.slow,
    # A stream long enough for the kill to land mid-way (the sample feed is over in a second).
    pytest.mark.skipif(not REUTERS.is_file(), reason=f"Reuters corpus not found at {REUTERS}"),
]

STREAM = 10_000  # Reuters stories, and a bad record every 20th


def recoveries(proc: Proc) -> list[dict[str, Any]]:
    return [e for e in events(proc.log) if e["event"] == "recovered"]


def assignments(proc: Proc) -> list[list[str]]:
    return [e["partitions"] for e in events(proc.log) if e["event"] == "partitions assigned"]


def lag(proc: Proc) -> float | None:
    """The standby's exported lag; None until the instance has reported one."""
    status, body = http_get(proc.port, "/metrics")
    if status != 200 or "\nstreamer_standby_lag_records " not in body:
        return None
    return metric_sum(proc.port, "streamer_standby_lag_records")


class IdleProc(Proc):
    """A ``streamer run`` that exits 0 once it holds a partition and nothing arrived for 8 s."""

    def start(self, *extra: str) -> IdleProc:
        super().start("--exit-when-idle", "8", *extra)
        return self


def start_pair(
    bootstrap: str, tmp_path: Path, standby_testing: dict[str, Any] | None = None
) -> tuple[Settings, list[bytes], Proc, IdleProc]:
    """The stream produced; a writer and a standby (not started) with their configs."""
    settings = make_settings(
        bootstrap,
        kafka={"max_poll_records": 20},
        metrics={"enabled": True, "port": 0, "host": "127.0.0.1"},
    )
    values = undated_first_stream(STREAM)
    produce(settings, values, [key_of(v) for v in values])
    config = write_config(settings, tmp_path / "writer.yaml")
    standby_settings = with_testing(settings, **(standby_testing or {}))
    standby_config = write_config(standby_settings, tmp_path / "standby.yaml")
    group = settings.kafka.group_id
    writer = Proc("writer", config, "all", group, tmp_path)
    standby = IdleProc("standby", standby_config, "all", group, tmp_path)
    return settings, values, writer, standby


def fail_over(
    settings: Settings, writer: Proc, standby: IdleProc, before_kill: Callable[[], None]
) -> None:
    """The writer; the standby once it publishes; ``before_kill``; kill -9 of the writer;
    the standby takes over and finishes the stream."""
    writer.start()
    assert wait_for(lambda: output_count(settings) > 0, 90, 0.2), writer.tail()
    standby.start()
    assert wait_for(lambda: last_assignment(standby.log) is not None, 60), standby.tail()
    assert last_assignment(standby.log) == [], "the joining standby took the partition"
    before_kill()
    published = output_count(settings)
    writer.kill()
    assert published < STREAM, f"the writer finished before the kill ({published})"
    assert standby.proc is not None
    rc = standby.proc.wait(timeout=240)
    assert rc == 0, standby.tail()
    assert all(a == [] for a in assignments(standby)[:-1]), assignments(standby)


def check_take_over(writer: Proc, standby: Proc) -> dict[str, Any]:
    """One take-over, from the position the standby's index had reached; the writer's
    recoveries after its first (each join of the standby) read nothing it had not written."""
    took_over = recoveries(standby)
    assert len(took_over) == 1, took_over
    assert took_over[0]["warm"] and took_over[0]["journal_from"] > 0, took_over
    again = recoveries(writer)[1:]
    assert again, "the standby's join did not reach the writer"
    for rec in again:
        assert rec["warm"] and rec["journal_records"] == 0, rec
    return took_over[0]


def test_warm_standby_takes_over_a_kill9_exactly_once(bootstrap: str, tmp_path: Path) -> None:
    settings, values, writer, standby = start_pair(bootstrap, tmp_path)

    def before_kill() -> None:
        # Warm: its lag is small while the writer goes on writing.
        def warm() -> bool:
            behind = lag(standby)
            return behind is not None and behind < 200

        assert wait_for(warm, 60, 0.2), standby.tail()
        assert wait_for(lambda: output_count(settings) >= 3000, 90, 0.2), writer.tail()
        assert warm(), standby.tail()

    try:
        fail_over(settings, writer, standby, before_kill)
    finally:
        writer.cleanup()
        standby.cleanup()
    check(settings, values)
    check_take_over(writer, standby)


def test_standby_still_catching_up_takes_over_exactly_once(bootstrap: str, tmp_path: Path) -> None:
    # The standby applies 100 journal records a second: at the kill it is far behind.
    settings, values, writer, standby = start_pair(
        bootstrap, tmp_path, {"standby_throttle_per_s": 100}
    )

    def before_kill() -> None:
        assert wait_for(lambda: (lag(standby) or 0) > 0, 60, 0.2), standby.tail()
        assert wait_for(lambda: output_count(settings) >= 3000, 90, 0.2), writer.tail()

    try:
        fail_over(settings, writer, standby, before_kill)
    finally:
        writer.cleanup()
        standby.cleanup()
    check(settings, values)
    took_over = check_take_over(writer, standby)
    assert took_over["journal_records"] > 0, "the standby had caught up before the take-over"


def test_writer_that_loses_its_partition_stands_by_with_its_index(
    bootstrap: str, tmp_path: Path
) -> None:
    """A writer paused (SIGSTOP) while idle loses its partition to the standby; resumed, it
    stands by with the index it had and tails what the new writer journals; when that one
    is killed, it takes over from there: no index rebuilt, the uninterrupted run's decisions."""
    settings = make_settings(
        bootstrap,
        kafka={"max_poll_records": 20},
        metrics={"enabled": True, "port": 0, "host": "127.0.0.1"},
    )
    values = undated_first_stream(4000)
    first, second = values[:2000], values[2000:]
    config = write_config(settings, tmp_path / "s.yaml")
    group = settings.kafka.group_id
    a = Proc("a", config, "all", group, tmp_path)
    b = Proc("b", config, "all", group, tmp_path)
    try:
        produce(settings, first, [key_of(v) for v in first])
        a.start()
        assert wait_for(lambda: output_count(settings) >= len(first), 120, 0.5), a.tail()
        b.start()
        assert wait_for(lambda: last_assignment(b.log) == [] and lag(b) == 0, 60), b.tail()

        assert a.proc is not None
        a.proc.send_signal(signal.SIGSTOP)  # idle: no batch in hand
        try:
            assert wait_for(lambda: bool(last_assignment(b.log)), 60), b.tail()
        finally:
            a.proc.send_signal(signal.SIGCONT)
        held = len(assignments(a))
        assert wait_for(lambda: len(assignments(a)) > held and last_assignment(a.log) == [], 60), (
            a.tail()
        )

        produce(settings, second, [key_of(v) for v in second])
        assert wait_for(lambda: output_count(settings) >= len(first) + 300, 120, 0.2), b.tail()
        assert wait_for(lambda: (lag(a) or 0) < 200, 60, 0.2), a.tail()
        b.kill()
        assert output_count(settings) < len(values), "b finished before the kill"
        wait_all_published(settings, [a, b], timeout=180)
        stop_all([a])
    finally:
        a.cleanup()
        b.cleanup()

    check(settings, values)
    log = a.log.read_text()
    assert "index no longer follows the journal" not in log, "a rebuilt its index"
    before, took_over = recoveries(a)[0], recoveries(a)[-1]
    assert took_over["warm"] and took_over["journal_from"] > before["journal_from"], took_over
