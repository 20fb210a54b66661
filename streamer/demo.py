"""``streamer demo``: the whole service on the embedded broker over a sample feed.

A newcomer's first look: start a broker, feed it the sample articles (and a few
inputs broken in ways a file cannot hold), run the real service until it is
idle, then read the three output topics back and say what happened.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections import defaultdict
from importlib import resources
from typing import Any

from kafka.structs import TopicPartition

from streamer.broker import EmbeddedBroker
from streamer.config import Settings
from streamer.kafka.clients import ensure_topics, make_consumer, make_producer, read_to_end
from streamer.kafka.decide import DecideService
from streamer.logs import setup_logging
from streamer.metrics import Metrics, MetricsServer

log = logging.getLogger(__name__)


def sample_feed() -> list[bytes]:
    text = resources.files("streamer.samples").joinpath("feed.jsonl").read_bytes()
    return [line for line in text.splitlines() if line.strip()]


def unstorable_inputs() -> list[tuple[bytes | None, bytes]]:
    """Bad inputs a JSON Lines file cannot carry: (key, value)."""
    huge = json.dumps({"id": "huge-1", "title": "Too big", "body": "word " * 190_000})
    return [
        (b"empty-1", b""),
        (b"latin1-1", '{"id": "latin1-1", "body": "caf\u00e9"}'.encode("latin-1")),
        (b"huge-1", huge.encode()),
    ]


def key_of(line: bytes) -> bytes | None:
    """The article id as the Kafka key, as a producer of news.raw would set it."""
    try:
        data = json.loads(line)
    except ValueError:
        return None
    if isinstance(data, dict) and isinstance(data.get("id"), str) and data["id"]:
        return str(data["id"]).encode()
    return None


def read_outputs(settings: Settings) -> dict[str, list[Any]]:
    """Every record on the three output topics, parsed."""
    reader = make_consumer(settings, None)
    try:
        out: dict[str, list[Any]] = {}
        for name, topic in (
            ("clean", settings.topics.clean),
            ("duplicates", settings.topics.duplicates),
            ("deadletter", settings.topics.deadletter),
        ):
            parts = reader.partitions_for_topic(topic) or {0}
            starts = {TopicPartition(topic, p): 0 for p in parts}
            out[name] = [json.loads(r.value) for r in read_to_end(reader, starts)]
        return out
    finally:
        reader.close()


def summarize(outputs: dict[str, list[Any]], sent: int, metrics_url: str) -> str:
    clean, dups, dead = outputs["clean"], outputs["duplicates"], outputs["deadletter"]
    lines = [
        "",
        f"streamer demo: {sent} inputs -> {len(clean)} clean, {len(dups)} duplicates, "
        f"{len(dead)} dead letters ({len(clean) + len(dups) + len(dead)} outputs)",
        "",
    ]
    titles = {r["id"]: r["title"] for r in clean + dups}
    clusters: dict[str, list[Any]] = defaultdict(list)
    for r in dups:
        clusters[r["cluster_id"]].append(r)
    lines.append(f"Clusters with rewrites ({len(clusters)}):")
    for cid, members in sorted(clusters.items()):
        lines.append(f"  {cid}  {titles.get(cid, '')[:70]}")
        for m in members:
            match = m.get("match") or {}
            how = match.get("kind", "?")
            if how == "near":
                how += f" J={match.get('jaccard')} C={match.get('containment')}"
            lines.append(
                f"    <- {m['id']:<14} sim={m['similarity']:.2f} {how:<26} "
                f"{(m.get('source') or '')[:20]:<20} {m['title'][:40]}"
            )
    lines.append("")
    lines.append(f"Dead letters ({len(dead)}):")
    for d in dead:
        where = f"{d['topic']}[{d['partition']}]@{d['offset']}"
        lines.append(f"  {where:<16} {d['error']['type']:<17} {d['error']['message'][:80]}")
    lines.append("")
    lines.append(f"Metrics were served at {metrics_url}")
    return "\n".join(lines)


def run_demo(metrics_port: int = 0, keep_serving: bool = False) -> int:
    setup_logging(os.environ.get("STREAMER_DEMO_LOG", "WARNING"), "text")
    print("starting the embedded broker ...", flush=True)
    with EmbeddedBroker() as broker:
        settings = Settings.model_validate(
            {
                "kafka": {
                    "bootstrap_servers": broker.bootstrap,
                    "group_id": "streamer-demo",
                    "session_timeout_ms": 6000,
                    "heartbeat_interval_ms": 1000,
                    "topic_partitions": 1,
                },
                "metrics": {"host": "127.0.0.1", "port": metrics_port},
            }
        )
        ensure_topics(settings)
        feed = [(key_of(line), line) for line in sample_feed()] + unstorable_inputs()
        producer = make_producer(settings)
        for key, value in feed:
            producer.send(settings.topics.raw, key=key, value=value)
        producer.flush()
        producer.close()
        print(f"broker at {broker.bootstrap}; produced {len(feed)} inputs to {settings.topics.raw}")

        metrics = Metrics()
        server = MetricsServer(metrics, "127.0.0.1", metrics_port).start()
        url = f"http://127.0.0.1:{server.port}/metrics"
        print(f"running the service (metrics at {url}) until idle ...", flush=True)
        stop = threading.Event()
        service = DecideService(settings, metrics, stop, exit_when_idle=3.0)
        started = time.monotonic()
        service.run()
        print(f"service finished in {time.monotonic() - started:.1f}s")
        print(summarize(read_outputs(settings), len(feed), url))
        if keep_serving:
            print("serving metrics; Ctrl-C to stop")
            try:
                while True:
                    time.sleep(1)
            except KeyboardInterrupt:
                pass
        server.stop()
    return 0
