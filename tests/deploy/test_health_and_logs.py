"""Health endpoints, structured logs, graceful shutdown and secrets, on a real process.

Invariants held here:

* /healthz answers 200 as long as the process runs; /readyz answers 503 until
  partitions are assigned and the index recovered (and while the broker cannot
  be reached), then 200;
* SIGTERM ends the service with exit code 0 in bounded time, and its last log
  line says "service stopped";
* every stderr line is one JSON object with ``ts``, ``level`` and ``event``;
* a SASL or SSL password given in the settings reaches the Kafka client and
  nothing else: not the logs, not /metrics, not ``repr`` or a settings dump.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import yaml
from kafka import KafkaConsumer, KafkaProducer
from kafka.admin import KafkaAdminClient

from streamer.broker import free_port
from streamer.config import KafkaSettings, Settings, load_settings
from streamer.demo import sample_feed
from tests.conftest import make_settings
from tests.kafka.kafkautil import REPO, http_get, key_of, produce, read_outputs, wait_for

SASL_SECRET = "s3cr3t-SASL-7f2c91e4"
SSL_SECRET = "s3cr3t-SSL-b81d03aa"
SHUTDOWN_BOUND_S = 20.0


# -- helpers ------------------------------------------------------------------------------------


def write_raw_config(data: dict[str, Any], path: Path) -> Path:
    path.write_text(yaml.safe_dump(data))
    return path


def config_with_secrets(settings: Settings) -> dict[str, Any]:
    """The settings as a YAML dict with real secret values (a JSON dump masks them)."""
    data = settings.model_dump(mode="json")
    data["kafka"].update(
        # PLAINTEXT: the client is handed the credentials but the embedded broker
        # is not asked to authenticate, so the service runs normally.
        security_protocol="PLAINTEXT",
        sasl_mechanism="PLAIN",
        sasl_username="streamer-user",
        sasl_password=SASL_SECRET,
        ssl_password=SSL_SECRET,
    )
    return data


class Service:
    """``streamer run`` with stderr and stdout kept apart, as a log shipper would see them."""

    def __init__(self, config: Path, tmp: Path, *extra: str) -> None:
        self.port = free_port()
        self.stderr_path = tmp / "stderr.log"
        self.stdout_path = tmp / "stdout.log"
        cmd = [sys.executable, "-m", "streamer", "run", "--config", str(config)]
        cmd += ["--metrics-port", str(self.port), *extra]
        with self.stderr_path.open("wb") as err, self.stdout_path.open("wb") as out:
            self.proc = subprocess.Popen(cmd, cwd=REPO, stdout=out, stderr=err)

    def get(self, path: str) -> tuple[int | None, str]:
        return http_get(self.port, path)

    def stderr(self) -> str:
        return self.stderr_path.read_text(errors="replace")

    def stdout(self) -> str:
        return self.stdout_path.read_text(errors="replace")

    def events(self) -> list[dict[str, Any]]:
        out = []
        for line in self.stderr().splitlines():
            try:
                rec = json.loads(line)
            except ValueError:
                continue
            if isinstance(rec, dict):
                out.append(rec)
        return out

    def terminate(self, bound: float = SHUTDOWN_BOUND_S) -> tuple[int, float]:
        started = time.monotonic()
        self.proc.send_signal(signal.SIGTERM)
        try:
            rc = self.proc.wait(timeout=bound)
        except subprocess.TimeoutExpired:
            self.kill()
            pytest.fail(f"still running {bound:.0f}s after SIGTERM\n{self.stderr()[-3000:]}")
        return rc, time.monotonic() - started

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=10)


def assert_json_lines(text: str) -> list[dict[str, Any]]:
    lines = text.splitlines()
    assert lines, "nothing logged"
    records = []
    for n, line in enumerate(lines, 1):
        try:
            rec = json.loads(line)
        except ValueError:
            pytest.fail(f"stderr line {n} is not JSON: {line[:300]!r}")
        assert isinstance(rec, dict), f"line {n} is not an object: {line[:300]!r}"
        for field in ("ts", "level", "event"):
            assert field in rec, f"line {n} lacks {field!r}: {line[:300]!r}"
        records.append(rec)
    return records


# -- unit: settings and secrets (no broker) -----------------------------------------------------


def test_client_kwargs_plaintext_has_no_credentials() -> None:
    k = KafkaSettings(bootstrap_servers="a:9092,b:9092", client_id="c1", request_timeout_ms=1234)
    assert k.client_kwargs() == {
        "bootstrap_servers": ["a:9092", "b:9092"],
        "client_id": "c1",
        "security_protocol": "PLAINTEXT",
        "request_timeout_ms": 1234,
    }


@pytest.mark.parametrize("mechanism", ["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"])
def test_client_kwargs_pass_sasl_and_ssl_through(mechanism: str) -> None:
    k = KafkaSettings(
        bootstrap_servers="kafka-1:9093",
        security_protocol="SASL_SSL",
        sasl_mechanism=mechanism,
        sasl_username="svc",
        sasl_password=SASL_SECRET,  # type: ignore[arg-type]
        ssl_cafile="/etc/kafka/ca.pem",
        ssl_certfile="/etc/kafka/client.pem",
        ssl_keyfile="/etc/kafka/client.key",
        ssl_password=SSL_SECRET,  # type: ignore[arg-type]
    )
    kw = k.client_kwargs()
    assert kw["security_protocol"] == "SASL_SSL"
    assert kw["sasl_mechanism"] == mechanism
    # kafka-python takes SCRAM credentials under the sasl_plain_* names too.
    assert kw["sasl_plain_username"] == "svc"
    assert kw["sasl_plain_password"] == SASL_SECRET
    assert kw["ssl_cafile"] == "/etc/kafka/ca.pem"
    assert kw["ssl_certfile"] == "/etc/kafka/client.pem"
    assert kw["ssl_keyfile"] == "/etc/kafka/client.key"
    assert kw["ssl_password"] == SSL_SECRET
    # Every key is one the three kafka-python clients accept.
    for client in (KafkaConsumer, KafkaProducer, KafkaAdminClient):
        unknown = set(kw) - set(client.DEFAULT_CONFIG)
        assert not unknown, (client.__name__, unknown)


def test_client_kwargs_sasl_plaintext_without_ssl_files() -> None:
    k = KafkaSettings(
        security_protocol="SASL_PLAINTEXT",
        sasl_mechanism="SCRAM-SHA-512",
        sasl_username="svc",
        sasl_password=SASL_SECRET,  # type: ignore[arg-type]
    )
    kw = k.client_kwargs()
    assert kw["security_protocol"] == "SASL_PLAINTEXT"
    assert kw["sasl_plain_password"] == SASL_SECRET
    assert not {"ssl_cafile", "ssl_certfile", "ssl_keyfile", "ssl_password"} & set(kw)


def test_ssl_only_passes_files_and_key_password() -> None:
    k = KafkaSettings(
        security_protocol="SSL",
        ssl_cafile="/ca.pem",
        ssl_password=SSL_SECRET,  # type: ignore[arg-type]
    )
    kw = k.client_kwargs()
    assert kw["security_protocol"] == "SSL"
    assert kw["ssl_cafile"] == "/ca.pem"
    assert kw["ssl_password"] == SSL_SECRET
    assert not {"sasl_mechanism", "sasl_plain_username", "sasl_plain_password"} & set(kw)


def test_secrets_never_in_repr_or_dumps(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "s.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "kafka": {
                    "security_protocol": "SASL_SSL",
                    "sasl_mechanism": "SCRAM-SHA-256",
                    "sasl_username": "svc",
                    "sasl_password": SASL_SECRET,
                }
            }
        )
    )
    # The SSL password arrives through the environment, the other layer secrets come from.
    monkeypatch.setenv("STREAMER_KAFKA__SSL_PASSWORD", SSL_SECRET)
    for settings in (load_settings(config), load_settings(config, {"kafka": {"group_id": "x"}})):
        k = settings.kafka
        assert k.sasl_password is not None and k.ssl_password is not None
        assert k.sasl_password.get_secret_value() == SASL_SECRET
        assert k.ssl_password.get_secret_value() == SSL_SECRET
        shown = [
            repr(settings),
            str(settings),
            repr(k),
            settings.model_dump_json(),
            json.dumps(settings.model_dump(mode="json")),
            str(settings.model_dump()),
            yaml.safe_dump(settings.model_dump(mode="json")),
        ]
        for text in shown:
            assert SASL_SECRET not in text
            assert SSL_SECRET not in text
        # The secrets do reach the client, and only there.
        kw = k.client_kwargs()
        assert kw["sasl_plain_password"] == SASL_SECRET
        assert kw["ssl_password"] == SSL_SECRET


# -- the real process ---------------------------------------------------------------------------


@pytest.mark.kafka
def test_health_readiness_shutdown_json_logs_and_no_secret_leak(
    bootstrap: str, tmp_path: Path
) -> None:
    settings = make_settings(
        bootstrap,
        metrics={"enabled": True, "port": 0, "host": "127.0.0.1"},
        log={"format": "json", "level": "DEBUG"},
    )
    feed = sample_feed()
    produce(settings, feed, [key_of(v) for v in feed])
    config = write_raw_config(config_with_secrets(settings), tmp_path / "s.yaml")
    assert SASL_SECRET in config.read_text()  # the process really is given the secret

    svc = Service(config, tmp_path)
    try:
        assert wait_for(lambda: svc.get("/healthz")[0] == 200, 30), svc.stderr()
        # Before the group join completes (it takes seconds), the service is alive, not ready.
        status, body = svc.get("/readyz")
        assert status == 503, (status, body)
        assert "assigned=False" in body or "recovered=False" in body, body

        assert wait_for(lambda: svc.get("/readyz")[0] == 200, 60), svc.stderr()[-3000:]
        assert "assigned=True recovered=True broker_reachable=True" in svc.get("/readyz")[1]

        def all_done() -> bool:
            return sum(len(v) for v in read_outputs(settings).values()) >= len(feed)

        assert wait_for(all_done, 60, interval=0.5), svc.stderr()[-3000:]
        assert svc.get("/healthz") == (200, "ok\n")
        assert svc.get("/readyz")[0] == 200
        status, metrics = svc.get("/metrics")
        assert status == 200
        assert "streamer_ready 1.0" in metrics
        assert SASL_SECRET not in metrics and SSL_SECRET not in metrics
        assert svc.get("/nope")[0] == 404

        rc, took = svc.terminate()
        assert rc == 0, svc.stderr()[-3000:]
        assert took < SHUTDOWN_BOUND_S
    finally:
        svc.kill()

    records = assert_json_lines(svc.stderr())
    names = [r["event"] for r in records]
    assert "service stopped" in names[-3:], names[-5:]
    assert names[-1] == "service stopped", names[-5:]
    for event in ("service started", "partitions assigned", "recovered", "partitions revoked"):
        assert event in names, (event, names)
    assert (
        names.index("service started") < names.index("recovered") < names.index("service stopped")
    )
    assert any(r["event"].startswith("signal received") for r in records)
    assert {r["level"] for r in records} <= {"debug", "info", "warning", "error", "critical"}
    for text in (svc.stderr(), svc.stdout()):
        assert SASL_SECRET not in text
        assert SSL_SECRET not in text


def _unreachable_config(tmp_path: Path) -> Path:
    settings = make_settings(
        f"127.0.0.1:{free_port()}",  # nothing listens there
        metrics={"enabled": True, "port": 0, "host": "127.0.0.1"},
    )
    return write_raw_config(settings.model_dump(mode="json"), tmp_path / "s.yaml")


def test_readyz_503_while_the_broker_is_unreachable(tmp_path: Path) -> None:
    svc = Service(_unreachable_config(tmp_path), tmp_path)
    try:
        assert wait_for(lambda: svc.get("/healthz")[0] == 200, 30), svc.stderr()
        deadline = time.monotonic() + 4
        while time.monotonic() < deadline:  # stays alive and not ready while retrying
            assert svc.get("/healthz")[0] == 200
            status, body = svc.get("/readyz")
            assert status == 503, (status, body)
            assert "broker_reachable=False" in body, body
            time.sleep(0.5)
        assert svc.proc.poll() is None
    finally:
        svc.kill()


def test_sigterm_while_the_broker_is_unreachable_exits_0_promptly(tmp_path: Path) -> None:
    svc = Service(_unreachable_config(tmp_path), tmp_path)
    try:
        assert wait_for(lambda: svc.get("/healthz")[0] == 200, 30), svc.stderr()
        time.sleep(1)
        rc, took = svc.terminate(bound=10.0)
        assert rc == 0, svc.stderr()[-2000:]
        assert took < 10.0
        assert_json_lines(svc.stderr())
    finally:
        svc.kill()
