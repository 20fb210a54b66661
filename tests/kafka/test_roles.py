"""The split roles as real processes: prepare replicas in one group, dedup replicas in another.

Invariants held here, across process deaths:

* a SIGKILLed active ``dedup`` is replaced by its standby, whose index followed
  the journal (its log says ``recovered``, ``warm``, with ``indexed > 0``) and
  which goes on deciding: rewrites produced after the kill are recognised as
  duplicates of stories decided before it;
* a SIGKILLed ``prepare`` replica, started again, replays at most its last
  uncommitted batch, and the dedup writer drops those replays by raw offset;
* through all of it, every raw input lands exactly once on one of the three
  output topics and no output key appears twice.
"""

from __future__ import annotations

import gzip
import json
import re
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
from kafka.structs import TopicPartition

from streamer.broker import free_port
from streamer.config import Settings
from streamer.demo import sample_feed
from streamer.kafka.clients import make_consumer, make_producer, read_to_end
from streamer.records import decode_prepared
from tests.conftest import REUTERS, make_settings
from tests.kafka.kafkautil import (
    REPO,
    assert_exactly_once,
    http_get,
    key_of,
    produce,
    raw_end,
    read_outputs,
    start_service,
    wait_for,
    write_config,
)

pytestmark = [pytest.mark.kafka]

EXPECTED = json.loads((REPO / "streamer" / "samples" / "expected.json").read_text())
# Reuters stories as filler, so that a kill lands while there is still work in flight.
# Their dates are pinned inside the sample feed's day: a story without a date would be
# stamped "now" and push the window past the sample stories.
FILLER_DATE = "2024-05-14T12:00:00Z"
FILLER_PER_PHASE = 400

Feed = list[tuple[bytes | None, bytes]]


# -- helpers ------------------------------------------------------------------------------------


def split_feed() -> tuple[Feed, Feed]:
    """The sample feed without its rewrites (phase 1), and the rewrites alone (phase 2)."""
    feed = [(key_of(v), v) for v in sample_feed()]
    rewrites = set(EXPECTED["duplicates"])
    first = [(k, v) for k, v in feed if not (k and k.decode() in rewrites)]
    second = [(k, v) for k, v in feed if k and k.decode() in rewrites]
    assert len(second) == len(rewrites)
    return first, second


def reuters_filler(n: int, skip: int = 0) -> Feed:
    if not REUTERS.is_file():
        return []
    out: Feed = []
    with gzip.open(REUTERS, "rt", encoding="utf-8") as fh:
        for i, line in enumerate(fh):
            if i < skip:
                continue
            if len(out) >= n:
                break
            story = json.loads(line)
            if not (story.get("body") or "").strip():
                continue
            record = {
                "id": f"r{story['newid']}",
                "title": story.get("title") or "",
                "body": story["body"],
                "url": f"https://wire.example/story/{story['newid']}",
                "source": "reuters",
                "published_at": FILLER_DATE,
            }
            value = json.dumps(record).encode()
            out.append((key_of(value), value))
    return out


def produce_feed(settings: Settings, feed: Feed) -> None:
    produce(settings, [v for _, v in feed], [k for k, _ in feed])


def metric_sum(port: int, name: str) -> float:
    """Sum of every sample of one metric family (all label sets); 0 when unreachable."""
    status, body = http_get(port, "/metrics")
    if status != 200:
        return 0.0
    total = 0.0
    pattern = re.compile(rf"^{re.escape(name)}(?:\{{[^}}]*\}})? (\S+)$")
    for line in body.splitlines():
        m = pattern.match(line)
        if m:
            total += float(m.group(1))
    return total


def events(log: Path) -> list[dict[str, Any]]:
    out = []
    if not log.is_file():
        return out
    for line in log.read_text(errors="replace").splitlines():
        try:
            rec = json.loads(line)
        except ValueError:
            continue
        if isinstance(rec, dict) and "event" in rec:
            out.append(rec)
    return out


def last_assignment(log: Path) -> list[str] | None:
    """Partitions of the last "partitions assigned" event, None before the first one."""
    assigned = [e for e in events(log) if e["event"] == "partitions assigned"]
    return assigned[-1]["partitions"] if assigned else None


class Proc:
    """One ``streamer run`` process with its own log and metrics port."""

    def __init__(self, name: str, config: Path, role: str, group: str, tmp: Path) -> None:
        self.name = name
        self.config = config
        self.role = role
        self.group = group
        self.log = tmp / f"{name}.log"
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, *extra: str) -> Proc:
        self.port = free_port()
        self.proc = start_service(
            self.config,
            "--role",
            self.role,
            "--group-id",
            self.group,
            "--metrics-port",
            str(self.port),
            *extra,
            log=self.log,
        )
        return self

    def ready(self) -> bool:
        return http_get(self.port, "/readyz")[0] == 200

    def articles(self) -> float:
        return metric_sum(self.port, "streamer_articles_total")

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)

    def wait(self, timeout: float) -> int:
        assert self.proc is not None
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            pytest.fail(f"{self.name} still running {timeout:.0f}s after SIGTERM\n{self.tail()}")

    def cleanup(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=10)

    def tail(self, n: int = 4000) -> str:
        return self.log.read_text(errors="replace")[-n:] if self.log.is_file() else ""


def total_inputs(settings: Settings) -> int:
    return sum(raw_end(settings).values())


def published_inputs(settings: Settings) -> int:
    outputs = read_outputs(settings)
    return len({o.input for outs in outputs.values() for o in outs})


def wait_all_published(settings: Settings, procs: list[Proc], timeout: float) -> None:
    want = total_inputs(settings)
    done = wait_for(lambda: published_inputs(settings) >= want, timeout, interval=1.0)
    if not done:
        logs = "\n".join(f"== {p.name}\n{p.tail(2000)}" for p in procs)
        pytest.fail(f"only {published_inputs(settings)}/{want} inputs published\n{logs}")


def stop_all(procs: list[Proc]) -> None:
    """SIGTERM every live process at once, then each must exit 0 within 30 s."""
    live = [p for p in procs if p.proc is not None and p.proc.poll() is None]
    for p in live:
        assert p.proc is not None
        p.proc.send_signal(signal.SIGTERM)
    # Once: a second SIGTERM during interpreter shutdown would kill with the default action.
    started = time.monotonic()
    for p in live:
        rc = p.wait(timeout=max(30.0 - (time.monotonic() - started), 1.0))
        assert rc == 0, f"{p.name} exited {rc}\n{p.tail()}"


def prepared_inputs(settings: Settings) -> int:
    """Distinct raw inputs on news.prepared (replays counted once)."""
    seen = set()
    for rec in read_prepared(settings):
        src = decode_prepared(rec.value).source.model_dump()
        seen.add((src["topic"], src["partition"], src["offset"]))
    return len(seen)


def wait_prepared(settings: Settings, n: int, procs: list[Proc], timeout: float = 60) -> None:
    """Phase 2 goes in only once phase 1 is all prepared: with several raw partitions,
    a rewrite could otherwise reach the decision before its original does."""
    if not wait_for(lambda: prepared_inputs(settings) >= n, timeout, interval=0.5):
        logs = "\n".join(f"== {p.name}\n{p.tail(2000)}" for p in procs)
        pytest.fail(f"only {prepared_inputs(settings)}/{n} inputs prepared\n{logs}")


def read_prepared(settings: Settings) -> list[Any]:
    reader = make_consumer(settings, None)
    try:
        return list(read_to_end(reader, {TopicPartition(settings.topics.prepared, 0): 0}))
    finally:
        reader.close()


def check_expected_duplicates(settings: Settings) -> dict[str, Any]:
    outputs = read_outputs(settings)
    assert_exactly_once(settings, outputs)
    clean_ids = [o.value["id"] for o in outputs["clean"]]
    assert len(clean_ids) == len(set(clean_ids)), "a story published twice as clean"
    dups = {o.value["id"]: o.value for o in outputs["duplicate"]}
    for rewrite, original in EXPECTED["duplicates"].items():
        assert rewrite in dups, f"{rewrite} is not on the duplicates topic"
        assert dups[rewrite]["duplicate_of"] == original, (rewrite, dups[rewrite])
        assert original in clean_ids, original
    for group in EXPECTED["distinct_groups"]:
        assert all(i in clean_ids for i in group), group
    return outputs


def start_prepares(bootstrap: str, tmp_path: Path) -> tuple[Settings, Path, Feed, Feed, list[Proc]]:
    """Three raw partitions, the first half of the feed produced, two prepare replicas
    started; the second half is for the test to produce later."""
    settings = make_settings(
        bootstrap, partitions=3, metrics={"enabled": True, "port": 0, "host": "127.0.0.1"}
    )
    config = write_config(settings, tmp_path / "s.yaml")
    first, second = split_feed()
    filler = reuters_filler(2 * FILLER_PER_PHASE)
    first = first + filler[:FILLER_PER_PHASE]
    second = second + filler[FILLER_PER_PHASE:]
    produce_feed(settings, first)
    group = settings.kafka.group_id
    prepares = [
        Proc(f"prepare-{i}", config, "prepare", f"{group}-prepare", tmp_path) for i in (1, 2)
    ]
    return settings, config, first, second, prepares


# -- tests --------------------------------------------------------------------------------------


def test_standby_dedup_takes_over_when_the_active_one_is_killed(
    bootstrap: str, tmp_path: Path
) -> None:
    settings, config, first, second, prepares = start_prepares(bootstrap, tmp_path)
    group = settings.kafka.group_id
    dedups = [Proc(f"dedup-{i}", config, "dedup", f"{group}-dedup", tmp_path) for i in (1, 2)]
    procs = prepares + dedups
    try:
        for p in procs:
            p.start()

        # The group has settled once both dedups joined: one holds news.prepared, one nothing.
        def settled() -> bool:
            parts = [last_assignment(d.log) for d in dedups]
            return all(a is not None for a in parts) and sorted(map(bool, parts)) == [
                False,
                True,
            ]

        assert wait_for(settled, 60), "\n".join(d.tail() for d in dedups)
        active = next(d for d in dedups if last_assignment(d.log))
        standby = next(d for d in dedups if d is not active)
        assert wait_for(active.ready, 30), active.tail()
        assert not standby.ready()

        # Mid-stream: it has decided some of phase 1 (maybe not all of it).
        assert wait_for(lambda: active.articles() >= 20, 60, interval=0.05), active.tail()
        decided_before_kill = active.articles()
        active.kill()
        wait_prepared(settings, len(first), procs)
        produce_feed(settings, second)

        assert wait_for(standby.ready, 45), standby.tail()
        wait_all_published(settings, procs, timeout=60)
        assert standby.articles() > 0
        stop_all([p for p in procs if p is not active])
    finally:
        for p in procs:
            p.cleanup()

    check_expected_duplicates(settings)

    recovered = [e for e in events(standby.log) if e["event"] == "recovered"]
    assert recovered, standby.tail()
    assert recovered[-1]["indexed"] > 0, recovered
    # Warm: the standby's index had followed the journal; the take-over read from there.
    assert recovered[-1]["warm"] and recovered[-1]["journal_from"] > 0, recovered
    assert decided_before_kill > 0
    for p in procs:
        if p is not active:
            assert any(e["event"] == "service stopped" for e in events(p.log)), p.tail()


def test_prepare_replica_killed_and_restarted_still_gives_exactly_once(
    bootstrap: str, tmp_path: Path
) -> None:
    settings, config, first, second, prepares = start_prepares(bootstrap, tmp_path)
    group = settings.kafka.group_id
    dedup = Proc("dedup", config, "dedup", f"{group}-dedup", tmp_path)
    procs = [*prepares, dedup]
    restarted = Proc("prepare-1b", config, "prepare", f"{group}-prepare", tmp_path)
    try:
        for p in procs:
            p.start()
        victim = prepares[0]

        # Kill a replica while it owns raw partitions and is preparing.
        def victim_busy() -> bool:
            return bool(last_assignment(victim.log)) and (
                metric_sum(victim.port, "streamer_prepared_total") >= 5
            )

        assert wait_for(victim_busy, 60, interval=0.05), victim.tail()
        victim.kill()
        restarted.start()
        procs.append(restarted)
        wait_prepared(settings, len(first), procs)
        produce_feed(settings, second)

        # A deterministic replay on top of whatever the kill caused: the last prepared
        # records appended again, as a restarted replica re-sends its uncommitted batch.
        assert wait_for(lambda: dedup.articles() >= 20, 60), dedup.tail()
        tail = read_prepared(settings)[-10:]
        producer = make_producer(settings)
        for rec in tail:
            producer.send(
                settings.topics.prepared, key=rec.key, value=rec.value, headers=rec.headers
            )
        producer.flush()
        producer.close()

        wait_all_published(settings, procs, timeout=60)
        assert wait_for(lambda: bool(last_assignment(restarted.log)), 30), restarted.tail()
        stop_all([p for p in procs if p is not victim])
    finally:
        for p in [*procs, restarted]:
            p.cleanup()

    check_expected_duplicates(settings)
    prepared = read_prepared(settings)
    raw = total_inputs(settings)
    assert len(prepared) > raw, "no replayed prepared record reached the dedup writer"
