"""Faults at start end in one JSON line naming the cause, a clean exit code, and no hang.

Each test runs ``streamer run`` as a process against the real (embedded)
broker, as an operator would meet the fault:

* TLS configured against a plaintext listener: kafka-python would wait on the
  handshake for good; the service says TLS failed against that address, exit 2;
* SIGTERM while that handshake is pending: exit 0 at once, not after it;
* a SASL mechanism the broker refuses (the embedded broker refuses every SASL
  handshake): the mechanism and the broker's answer, exit 2;
* ``create_topics=false`` with ``news.clean`` missing: the topic and the
  setting, exit 2 (was ``KeyError: TopicPartition(...)``);
* the metrics port taken: the port, exit 2 (was a 20-line traceback).

The bound each waits for is a liveness bound (the old behaviour hung or took
100 s), not a speed claim.
"""

from __future__ import annotations

import socket
import time
from pathlib import Path
from typing import Any

import pytest
from kafka.admin import KafkaAdminClient, NewTopic

from streamer.config import Settings
from tests.conftest import make_settings
from tests.deploy.test_health_and_logs import Service, assert_json_lines, write_raw_config
from tests.kafka.kafkautil import wait_for

pytestmark = [pytest.mark.kafka]

BOUND_S = 60.0


def run_to_exit(settings: Settings, tmp_path: Path, *extra: str) -> tuple[int, dict[str, Any]]:
    """Run the service until it exits by itself; its exit code and its last log line."""
    config = write_raw_config(settings.model_dump(mode="json"), tmp_path / "s.yaml")
    svc = Service(config, tmp_path, *extra)
    try:
        rc = svc.proc.wait(timeout=BOUND_S)
    finally:
        svc.kill()
    records = assert_json_lines(svc.stderr())
    return rc, records[-1]


def with_kafka(settings: Settings, **kafka: Any) -> Settings:
    return settings.model_copy(update={"kafka": settings.kafka.model_copy(update=kafka)})


def test_tls_against_a_plaintext_listener_names_tls_and_the_address(
    bootstrap: str, tmp_path: Path
) -> None:
    settings = with_kafka(make_settings(bootstrap), security_protocol="SSL", probe_timeout_ms=3000)
    rc, last = run_to_exit(settings, tmp_path)
    assert rc == 2, last
    assert last["level"] == "error"
    assert last["event"].startswith("TLS failed"), last
    assert last["broker"] == bootstrap.split(",")[0]
    assert last["security_protocol"] == "SSL"


def test_sigterm_during_a_pending_tls_handshake_exits_0_at_once(
    bootstrap: str, tmp_path: Path
) -> None:
    # A probe that would wait 120 s: only the signal can end this run early.
    settings = with_kafka(
        make_settings(bootstrap, metrics={"enabled": True, "port": 0, "host": "127.0.0.1"}),
        security_protocol="SSL",
        probe_timeout_ms=120_000,
    )
    config = write_raw_config(settings.model_dump(mode="json"), tmp_path / "s.yaml")
    svc = Service(config, tmp_path)
    try:
        assert wait_for(lambda: '"event": "starting"' in svc.stderr(), 30), svc.stderr()
        time.sleep(1)  # inside the handshake now
        rc, _ = svc.terminate(bound=15.0)
    finally:
        svc.kill()
    assert rc == 0, svc.stderr()[-2000:]
    last = assert_json_lines(svc.stderr())[-1]
    assert last["event"] == "service stopped", last
    assert last["interrupted"] == "topic admin", last


def test_sasl_refused_names_the_mechanism_and_the_brokers_answer(
    bootstrap: str, tmp_path: Path
) -> None:
    settings = with_kafka(
        make_settings(bootstrap),
        security_protocol="SASL_PLAINTEXT",
        sasl_mechanism="SCRAM-SHA-256",
        sasl_username="svc",
    )
    rc, last = run_to_exit(settings, tmp_path)
    assert rc == 2, last
    assert last["event"] == "SASL refused by the broker", last
    assert last["sasl_mechanism"] == "SCRAM-SHA-256"
    assert last["answer"] == "UnsupportedSaslMechanismError"
    assert last["broker"] == bootstrap.split(",")[0]


def test_create_topics_false_and_a_topic_missing_names_it_and_the_setting(
    bootstrap: str, tmp_path: Path
) -> None:
    settings = with_kafka(make_settings(bootstrap), create_topics=False)
    t = settings.topics
    admin = KafkaAdminClient(**settings.kafka.client_kwargs())
    try:
        admin.create_topics(
            [NewTopic(name, 1, 1) for name in (t.raw, t.duplicates, t.deadletter, t.journal)]
        )
    finally:
        admin.close()
    rc, last = run_to_exit(settings, tmp_path)
    assert rc == 2, last
    assert last["event"] == "topics missing", last
    assert last["topics"] == [t.clean]
    assert "kafka.create_topics=false" in last["setting"]


def test_metrics_port_taken_names_the_port(bootstrap: str, tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        settings = make_settings(
            bootstrap, metrics={"enabled": True, "port": port, "host": "127.0.0.1"}
        )
        config = write_raw_config(settings.model_dump(mode="json"), tmp_path / "s.yaml")
        svc = Service(config, tmp_path, "--metrics-port", str(port))
        try:
            rc = svc.proc.wait(timeout=BOUND_S)
        finally:
            svc.kill()
    records = assert_json_lines(svc.stderr())
    assert rc == 2, records
    assert len(records) == 1, records  # the cause and nothing else: the service never started
    assert records[0]["event"] == "metrics port unavailable"
    assert records[0]["port"] == port
    assert "in use" in records[0]["error"]
