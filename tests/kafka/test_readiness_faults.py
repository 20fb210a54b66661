"""/readyz as things are now: a frozen broker and a stuck batch turn it 503, and it comes back.

Before, ``broker_reachable`` was set once at start and nothing watched a batch:
/readyz stayed 200 with the broker frozen for 45 s and with one record stuck
for a minute. Here, with real processes: the embedded broker frozen with
SIGSTOP (the periodic broker check gets no answer), then thawed; one record
whose preparation stalls (``testing.stall_on_id``) past
``metrics.stuck_batch_seconds``; and SIGTERM during such a stall, which the
watchdog ends within ``shutdown_timeout_s`` with one line naming the stage.
"""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path

import pytest

from streamer.broker import EmbeddedBroker
from streamer.config import Settings
from streamer.demo import sample_feed
from tests.conftest import external_bootstrap, make_settings
from tests.deploy.test_health_and_logs import Service, assert_json_lines, write_raw_config
from tests.kafka.kafkautil import key_of, produce, wait_for

pytestmark = [pytest.mark.kafka, pytest.mark.slow]

FAST_CHECKS = {
    "enabled": True,
    "port": 0,
    "host": "127.0.0.1",
    "broker_check_interval_ms": 500,
    "broker_check_timeout_ms": 1000,
}


def start(settings: Settings, tmp_path: Path) -> Service:
    config = write_raw_config(settings.model_dump(mode="json"), tmp_path / "s.yaml")
    return Service(config, tmp_path)


def readyz(svc: Service) -> tuple[int | None, str]:
    return svc.get("/readyz")


@pytest.mark.skipif(external_bootstrap() is not None, reason="freezes the embedded broker")
def test_readyz_follows_a_frozen_broker_and_its_return(tmp_path: Path) -> None:
    with EmbeddedBroker(log_path=tmp_path / "broker.log") as broker:
        assert broker.proc is not None
        svc = start(make_settings(broker.bootstrap, metrics=FAST_CHECKS), tmp_path)
        try:
            assert wait_for(lambda: readyz(svc)[0] == 200, 60), svc.stderr()[-3000:]
            os.kill(broker.proc.pid, signal.SIGSTOP)
            try:
                assert wait_for(lambda: readyz(svc)[0] == 503, 30), readyz(svc)
                assert "broker_reachable=False" in readyz(svc)[1]
                assert svc.get("/healthz")[0] == 200  # alive, just not ready
            finally:
                os.kill(broker.proc.pid, signal.SIGCONT)
            assert wait_for(lambda: readyz(svc)[0] == 200, 60), (readyz(svc), svc.stderr()[-3000:])
            rc, _ = svc.terminate()
            assert rc == 0, svc.stderr()[-3000:]
        finally:
            svc.kill()


def stalled(bootstrap: str, seconds: float, **top: object) -> tuple[Settings, str]:
    """Settings whose service stalls ``seconds`` on one article of the sample feed."""
    feed = sample_feed()
    stall_id = json.loads(feed[0])["id"]
    settings = make_settings(
        bootstrap,
        metrics={**FAST_CHECKS, "stuck_batch_seconds": 2.0},
        testing={"stall_on_id": stall_id, "stall_seconds": seconds},
        **top,
    )
    produce(settings, feed, [key_of(v) for v in feed])
    return settings, stall_id


def test_readyz_503_while_a_batch_is_stuck_then_200(bootstrap: str, tmp_path: Path) -> None:
    settings, _ = stalled(bootstrap, seconds=10.0)
    svc = start(settings, tmp_path)
    try:
        assert wait_for(lambda: "batch_stuck=True" in readyz(svc)[1], 60), (
            readyz(svc),
            svc.stderr()[-3000:],
        )
        assert readyz(svc)[0] == 503
        assert wait_for(lambda: readyz(svc)[0] == 200, 60), readyz(svc)
        assert "batch_stuck=False" in readyz(svc)[1]
        rc, _ = svc.terminate()
        assert rc == 0
    finally:
        svc.kill()


def test_sigterm_during_a_stuck_batch_ends_by_the_watchdog(bootstrap: str, tmp_path: Path) -> None:
    settings, _ = stalled(bootstrap, seconds=300.0, shutdown_timeout_s=3.0)
    svc = start(settings, tmp_path)
    try:
        assert wait_for(lambda: "batch_stuck=True" in readyz(svc)[1], 60), svc.stderr()[-3000:]
        rc, _ = svc.terminate(bound=30.0)
    finally:
        svc.kill()
    assert rc == 1
    last = assert_json_lines(svc.stderr())[-1]
    assert last["event"] == "did not stop in time after the signal, exiting now", last
    assert last["stage"] == "loop"
