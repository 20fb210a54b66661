"""Kafka figures on the embedded broker: passthrough baseline, the service, latency.

Every round uses its own topics and groups. Both the passthrough and the service
are timed the same way: from the first poll that returns records (after the group
join, and for the service after its recovery) to the commit of the last record.
"""

from __future__ import annotations

import contextlib
import cProfile
import io
import pstats
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml
from kafka.structs import OffsetAndMetadata, TopicPartition

from bench.bench_common import input_values, tag
from streamer.broker import EmbeddedBroker
from streamer.config import Settings
from streamer.kafka.clients import (
    end_offsets,
    ensure_topics,
    make_consumer,
    make_producer,
    read_to_end,
)
from streamer.kafka.decide import DecideService
from streamer.metrics import Metrics
from streamer.records import parse_headers

POOL_WORKERS = 2


def make_bench_settings(bootstrap: str) -> Settings:
    t = tag()
    return Settings.model_validate(
        {
            "role": "all",
            "kafka": {
                "bootstrap_servers": bootstrap,
                "group_id": f"bench-{t}",
                "session_timeout_ms": 6000,
                "heartbeat_interval_ms": 1000,
                "topic_partitions": 1,
            },
            "topics": {
                name: f"b{t}.{name}"
                for name in ("raw", "clean", "duplicates", "deadletter", "prepared", "journal")
            },
            "metrics": {"enabled": False, "port": 0},
        }
    )


def produce_inputs(settings: Settings, values: list[bytes]) -> None:
    ensure_topics(settings)
    producer = make_producer(settings)
    for v in values:
        producer.send(settings.topics.raw, value=v)
    producer.flush()
    producer.close()
    reader = make_consumer(settings, None)
    try:
        tp = TopicPartition(settings.topics.raw, 0)
        end = end_offsets(reader, [tp])[tp]
        if end != len(values):
            raise RuntimeError(f"produced {len(values)} inputs but the topic ends at {end}")
    finally:
        reader.close()


# -- passthrough ------------------------------------------------------------------------------


def passthrough(
    settings: Settings,
    n: int,
    timeout_s: float = 300,
    input_topic: str | None = None,
    cpu: list[float] | None = None,
) -> float:
    """A bare consume -> produce -> flush -> commit loop with the service's client settings,
    over ``input_topic`` (``news.raw`` unless given). ``cpu`` gets the CPU seconds this
    process (every thread) spent over the same span as the rate."""
    out_topic = settings.topics.clean
    consumer = make_consumer(settings, settings.kafka.group_id + "-pass")
    producer = make_producer(settings)
    consumer.subscribe([input_topic or settings.topics.raw])
    done = 0
    first: float | None = None
    last = 0.0
    deadline = time.monotonic() + timeout_s
    try:
        while done < n:
            if time.monotonic() > deadline:
                raise RuntimeError(f"passthrough stalled at {done}/{n}")
            batch = consumer.poll(
                timeout_ms=settings.kafka.poll_timeout_ms,
                max_records=settings.kafka.max_poll_records,
            )
            if not batch:
                continue
            if first is None:
                first, cpu_first = time.perf_counter(), time.process_time()
            offsets = {}
            for tp, records in batch.items():
                for rec in records:
                    producer.send(out_topic, key=rec.key, value=rec.value)
                offsets[tp] = OffsetAndMetadata(records[-1].offset + 1, "", -1)
                done += len(records)
            producer.flush()
            consumer.commit(offsets)
            last, cpu_last = time.perf_counter(), time.process_time()
    finally:
        consumer.close()
        producer.close()
    assert first is not None
    if cpu is not None:
        cpu.append(cpu_last - cpu_first)
    return n / (last - first)


# -- the service ------------------------------------------------------------------------------


class TimedService(DecideService):
    """The real service, noting when its first batch arrives and its last commit is done."""

    first: float | None = None
    last: float = 0.0
    done: int = 0
    # CPU seconds of this process (every thread), over the same span.
    cpu_first: float = 0.0
    cpu_last: float = 0.0

    def process_batch(self, records: list[Any]) -> None:
        if self.first is None:
            self.first, self.cpu_first = time.perf_counter(), time.process_time()
        super().process_batch(records)
        self.done += len(records)
        self.last, self.cpu_last = time.perf_counter(), time.process_time()


def service_round(
    settings: Settings, n: int, profile: cProfile.Profile | None = None
) -> tuple[float, TimedService]:
    service = TimedService(settings, Metrics(), threading.Event(), exit_when_idle=3.0)
    if profile is not None:
        profile.enable()
    try:
        service.run()
    finally:
        if profile is not None:
            profile.disable()
    if service.done != n or service.first is None:
        raise RuntimeError(f"service committed {service.done} of {n} records")
    return n / (service.last - service.first), service


def profile_top(profile: cProfile.Profile, limit: int = 25) -> str:
    buf = io.StringIO()
    stats = pstats.Stats(profile, stream=buf)
    stats.sort_stats("tottime").print_stats(limit)
    buf.write("\n--- by cumulative time ---\n")
    stats.sort_stats("cumulative").print_stats(limit)
    return buf.getvalue()


def throughput(bootstrap: str, values: list[bytes], rounds: int, profile: bool) -> dict[str, Any]:
    n = len(values)
    pass_rates, svc_rates, pool_rates = [], [], []
    for _ in range(rounds):  # interleaved, so drift on a shared machine hits both alike
        s = make_bench_settings(bootstrap)
        produce_inputs(s, values)
        pass_rates.append(passthrough(s, n))
        s = make_bench_settings(bootstrap)
        produce_inputs(s, values)
        rate, _ = service_round(s, n)
        svc_rates.append(rate)
        s = make_bench_settings(bootstrap).model_copy(update={"prepare_workers": POOL_WORKERS})
        produce_inputs(s, values)
        rate, _ = service_round(s, n)
        pool_rates.append(rate)
    out: dict[str, Any] = {
        "messages": n,
        "passthrough_per_s": statistics.median(pass_rates),
        "service_per_s": statistics.median(svc_rates),
        "service_pool_per_s": statistics.median(pool_rates),
        "pool_workers": POOL_WORKERS,
        "passthrough_rounds": pass_rates,
        "service_rounds": svc_rates,
        "service_pool_rounds": pool_rates,
    }
    out["ratio"] = out["service_per_s"] / out["passthrough_per_s"]
    if profile:
        s = make_bench_settings(bootstrap)
        produce_inputs(s, values)
        prof = cProfile.Profile()
        rate, _ = service_round(s, n, prof)
        out["profiled_service_per_s"] = rate
        out["profile"] = profile_top(prof)
    return out


# -- latency ----------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _ready(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=2) as resp:
            return bool(resp.status == 200)
    except (urllib.error.URLError, OSError):
        return False


@contextlib.contextmanager
def _service(s: Settings, port: int) -> Iterator[subprocess.Popen[bytes]]:
    """``streamer run`` as its own process, ready (``/readyz``) when this yields; SIGTERM after."""
    with tempfile.TemporaryDirectory() as tmp:
        config = Path(tmp) / "streamer.yaml"
        config.write_text(yaml.safe_dump(s.model_dump(mode="json")))
        with (Path(tmp) / "service.log").open("wb") as log:
            proc = subprocess.Popen(
                [sys.executable, "-m", "streamer", "run", "--config", str(config)],
                stdout=log,
                stderr=subprocess.STDOUT,
            )
            try:
                deadline = time.monotonic() + 90
                while not _ready(port):
                    if time.monotonic() > deadline or proc.poll() is not None:
                        raise RuntimeError("the service did not become ready in time")
                    time.sleep(0.1)
                yield proc
            finally:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()


def _produce_steadily(s: Settings, values: list[bytes], rate: float) -> float:
    """Send ``values`` to the raw topic at ``rate`` a second; returns the seconds it took."""
    producer = make_producer(s)
    start = time.perf_counter()
    for i, v in enumerate(values):
        delay = start + i / rate - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        producer.send(s.topics.raw, value=v)
    producer.flush()
    seconds = time.perf_counter() - start
    producer.close()
    return seconds


def _wait_decided(s: Settings, proc: subprocess.Popen[bytes], n: int) -> int:
    """Wait (up to 10 minutes) until the three outputs hold ``n`` records; returns how many."""
    outs = [
        TopicPartition(t, 0) for t in (s.topics.clean, s.topics.duplicates, s.topics.deadletter)
    ]
    reader = make_consumer(s, None)
    try:
        deadline = time.monotonic() + 600
        decided = 0
        while time.monotonic() < deadline and proc.poll() is None:
            decided = sum(end_offsets(reader, outs).values())
            if decided >= n:
                break
            time.sleep(0.2)
        return decided
    finally:
        reader.close()


def _clean_latencies(s: Settings) -> list[float]:
    """Each clean record's CreateTime minus its input's, sorted, in seconds."""
    reader = make_consumer(s, None)
    try:
        raw_tp = TopicPartition(s.topics.raw, 0)
        produced_ms = {r.offset: r.timestamp for r in read_to_end(reader, {raw_tp: 0})}
        lat: list[float] = []
        for r in read_to_end(reader, {TopicPartition(s.topics.clean, 0): 0}):
            coords = parse_headers(r.headers)
            if coords is not None and coords.offset in produced_ms:
                lat.append((r.timestamp - produced_ms[coords.offset]) / 1000)
    finally:
        reader.close()
    return sorted(lat)


def latency(
    bootstrap: str, values: list[bytes], rate: float = 1000.0, workers: int = 0
) -> dict[str, Any]:
    """Produce ``values`` at a steady ``rate`` to a running ``streamer run``; produce -> clean.

    The service is its own process, started from the CLI with a config file as a
    user would, so the producer here never competes with it for the GIL. Both
    timestamps are Kafka CreateTime stamps taken on this machine: the input's by
    this producer, the clean record's by the service's producer.
    """
    s = make_bench_settings(bootstrap).model_copy(update={"prepare_workers": workers})
    port = _free_port()
    s = s.model_copy(
        update={"metrics": s.metrics.model_copy(update={"enabled": True, "port": port})}
    )
    ensure_topics(s)
    with _service(s, port) as proc:
        produce_s = _produce_steadily(s, values, rate)
        decided = _wait_decided(s, proc, len(values))
    lat = _clean_latencies(s)

    def pct(p: float) -> float:
        return lat[min(len(lat) - 1, int(p * len(lat)))] if lat else float("nan")

    return {
        "prepare_workers": workers,
        "offered_per_s": len(values) / produce_s,
        "inputs": len(values),
        "decided": decided,
        "clean_outputs": len(lat),
        "p50_s": pct(0.50),
        "p99_s": pct(0.99),
        "max_s": lat[-1] if lat else float("nan"),
    }


def run_throughput(
    limit: int | None = None, rounds: int = 3, profile: bool = True
) -> dict[str, Any]:
    values = input_values(limit)
    with EmbeddedBroker() as broker:
        return throughput(broker.bootstrap, values, rounds, profile)


def run_latency(seconds: float = 15.0, rate: float = 1000.0, workers: int = 0) -> dict[str, Any]:
    n = int(seconds * rate)
    values = input_values(n)
    if len(values) < n:
        raise RuntimeError(f"latency needs {n} distinct stories, the corpus has {len(values)}")
    with EmbeddedBroker() as broker:
        return latency(broker.bootstrap, values, rate, workers)


if __name__ == "__main__":
    print(run_throughput(limit=2000, rounds=1, profile=False))
    print(run_latency(seconds=3))
