"""Helpers for the integration tests: produce inputs, run the real service, read outputs."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from kafka.structs import TopicPartition

from streamer.config import Settings
from streamer.demo import key_of  # noqa: F401  (re-exported for the tests)
from streamer.files_io import dedup_records
from streamer.kafka.clients import (
    end_offsets,
    ensure_topics,
    make_consumer,
    make_producer,
    read_to_end,
)
from streamer.models import Outcome
from streamer.records import parse_headers

REPO = Path(__file__).resolve().parents[2]


def produce(
    settings: Settings,
    values: list[bytes],
    keys: list[bytes | None] | None = None,
    partition: int | None = None,
) -> None:
    ensure_topics(settings)
    producer = make_producer(settings)
    keys = keys or [None] * len(values)
    for key, value in zip(keys, values, strict=True):
        producer.send(settings.topics.raw, key=key, value=value, partition=partition)
    producer.flush()
    producer.close()


@dataclass
class Output:
    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: dict[str, Any]
    input: tuple[str, int, int] | None


def _input_of(headers: list[tuple[str, bytes]] | None) -> tuple[str, int, int] | None:
    coords = parse_headers(headers)
    return None if coords is None else (coords.topic, coords.partition, coords.offset)


def read_topic(settings: Settings, topic: str) -> list[Output]:
    reader = make_consumer(settings, None)
    try:
        parts = reader.partitions_for_topic(topic) or {0}
        starts = {TopicPartition(topic, p): 0 for p in parts}
        return [
            Output(
                r.topic,
                r.partition,
                r.offset,
                r.key,
                json.loads(r.value),
                _input_of(r.headers),
            )
            for r in read_to_end(reader, starts)
        ]
    finally:
        reader.close()


def read_outputs(settings: Settings) -> dict[str, list[Output]]:
    t = settings.topics
    return {
        "clean": read_topic(settings, t.clean),
        "duplicate": read_topic(settings, t.duplicates),
        "deadletter": read_topic(settings, t.deadletter),
    }


def raw_end(settings: Settings) -> dict[int, int]:
    reader = make_consumer(settings, None)
    try:
        parts = reader.partitions_for_topic(settings.topics.raw) or {0}
        ends = end_offsets(reader, [TopicPartition(settings.topics.raw, p) for p in parts])
        return {tp.partition: off for tp, off in ends.items()}
    finally:
        reader.close()


def assert_exactly_once(settings: Settings, outputs: dict[str, list[Output]]) -> None:
    """Invariants 1 and 2: every input offset on exactly one output, no key twice."""
    ends = raw_end(settings)
    seen: Counter[tuple[str, int, int]] = Counter()
    for outs in outputs.values():
        for o in outs:
            assert o.input is not None, f"output without input headers: {o}"
            seen[o.input] += 1
    twice = {k: n for k, n in seen.items() if n > 1}
    assert not twice, f"inputs published more than once: {sorted(twice)[:10]}"
    expected = {(settings.topics.raw, p, off) for p, end in ends.items() for off in range(end)}
    missing = expected - set(seen)
    assert not missing, f"{len(missing)} inputs never published: {sorted(missing)[:10]}"
    extra = set(seen) - expected
    assert not extra, f"outputs for inputs that do not exist: {sorted(extra)[:10]}"
    keys = Counter(o.key for name in ("clean", "duplicate") for o in outputs[name])
    dup_keys = {k: n for k, n in keys.items() if n > 1}
    assert not dup_keys, f"output keys published twice: {sorted(dup_keys)[:10]}"


def decisions(outputs: dict[str, list[Output]]) -> dict[str, tuple[str, str | None]]:
    """article id -> (outcome, duplicate_of), the decisions to compare across runs."""
    out: dict[str, tuple[str, str | None]] = {}
    for name in ("clean", "duplicate"):
        for o in outputs[name]:
            out[o.value["id"]] = (name, o.value.get("duplicate_of"))
    return out


def file_decisions(values: list[bytes], **settings_kw: object) -> dict[str, tuple[str, str | None]]:
    """The decisions of the file path over the same inputs in the same order."""
    results = dedup_records(values)
    out: dict[str, tuple[str, str | None]] = {}
    for r in results:
        if r.outcome is Outcome.DEADLETTER:
            continue
        assert r.article_id is not None and r.decision is not None
        name = "clean" if r.outcome is Outcome.CLEAN else "duplicate"
        out[r.article_id] = (name, r.decision.duplicate_of)
    return out


def write_config(settings: Settings, path: Path) -> Path:
    path.write_text(yaml.safe_dump(settings.model_dump(mode="json")))
    return path


def service_cmd(config: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "streamer", "run", "--config", str(config), *extra]


def start_service(
    config: Path, *extra: str, env: dict[str, str] | None = None, log: Path | None = None
) -> subprocess.Popen[bytes]:
    full_env = {**os.environ, **(env or {})}
    out = log.open("ab") if log else subprocess.DEVNULL
    return subprocess.Popen(
        service_cmd(config, *extra), env=full_env, cwd=REPO, stdout=out, stderr=subprocess.STDOUT
    )


def run_until_idle(
    config: Path,
    idle: float = 3.0,
    timeout: float = 180.0,
    env: dict[str, str] | None = None,
    log: Path | None = None,
) -> int:
    proc = start_service(config, "--exit-when-idle", str(idle), env=env, log=log)
    try:
        return proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        raise


def wait_for(predicate: Any, timeout: float, interval: float = 0.2) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return False


def http_get(port: int, path: str) -> tuple[int | None, str]:
    """(status, body) of a GET on the service's HTTP port; (None, "") when nothing answers."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=2) as resp:
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()
    except (urllib.error.URLError, OSError):
        return None, ""
