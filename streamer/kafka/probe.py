"""Asking a broker, within a deadline, whether it answers and will take our connection settings.

kafka-python's clients bootstrap in their constructors and wait on the TLS
handshake with no deadline of their own: against a plaintext listener the
handshake never completes (the broker reads the ClientHello as the length of a
Kafka frame and waits for the rest), and ``KafkaAdminClient(...)`` blocks for
good. A SASL mechanism the broker refuses ends in ``Unable to bootstrap``, with
the broker's answer only in kafka-python's own log. So before any client is
built, the service asks each bootstrap server itself, over a plain socket with
a timeout: TCP connect, the TLS handshake (with the context kafka-python would
use), ``ApiVersions`` (the one request every broker answers before
authentication), and for SASL the ``SaslHandshake`` naming our mechanism.
Requests are encoded and decoded by kafka-python's own sans-IO protocol parser.

The same ``ApiVersions`` round trip, repeated, is how readiness tells a broker
that answers from one that is frozen: a stopped broker still accepts TCP
connections (the kernel completes them), it just never answers.
"""

from __future__ import annotations

import socket
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import kafka.errors as Errors
from kafka.protocol.metadata import ApiVersionsRequest
from kafka.protocol.parser import KafkaProtocol
from kafka.protocol.sasl import SaslHandshakeRequest

from streamer import __version__
from streamer.config import KafkaSettings, Settings


@dataclass
class BrokerProblem(Exception):
    """What went wrong with one broker, as the fields of the log line that reports it."""

    event: str
    fields: dict[str, Any] = field(default_factory=dict)

    def __str__(self) -> str:
        return f"{self.event}: {self.fields}"


class BrokerUnreachable(BrokerProblem):
    """Nothing accepted a connection: the broker may still be starting, so callers retry."""


class BrokerRefused(BrokerProblem):
    """The broker answered, but not to these settings (TLS, SASL): retrying cannot help."""


def servers(bootstrap_servers: str) -> list[tuple[str, int]]:
    """``host:port,[v6]:port`` as (host, port) pairs; a bad entry is a configuration error."""
    out = []
    for entry in bootstrap_servers.split(","):
        host, _, port = entry.strip().rpartition(":")
        try:
            out.append((host.strip("[]") or "localhost", int(port)))
        except ValueError:
            raise BrokerRefused(
                "bad bootstrap server", {"server": entry, "setting": "kafka.bootstrap_servers"}
            ) from None
    return out


def _ssl_context(k: KafkaSettings) -> ssl.SSLContext:
    """The context kafka-python's ``KafkaSSLTransport`` builds from the same settings (TLS
    1.2 or later, the host name checked, ``ssl_cafile`` or the system's CAs, the client
    certificate), so the probe accepts and refuses what the clients would."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.check_hostname = True
    if k.ssl_cafile:
        context.load_verify_locations(k.ssl_cafile)
    else:
        context.load_default_certs()
    if k.ssl_certfile:
        context.load_cert_chain(
            certfile=k.ssl_certfile,
            keyfile=k.ssl_keyfile,
            password=k.ssl_password.get_secret_value() if k.ssl_password else None,
        )
    return context


class _Connection:
    """One socket to one broker, every operation bounded by the same deadline."""

    def __init__(self, k: KafkaSettings, host: str, port: int, deadline: float) -> None:
        self.address = f"{host}:{port}"
        self.deadline = deadline
        self.protocol = KafkaProtocol(client_id=k.client_id)
        try:
            self.sock: socket.socket = socket.create_connection((host, port), self.remaining())
        except OSError as exc:
            raise BrokerUnreachable(
                "broker does not accept connections", {"broker": self.address, "error": str(exc)}
            ) from exc
        if k.security_protocol in ("SSL", "SASL_SSL"):
            self.start_tls(k, host)

    def remaining(self) -> float:
        return max(self.deadline - time.monotonic(), 0.05)

    def start_tls(self, k: KafkaSettings, host: str) -> None:
        try:
            context = _ssl_context(k)
        except (OSError, ssl.SSLError) as exc:
            raise BrokerRefused(
                "TLS settings unusable",
                {"error": f"{type(exc).__name__}: {exc}", "setting": "kafka.ssl_*"},
            ) from exc
        try:
            self.sock.settimeout(self.remaining())
            self.sock = context.wrap_socket(self.sock, server_hostname=host.rstrip("."))
        except TimeoutError as exc:
            raise BrokerRefused(
                "TLS failed: the broker did not complete a TLS handshake",
                {
                    "broker": self.address,
                    "security_protocol": k.security_protocol,
                    "error": "no TLS answer in time (a plaintext listener?)",
                },
            ) from exc
        except (OSError, ssl.SSLError) as exc:
            raise BrokerRefused(
                "TLS failed",
                {
                    "broker": self.address,
                    "security_protocol": k.security_protocol,
                    "error": f"{type(exc).__name__}: {exc}",
                },
            ) from exc

    def round_trip(self, request: Any, what: str) -> Any:
        """Send one request and return its decoded response, or raise ``BrokerRefused``."""
        try:
            self.protocol.send_request(request)
            self.sock.settimeout(self.remaining())
            self.sock.sendall(self.protocol.send_bytes())
            while True:
                self.sock.settimeout(self.remaining())
                data = self.sock.recv(65536)
                if not data:
                    raise ConnectionError("connection closed by the broker")
                responses = self.protocol.receive_bytes(data)
                if responses:
                    return responses[0][1]
        except TimeoutError as exc:
            raise BrokerUnreachable(
                "broker did not answer", {"broker": self.address, "request": what}
            ) from exc
        except (OSError, Errors.KafkaError) as exc:
            raise BrokerRefused(
                "broker answer unreadable: is it a Kafka listener?",
                {"broker": self.address, "request": what, "error": f"{type(exc).__name__}: {exc}"},
            ) from exc

    def close(self) -> None:
        self.sock.close()


def _api_versions(conn: _Connection) -> None:
    response = conn.round_trip(
        ApiVersionsRequest(
            version=3, client_software_name="streamer", client_software_version=__version__
        ),
        "ApiVersions",
    )
    error = Errors.for_code(response.error_code)
    if error is not Errors.NoError and error is not Errors.UnsupportedVersionError:
        raise BrokerRefused(
            "broker refused ApiVersions", {"broker": conn.address, "answer": error.__name__}
        )


def _sasl_handshake(conn: _Connection, k: KafkaSettings) -> None:
    response = conn.round_trip(
        SaslHandshakeRequest(mechanism=k.sasl_mechanism or "", version=1), "SaslHandshake"
    )
    error = Errors.for_code(response.error_code)
    if error is not Errors.NoError or k.sasl_mechanism not in response.mechanisms:
        raise BrokerRefused(
            "SASL refused by the broker",
            {
                "broker": conn.address,
                "security_protocol": k.security_protocol,
                "sasl_mechanism": k.sasl_mechanism,
                "answer": error.__name__,
                "broker_mechanisms": list(response.mechanisms),
            },
        )


def check_broker(k: KafkaSettings, timeout_s: float, sasl: bool = True) -> str:
    """The address of the first bootstrap server that takes our settings, within ``timeout_s``.

    Raises ``BrokerRefused`` as soon as one server refuses them (every server of
    a cluster shares the listener's settings), ``BrokerUnreachable`` when none
    answered. SASL is checked up to the mechanism: the credentials themselves
    are left to the client, which reports a failed authentication in its error.
    """
    sasl = sasl and k.security_protocol.startswith("SASL")
    if sasl and not k.sasl_mechanism:
        raise BrokerRefused(
            "SASL needs a mechanism",
            {"security_protocol": k.security_protocol, "setting": "kafka.sasl_mechanism"},
        )
    problems = []
    for host, port in servers(k.bootstrap_servers):
        deadline = time.monotonic() + timeout_s
        try:
            conn = _Connection(k, host, port, deadline)
        except BrokerUnreachable as exc:
            problems.append(exc.fields)
            continue
        try:
            _api_versions(conn)
            if sasl:
                _sasl_handshake(conn, k)
            return conn.address
        except BrokerUnreachable as exc:
            problems.append(exc.fields)
        finally:
            conn.close()
    raise BrokerUnreachable(
        "cannot reach Kafka", {"bootstrap": k.bootstrap_servers, "tried": problems}
    )


def broker_answers(k: KafkaSettings, timeout_s: float) -> bool:
    """Whether some bootstrap server answers ``ApiVersions`` within ``timeout_s`` (readiness)."""
    try:
        check_broker(k, timeout_s, sasl=False)
    except BrokerProblem:
        return False
    return True


class BrokerChecks:
    """``broker_answers`` every ``interval_s`` in a daemon thread, each answer to ``report``.

    A thread of its own because the service's thread is exactly what may be
    stuck when the broker is (a flush waiting for acks that never come).
    """

    def __init__(
        self, k: KafkaSettings, interval_s: float, timeout_s: float, report: Callable[[bool], None]
    ) -> None:
        self.k = k
        self.interval_s = interval_s
        self.timeout_s = timeout_s
        self.report = report
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._run, name="broker-checks", daemon=True)

    def start(self) -> BrokerChecks:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.done.set()

    def _run(self) -> None:
        while not self.done.wait(self.interval_s):
            reachable = broker_answers(self.k, self.timeout_s)
            if not self.done.is_set():
                self.report(reachable)


def start_broker_checks(settings: Settings, report: Callable[[bool], None]) -> BrokerChecks:
    m = settings.metrics
    return BrokerChecks(
        settings.kafka, m.broker_check_interval_ms / 1000, m.broker_check_timeout_ms / 1000, report
    ).start()
