"""The health and metrics endpoint under many connections: every call answered, threads bounded.

Before, the endpoint was a thread per connection with a listen backlog of 5 and
no read timeout: 1,000 idle sockets held 1,012 threads of the service, and of
200 concurrent /healthz calls 184 waited over a second (up to 21 s). The
process test opens 1,000 idle sockets and then makes 200 concurrent calls: all
must be answered, the service's thread count must not follow the sockets, and
the idle sockets must be closed by the server. No timing is asserted.
"""

from __future__ import annotations

import socket
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from streamer.metrics import Metrics, MetricsServer
from tests.conftest import make_settings
from tests.deploy.test_health_and_logs import Service, write_raw_config
from tests.kafka.kafkautil import wait_for

IDLE_SOCKETS = 1000
CONCURRENT_CALLS = 200


def threads_of(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("Threads:"):
            return int(line.split()[1])
    raise AssertionError("no thread count")


def get(port: int, path: str) -> int:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=30) as resp:
            return int(resp.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)


def closed_by_peer(sock: socket.socket) -> bool:
    sock.settimeout(0.05)
    try:
        return sock.recv(1) == b""
    except ConnectionResetError:
        return True
    except TimeoutError:
        return False


@pytest.mark.kafka
@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/status").is_file(), reason="counts threads in /proc")
def test_idle_sockets_and_concurrent_calls_on_the_service(bootstrap: str, tmp_path: Path) -> None:
    settings = make_settings(
        bootstrap,
        metrics={"enabled": True, "port": 0, "host": "127.0.0.1", "idle_timeout_ms": 3000},
    )
    config = write_raw_config(settings.model_dump(mode="json"), tmp_path / "s.yaml")
    svc = Service(config, tmp_path)
    idle: list[socket.socket] = []
    try:
        assert wait_for(lambda: svc.get("/healthz")[0] == 200, 30), svc.stderr()
        assert wait_for(lambda: '"event": "service started"' in svc.stderr(), 30)
        baseline = threads_of(svc.proc.pid)

        idle = [socket.create_connection(("127.0.0.1", svc.port)) for _ in range(IDLE_SOCKETS)]
        with ThreadPoolExecutor(CONCURRENT_CALLS) as pool:
            statuses = list(pool.map(lambda _: get(svc.port, "/healthz"), range(CONCURRENT_CALLS)))
        with_idle = threads_of(svc.proc.pid)
        print(f"threads: {baseline} before, {with_idle} with {IDLE_SOCKETS} idle sockets open")

        assert statuses == [200] * CONCURRENT_CALLS
        # kafka-python's own threads come and go a little; a thread per socket would be 1,000+.
        assert with_idle <= baseline + 8, (baseline, with_idle)
        assert wait_for(lambda: all(closed_by_peer(s) for s in idle), 60, interval=1), (
            f"{sum(not closed_by_peer(s) for s in idle)} idle sockets still open"
        )
        assert get(svc.port, "/metrics") == 200
        rc, _ = svc.terminate()
        assert rc == 0, svc.stderr()[-2000:]
    finally:
        for s in idle:
            s.close()
        svc.kill()


# -- the server alone, in this process ------------------------------------------------------------


@pytest.fixture
def server() -> MetricsServer:
    srv = MetricsServer(Metrics(), "127.0.0.1", 0, idle_timeout_s=1.0, max_connections=16).start()
    yield srv
    srv.stop()


def raw_request(port: int, data: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(data)
        out = b""
        while chunk := s.recv(65536):
            out += chunk
        return out


def test_answers_and_refusals(server: MetricsServer) -> None:
    assert get(server.port, "/healthz") == 200
    assert get(server.port, "/readyz") == 503  # nothing assigned yet
    assert get(server.port, "/nope") == 404
    assert raw_request(server.port, b"POST /healthz HTTP/1.1\r\n\r\n").startswith(b"HTTP/1.1 405 ")
    assert raw_request(server.port, b"nonsense\r\n\r\n").startswith(b"HTTP/1.1 400 ")
    body = raw_request(server.port, b"GET /readyz HTTP/1.0\r\n\r\n")
    assert b"broker_reachable=False batch_stuck=False" in body


def test_a_full_server_makes_room_for_the_newest_connection(server: MetricsServer) -> None:
    idle = [socket.create_connection(("127.0.0.1", server.port)) for _ in range(40)]
    try:
        # Past max_connections (16) idle ones are dropped, oldest first; calls still pass.
        assert [get(server.port, "/healthz") for _ in range(5)] == [200] * 5
        assert wait_for(lambda: closed_by_peer(idle[0]), 10)
    finally:
        for s in idle:
            s.close()


def test_a_port_in_use_is_an_oserror_in_the_callers_thread() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        with pytest.raises(OSError):
            MetricsServer(Metrics(), "127.0.0.1", taken.getsockname()[1])
