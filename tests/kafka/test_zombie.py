"""No zombie output: a batch that outlived its owner's membership is not published by it.

Issue 15, item 1. Two real ``streamer run`` instances in one group, one input
partition each, a short ``max_poll_interval_ms``. The stream goes to the first
instance's partition; its batch that decides the slow article
(``testing.slow_on_id``) stalls, once, far past the interval. Its heartbeat
thread leaves the group; the second instance takes the partition over,
recovers it and publishes that batch and the rest of the stream. Only then
does the test let the first one wake up: it must give its batch up rather than
publish it a second time.
"""

from __future__ import annotations

import json
import re
import signal
import subprocess
from pathlib import Path

import pytest

from streamer.kafka.clients import ensure_topics
from tests.conftest import make_settings
from tests.kafka.kafkautil import key_of, produce, start_service, wait_for, write_config
from tests.kafka.test_exactly_once import check, output_count, stream_values, with_testing

pytestmark = [pytest.mark.kafka, pytest.mark.slow]


def events(path: Path) -> list[dict[str, object]]:
    out = []
    for line in path.read_text().splitlines():
        try:
            out.append(json.loads(line))
        except ValueError:
            continue
    return out


def held(path: Path) -> list[int]:
    """The input partitions an instance's last assignment gave it."""
    assigned = [e for e in events(path) if e.get("event") == "partitions assigned"]
    if not assigned:
        return []
    return [int(m) for m in re.findall(r"partition=(\d+)", str(assigned[-1]["partitions"]))]


def after_stall(path: Path) -> list[str]:
    """What the stalled instance did with the batch it stalled in."""
    seen = [str(e.get("event")) for e in events(path)]
    if "test stall hook firing" not in seen:
        return []
    rest = seen[seen.index("test stall hook firing") + 1 :]
    return [e for e in rest if e in ("batch given up: membership lost", "batch committed")]


def test_a_batch_that_outlived_its_membership_is_not_published(
    bootstrap: str, tmp_path: Path
) -> None:
    settings = make_settings(
        bootstrap, partitions=2, kafka={"max_poll_records": 20, "max_poll_interval_ms": 8000}
    )
    ensure_topics(settings)
    values = stream_values(200)
    slow_id = json.loads(values[50])["id"]  # in the third batch: 40..59
    release = tmp_path / "release"
    stalling = with_testing(
        settings, slow_on_id=slow_id, slow_seconds=180, slow_until_file=str(release)
    )
    first_log, second_log = tmp_path / "first.log", tmp_path / "second.log"
    first = start_service(write_config(stalling, tmp_path / "first.yaml"), log=first_log)
    second = start_service(write_config(settings, tmp_path / "second.yaml"), log=second_log)
    try:
        # Both members hold one partition each before any input arrives.
        assert wait_for(lambda: len(held(first_log)) == len(held(second_log)) == 1, timeout=90)
        (partition,) = held(first_log)
        produce(settings, values, [key_of(v) for v in values], partition=partition)
        assert wait_for(lambda: "test stall hook firing" in first_log.read_text(), timeout=60)

        # The second instance publishes everything, the stalled batch included, while
        # the first is still inside it.
        assert wait_for(lambda: output_count(settings) >= len(values), timeout=120, interval=0.5)
        assert partition in held(second_log)
        assert first.poll() is None and not after_stall(first_log)
        release.touch()
        assert wait_for(lambda: after_stall(first_log), timeout=60)
        for proc in (first, second):
            proc.send_signal(signal.SIGTERM)
        assert first.wait(timeout=60) == 0, first_log.read_text()[-3000:]
        assert second.wait(timeout=60) == 0, second_log.read_text()[-3000:]
    finally:
        stop(first, second)

    check(settings, values)  # every input once, no key twice, the uninterrupted decisions
    assert after_stall(first_log)[0] == "batch given up: membership lost"
    given_up = [e for e in events(first_log) if e.get("event") == "batch given up: membership lost"]
    assert [e["step"] for e in given_up] == ["produce"], given_up


def stop(*procs: subprocess.Popen[bytes]) -> None:
    for proc in procs:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
