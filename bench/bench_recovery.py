"""How long the index takes to come back: recovery of N journaled articles.

Writes N journal entries (realistic shingle sets: 60-260 shingles, as Reuters
stories have) and one checkpoint to the embedded broker, then times the real
recovery — journal read, replay, index rebuild, bounded tail
scan — as a restarted service would run it (``Recovery.run``).

    python bench/bench_recovery.py [--articles 100000]
"""

from __future__ import annotations

import argparse
import time
import uuid
from datetime import UTC, datetime

import numpy as np
from kafka.structs import TopicPartition

from streamer.broker import EmbeddedBroker
from streamer.config import Settings
from streamer.dedup.entry import IndexEntry
from streamer.dedup.journal import encode_checkpoint, encode_entry
from streamer.faults import Faults
from streamer.kafka.clients import ensure_topics, make_consumer, make_producer
from streamer.kafka.commit import JournalWriter
from streamer.kafka.recovery import Recovery
from streamer.kafka.stages import AllStage
from streamer.kafka.standby import JournalTail
from streamer.models import Coordinates, Outcome
from streamer.text.fingerprint import content_hash


def _settings(bootstrap: str) -> Settings:
    tag = uuid.uuid4().hex[:8]
    return Settings.model_validate(
        {
            "kafka": {
                "bootstrap_servers": bootstrap,
                "group_id": f"bench-{tag}",
                "topic_partitions": 1,
            },
            "topics": {
                n: f"b{tag}.{n}"
                for n in ("raw", "clean", "duplicates", "deadletter", "prepared", "journal")
            },
            "metrics": {"enabled": False},
        }
    )


def write_journal(
    settings: Settings,
    n: int,
    seed: int = 7,
    input_topic: str | None = None,
    next_offset: int | None = None,
    checkpoint_topic: str | None = None,
) -> float:
    """N entries (their inputs at offsets 0..N-1 of ``input_topic``, the raw topic by
    default) and a checkpoint of ``checkpoint_topic``'s partition 0 (the raw topic's by
    default) at ``next_offset`` (N by default)."""
    rng = np.random.default_rng(seed)
    producer = make_producer(settings)
    raw = settings.topics.raw
    history = input_topic or raw
    base_ts = datetime(2026, 11, 1, tzinfo=UTC).timestamp()
    started = time.perf_counter()
    for i in range(n):
        shingles = np.unique(rng.integers(0, 2**32, int(rng.integers(60, 260)), dtype=np.uint32))
        entry = IndexEntry(
            id=f"a{i}",
            cluster_id=f"a{i}",
            ts=base_ts + i * (6 * 86400 / n),  # all inside the 7-day window
            content_hash=content_hash(str(i)),
            shingles=shingles,
            signature=np.zeros(1, dtype=np.uint32),
            numbers=frozenset({str(i % 1000)}),
            entities=frozenset({"acme", f"co{i % 97}"}),
            n_tokens=int(shingles.size) + 2,
        )
        key, value = encode_entry(
            entry,
            Outcome.CLEAN,
            Coordinates(topic=history, partition=0, offset=i),
            Coordinates(topic=settings.topics.clean, partition=0, offset=i),
        )
        producer.send(settings.topics.journal, key=key, value=value, partition=0)
    start = n if next_offset is None else next_offset
    key, value = encode_checkpoint(checkpoint_topic or raw, 0, start, {}, {}, datetime.now(UTC))
    producer.send(settings.topics.journal, key=key, value=value, partition=0)
    producer.flush()
    producer.close()
    return time.perf_counter() - started


def time_recovery(settings: Settings) -> tuple[float, int]:
    stage = AllStage(settings, Faults())
    producer = make_producer(settings)
    consumer = make_consumer(settings, settings.kafka.group_id)
    reader = make_consumer(settings, None)
    tp = TopicPartition(settings.topics.raw, 0)
    consumer.assign([tp])
    recovery = Recovery(
        settings, reader, consumer, JournalWriter(producer, settings.topics.journal)
    )
    tail_consumer = make_consumer(settings, None, fetch_max_wait_ms=100)
    tail = JournalTail(tail_consumer, settings.topics.journal, stage)
    try:
        started = time.perf_counter()
        recovery.run({tp}, tail)
        seconds = time.perf_counter() - started
        return seconds, len(stage.index)
    finally:
        consumer.close()
        reader.close()
        tail_consumer.close()
        producer.close(timeout=10)
        stage.close()


def run(articles: int = 100_000) -> dict[str, float]:
    with EmbeddedBroker() as broker:
        settings = _settings(broker.bootstrap)
        ensure_topics(settings)
        write_s = write_journal(settings, articles)
        seconds, size = time_recovery(settings)
    if size != articles:
        raise RuntimeError(f"recovered {size} articles, expected {articles}")
    return {
        "recovery_articles": float(articles),
        "recovery_seconds": seconds,
        "recovery_articles_per_s": articles / seconds,
        "journal_write_seconds": write_s,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--articles", type=int, default=100_000)
    args = ap.parse_args()
    res = run(args.articles)
    print(
        f"recovery of {int(res['recovery_articles']):,} articles: {res['recovery_seconds']:.1f} s "
        f"({res['recovery_articles_per_s']:,.0f} articles/s; journal written in "
        f"{res['journal_write_seconds']:.1f} s)"
    )


if __name__ == "__main__":
    main()
