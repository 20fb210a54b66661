"""The rules behind SIGTERM at every stage, reset evidence and readiness, without a broker.

The behaviour of a process is tested with real processes (test_fault_lines,
test_readiness_faults, test_broker_reset); these pin the rules those rely on:
a signal cuts an interruptible stage short and nothing else, the watchdog
ends a process stuck after a signal, a polled record below the held position
is evidence of a reset, and a batch older than the bound is not ready.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from collections import namedtuple
from collections.abc import Iterator

import pytest
from kafka.structs import TopicPartition

from streamer.kafka.reset import BrokerReset, records_went_back
from streamer.metrics import Health
from streamer.stopping import Interrupted, Stop, stage
from tests.kafka.kafkautil import REPO

Rec = namedtuple("Rec", "topic partition offset")


@pytest.fixture
def stops() -> Iterator[list[Stop]]:
    """Stops made by a test, their watchdogs disarmed after it (one would end pytest)."""
    made: list[Stop] = []
    yield made
    for stop in made:
        stop.disarm()


def test_a_signal_cuts_only_an_interruptible_stage_short(stops: list[Stop]) -> None:
    stop = Stop()
    stops.append(stop)
    with stop.entering("loop"):
        stop.signalled(15)  # between batches: only the flag
    assert stop.is_set()
    assert stop.stage == "starting"

    stop = Stop()
    stops.append(stop)
    with pytest.raises(Interrupted) as caught, stop.entering("recovery", interruptible=True):
        stop.signalled(15)
    assert caught.value.stage == "recovery"
    assert not stop.interruptible and stop.stage == "starting"


def test_an_interruptible_stage_entered_after_the_signal_does_not_start(
    stops: list[Stop],
) -> None:
    stop = Stop()
    stops.append(stop)
    stop.signalled(15)
    ran = False
    with pytest.raises(Interrupted), stop.entering("topic admin", interruptible=True):
        ran = True
    assert not ran


def test_stage_is_a_no_op_for_a_plain_event() -> None:
    event = threading.Event()
    event.set()
    with stage(event, "recovery", interruptible=True):
        pass  # no Stop, no interruption: in-process services keep their plain event


def test_the_watchdog_ends_a_process_stuck_after_the_signal() -> None:
    script = (
        "import logging, sys, time\n"
        "from streamer.logs import setup_logging\n"
        "from streamer.stopping import Stop\n"
        "setup_logging('INFO', 'json')\n"
        "stop = Stop(shutdown_timeout_s=0.5)\n"
        "with stop.entering('shutdown'):\n"
        "    stop.signalled(15)\n"
        "    time.sleep(60)\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True, timeout=30
    )
    assert proc.returncode == 1, proc.stderr
    last = json.loads(proc.stderr.splitlines()[-1])
    assert last["event"] == "did not stop in time after the signal, exiting now"
    assert last["stage"] == "shutdown"


def test_records_below_the_held_position_are_evidence_of_a_reset() -> None:
    held = {TopicPartition("raw", 0): 55, TopicPartition("raw", 1): 10}
    polled = [Rec("raw", 0, 0), Rec("raw", 0, 1), Rec("raw", 1, 10), Rec("raw", 2, 0)]
    found = records_went_back(polled, held.get)
    assert found == {
        "input_went_back": {str(TopicPartition("raw", 0)): {"position": 55, "polled_from": 0}}
    }
    assert records_went_back([Rec("raw", 1, 10), Rec("raw", 1, 11)], held.get) is None
    assert BrokerReset(found).lost
    assert not BrokerReset({"producer_id": "unknown to the broker"}).lost


def test_a_batch_older_than_the_bound_is_not_ready() -> None:
    health = Health(assigned=True, recovered=True, broker_reachable=True, stuck_batch_seconds=0.2)
    assert health.ready
    health.batch_started_at = time.monotonic()
    assert health.ready  # in progress, not stuck yet
    time.sleep(0.3)
    assert health.batch_stuck and not health.ready
    assert health.describe().endswith("batch_stuck=True\n")
    health.batch_started_at = None
    assert health.ready
