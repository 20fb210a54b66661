"""Shared fixtures: one real broker per session, isolated topics per test.

Integration tests talk to a real Kafka-compatible broker over a socket: the
embedded Tansu broker by default, or the cluster named by
``KAFKA_BOOTSTRAP_SERVERS`` (a real Apache Kafka) when that is set.
"""

from __future__ import annotations

import gzip
import json
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from streamer.broker import BrokerUnavailable, EmbeddedBroker
from streamer.config import Settings

REPO = Path(__file__).resolve().parent.parent
DATA = REPO.parent / "shared" / "data"
REUTERS = DATA / "reuters21578.jsonl.gz"
EXAMPLE_ARTICLE = DATA / "example-raw-article.json"
SAMPLE_FEED = REPO / "streamer" / "samples" / "feed.jsonl"


def external_bootstrap() -> str | None:
    return os.environ.get("KAFKA_BOOTSTRAP_SERVERS") or None


@pytest.fixture(scope="session")
def bootstrap(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    external = external_bootstrap()
    if external:
        yield external
        return
    log_path = tmp_path_factory.mktemp("broker") / "tansu.log"
    try:
        broker = EmbeddedBroker(log_path=log_path).start()
    except BrokerUnavailable as exc:
        pytest.fail(f"embedded broker unavailable: {exc}")
    try:
        yield broker.bootstrap
    finally:
        broker.stop()


def make_settings(bootstrap: str, partitions: int = 1, **sections: Any) -> Settings:
    """Settings with topics and group unique to one test, so tests never see each other."""
    tag = uuid.uuid4().hex[:8]
    data: dict = {
        "kafka": {
            "bootstrap_servers": bootstrap,
            "group_id": f"g-{tag}",
            "session_timeout_ms": 6000,
            "heartbeat_interval_ms": 1000,
            "topic_partitions": partitions,
            "max_poll_records": 50,
        },
        "topics": {
            name: f"t{tag}.{name}"
            for name in ("raw", "clean", "duplicates", "deadletter", "prepared", "journal")
        },
        "metrics": {"enabled": False, "port": 0},
        "log": {"format": "json", "level": "INFO"},
    }
    for section, values in sections.items():
        if isinstance(values, dict):
            data.setdefault(section, {}).update(values)
        else:
            data[section] = values
    return Settings.model_validate(data)


@pytest.fixture
def kafka_settings(bootstrap: str) -> Settings:
    return make_settings(bootstrap)


@pytest.fixture(scope="session")
def reuters_stories() -> list[dict]:
    if not REUTERS.is_file():
        pytest.skip(f"Reuters corpus not found at {REUTERS} (see ../shared/data/README.md)")
    with gzip.open(REUTERS, "rt", encoding="utf-8") as fh:
        return [json.loads(line) for line in fh]


def reuters_record(story: dict) -> dict:
    """A Reuters story as an input record of our contract."""
    return {
        "id": f"r{story['newid']}",
        "title": story.get("title") or "",
        "body": story["body"],
        "url": f"https://wire.example/story/{story['newid']}",
        "source": "reuters",
        "published_at": story.get("date"),
    }
