"""The writer's ceiling on the embedded broker: ``--role dedup`` over a full ``news.prepared``.

Every output of a split deployment comes from the one ordered ``dedup`` writer,
so its rate over a topic that is already full bounds the system however many
``prepare`` replicas run. The ``news.prepared`` records are built once, before
any timing, by the prepare role's own code (``PrepareService.envelope``: the
bytes a replica publishes), and copied into each round's fresh topic. The
baseline is the bare passthrough of ``bench_kafka`` over those same records on
the same broker; both are timed from their first polled batch to their last
commit, in interleaved rounds.
"""

from __future__ import annotations

import cProfile
import statistics
import threading
from types import SimpleNamespace
from typing import Any

from kafka.structs import TopicPartition

from bench.bench_common import input_values
from bench.bench_kafka import make_bench_settings, passthrough, profile_top, service_round
from streamer.broker import EmbeddedBroker
from streamer.config import Settings
from streamer.kafka.clients import end_offsets, ensure_topics, make_consumer, make_producer
from streamer.kafka.prepare import PrepareService
from streamer.metrics import Metrics

Keyed = tuple[bytes | None, bytes]


def prepared_values(values: list[bytes], settings: Settings) -> list[Keyed]:
    """(key, value) on ``news.prepared`` of each raw value, as ``--role prepare`` writes it."""
    service = PrepareService(settings, Metrics(), threading.Event())
    out = []
    for i, value in enumerate(values):
        rec = SimpleNamespace(
            value=value, key=None, topic=settings.topics.raw, partition=0, offset=i, timestamp=None
        )
        out.append(service.envelope(rec))
    return out


def fill_prepared(settings: Settings, records: list[Keyed]) -> None:
    ensure_topics(settings)
    producer = make_producer(settings)
    for key, value in records:
        producer.send(settings.topics.prepared, key=key, value=value, partition=0)
    producer.flush()
    producer.close()
    reader = make_consumer(settings, None)
    try:
        tp = TopicPartition(settings.topics.prepared, 0)
        end = end_offsets(reader, [tp])[tp]
        if end != len(records):
            raise RuntimeError(f"produced {len(records)} prepared records; the topic ends at {end}")
    finally:
        reader.close()


def dedup_settings(bootstrap: str) -> Settings:
    return make_bench_settings(bootstrap).model_copy(update={"role": "dedup"})


def writer_vs_passthrough(
    bootstrap: str, records: list[Keyed], rounds: int, profile: bool
) -> dict[str, Any]:
    n = len(records)
    pass_rates: list[float] = []
    writer_rates: list[float] = []
    pass_cpu: list[float] = []
    writer_cpu: list[float] = []
    for _ in range(rounds):  # interleaved, so drift on a shared machine hits both alike
        s = dedup_settings(bootstrap)
        fill_prepared(s, records)
        pass_rates.append(passthrough(s, n, input_topic=s.topics.prepared, cpu=pass_cpu))
        s = dedup_settings(bootstrap)
        fill_prepared(s, records)
        rate, service = service_round(s, n)
        writer_rates.append(rate)
        writer_cpu.append(service.cpu_last - service.cpu_first)
    out: dict[str, Any] = {
        "messages": n,
        "bytes_per_record": sum(len(v) for _, v in records) / n,
        "passthrough_per_s": statistics.median(pass_rates),
        "writer_per_s": statistics.median(writer_rates),
        "passthrough_rounds": pass_rates,
        "writer_rounds": writer_rates,
        # CPU time of the client process (all its threads; not the broker's) a record: on
        # a machine shared with other work it moves less than the wall-clock rates.
        "passthrough_cpu_us": statistics.median(pass_cpu) / n * 1e6,
        "writer_cpu_us": statistics.median(writer_cpu) / n * 1e6,
    }
    out["ratio"] = out["writer_per_s"] / out["passthrough_per_s"]
    out["cpu_ratio"] = out["passthrough_cpu_us"] / out["writer_cpu_us"]
    if profile:
        s = dedup_settings(bootstrap)
        fill_prepared(s, records)
        prof = cProfile.Profile()
        out["profiled_writer_per_s"], _ = service_round(s, n, prof)
        out["profile"] = profile_top(prof)
    return out


def run(limit: int | None = None, rounds: int = 3, profile: bool = False) -> dict[str, Any]:
    values = input_values(limit)
    with EmbeddedBroker() as broker:
        records = prepared_values(values, dedup_settings(broker.bootstrap))
        return writer_vs_passthrough(broker.bootstrap, records, rounds, profile)


if __name__ == "__main__":
    result = run(profile=True)
    print(result.pop("profile"))
    print(result)
