"""SIGTERM honoured where the broker does not answer: during recovery and in the loop.

The embedded broker frozen with SIGSTOP is a broker that accepts connections
and never answers, which is where a Kafka client waits longest. Before, the
service ignored SIGTERM for 60 s in such a wait. Here recovery is cut short by
the signal (an interruptible stage), and in the loop the signal is taken
between polls and the group left within the close bound; both exit 0 with
"service stopped" as the last line. (The start stage is in
tests/deploy/test_fault_lines.py; a batch that never ends, in
test_readiness_faults.py.)
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest

from streamer.broker import EmbeddedBroker
from streamer.demo import sample_feed
from tests.conftest import external_bootstrap, make_settings
from tests.deploy.test_health_and_logs import Service, assert_json_lines, write_raw_config
from tests.kafka.kafkautil import key_of, produce, wait_for

pytestmark = [
    pytest.mark.kafka,
    pytest.mark.slow,
    pytest.mark.skipif(external_bootstrap() is not None, reason="freezes the embedded broker"),
]


def frozen_then_terminated(tmp_path: Path, freeze_at: str, feed: bool) -> dict:
    """Freeze the broker once ``freeze_at`` is logged, SIGTERM the service; its last line."""
    with EmbeddedBroker(log_path=tmp_path / "broker.log") as broker:
        assert broker.proc is not None
        settings = make_settings(broker.bootstrap)
        if feed:
            values = sample_feed()
            produce(settings, values, [key_of(v) for v in values])
        config = write_raw_config(settings.model_dump(mode="json"), tmp_path / "s.yaml")
        svc = Service(config, tmp_path)
        try:
            assert wait_for(lambda: freeze_at in svc.stderr(), 60, interval=0.02), svc.stderr()
            os.kill(broker.proc.pid, signal.SIGSTOP)
            try:
                time.sleep(1)
                rc, _ = svc.terminate(bound=20.0)
            finally:
                os.kill(broker.proc.pid, signal.SIGCONT)
        finally:
            svc.kill()
    assert rc == 0, svc.stderr()[-3000:]
    return assert_json_lines(svc.stderr())[-1]


def test_sigterm_during_recovery_with_the_broker_frozen(tmp_path: Path) -> None:
    last = frozen_then_terminated(tmp_path, '"event": "recovery started"', feed=True)
    assert last["event"] == "service stopped", last
    assert last["interrupted"] == "recovery", last


def test_sigterm_in_the_loop_with_the_broker_frozen(tmp_path: Path) -> None:
    last = frozen_then_terminated(tmp_path, '"event": "recovered"', feed=False)
    assert last["event"] == "service stopped", last
