"""A broker that comes back empty on the same address: said once, recovered from, not exited on.

The embedded broker keeps nothing across a restart, which is the fault: the
journal, the outputs and the committed offsets are gone while the service
runs. Before, the service exited 1 with ``UnknownProducerIdError`` while
recovery wrote checkpoints, or sat unassigned and silent with inputs waiting.
Now it logs "journal and offsets gone: the broker was reset" with what it
detected, re-creates its producer, recovers (an empty journal: a fresh index,
each partition from ``auto_offset_reset``) and publishes the new inputs, each
exactly once, without exiting.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from streamer.broker import BrokerUnavailable, EmbeddedBroker
from streamer.demo import sample_feed
from tests.conftest import external_bootstrap, make_settings
from tests.kafka.kafkautil import (
    assert_exactly_once,
    key_of,
    produce,
    read_outputs,
    start_service,
    wait_for,
    write_config,
)

pytestmark = [
    pytest.mark.kafka,
    pytest.mark.slow,
    pytest.mark.skipif(external_bootstrap() is not None, reason="restarts the embedded broker"),
]

RESET_LINE = "journal and offsets gone: the broker was reset"


def restart_on(port: int, log_path: Path) -> EmbeddedBroker:
    """The broker again on ``port``; a port just freed may refuse a bind for a moment."""
    deadline = time.monotonic() + 30
    while True:
        try:
            return EmbeddedBroker(port=port, log_path=log_path).start()
        except BrokerUnavailable:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)


def events(log: Path) -> list[dict]:
    out = []
    for line in log.read_text(errors="replace").splitlines():
        try:
            out.append(json.loads(line))
        except ValueError:
            continue
    return out


def test_broker_restarted_empty_is_detected_and_recovered_from(tmp_path: Path) -> None:
    broker = EmbeddedBroker(log_path=tmp_path / "broker.log").start()
    log = tmp_path / "run.log"
    proc = None
    try:
        settings = make_settings(broker.bootstrap, kafka={"max_poll_records": 20})
        feed = sample_feed()
        produce(settings, feed, [key_of(v) for v in feed])
        proc = start_service(write_config(settings, tmp_path / "s.yaml"), log=log)

        def published() -> int:
            return sum(len(v) for v in read_outputs(settings).values())

        assert wait_for(lambda: published() >= len(feed), 90, interval=0.5), log.read_text()[-3000:]

        broker.stop()
        broker = restart_on(broker.port, tmp_path / "broker2.log")
        back_at = time.monotonic()
        after = feed[:10]  # fewer than before: offsets the service held are past the new ends
        produce(settings, after, [key_of(v) for v in after])

        assert wait_for(lambda: RESET_LINE in log.read_text(), 60), log.read_text()[-3000:]
        print(f"reset said {time.monotonic() - back_at:.1f}s after the broker came back")
        assert wait_for(lambda: published() >= len(after), 60, interval=0.5), log.read_text()[
            -3000:
        ]
        assert proc.poll() is None, "the service exited instead of recovering"
        outputs = read_outputs(settings)
        assert_exactly_once(settings, outputs)
        assert sum(len(v) for v in outputs.values()) == len(after)

        reset = [e for e in events(log) if e["event"] == RESET_LINE]
        assert len(reset) == 1, reset
        assert reset[0]["level"] == "error"
        assert set(reset[0]["detected"]) & {"end_went_down", "input_went_back", "topics_missing"}
        names = [e["event"] for e in events(log)]
        after_reset = names[names.index(RESET_LINE) :]
        assert "recovered" in after_reset and "batch committed" in after_reset
        assert "fatal error, exiting" not in names
    finally:
        if proc is not None and proc.poll() is None:
            proc.terminate()
            proc.wait(timeout=30)
        broker.stop()
    assert proc.returncode == 0
