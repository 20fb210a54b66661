"""Failover of the deciding writer: kill -9 to the first output from its warm standby.

Real processes on the embedded broker, as ``streamer run`` runs them:

1. a synthetic journal of N indexed articles (``bench_recovery.write_journal``: realistic
   shingle sets, dated inside one window; their inputs are history, not in the input topic);
2. a ``prepare`` replica, a ``dedup`` writer that recovers the journal and publishes, then a
   ``dedup`` standby that joins the group and tails the journal until its lag
   (``streamer_standby_lag_records``) is 0; the writer's rebalances after the join are
   counted (sticky assignment: it keeps the partition, and its index);
3. inputs at a steady 20/s, dated inside the window (each decided against the N articles);
4. SIGKILL of the writer; the figure is the time from the kill to the first output record
   the standby publishes (its Kafka timestamp), split from the standby's log into: the
   session timeout running out (until its rebalance begins), the group join, the journal
   catch-up and the tail reconciliation (the rest of recovery), and the first batch.

    python bench/bench_failover.py [--articles 100000] [--session-timeout-ms 6000]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml
from kafka.structs import TopicPartition

from bench import bench_recovery
from streamer.broker import EmbeddedBroker, free_port
from streamer.config import Settings
from streamer.kafka.clients import end_offsets, ensure_topics, make_consumer, make_producer

SERVICE = [sys.executable, "-m", "streamer", "run"]
RATE = 20.0  # inputs a second while the writer is killed: a live stream, well below capacity
PUBLISHED_AT = "2026-11-07T00:00:00Z"  # inside the synthetic journal's window, at its end


def settings_for(bootstrap: str, session_timeout_ms: int) -> Settings:
    tag = uuid.uuid4().hex[:8]
    return Settings.model_validate(
        {
            "kafka": {
                "bootstrap_servers": bootstrap,
                "group_id": f"failover-{tag}",
                "topic_partitions": 1,
                "session_timeout_ms": session_timeout_ms,
                "heartbeat_interval_ms": max(session_timeout_ms // 6, 500),
                "max_poll_records": 50,
            },
            "topics": {
                n: f"f{tag}.{n}"
                for n in ("raw", "clean", "duplicates", "deadletter", "prepared", "journal")
            },
            "metrics": {"enabled": True, "host": "127.0.0.1"},
            "log": {"format": "json", "level": "INFO"},
        }
    )


def http_get(port: int, path: str) -> tuple[int | None, str]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=2) as resp:
            return int(resp.status), resp.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, ""
    except (urllib.error.URLError, OSError):
        return None, ""


def standby_lag(port: int) -> float | None:
    status, body = http_get(port, "/metrics")
    if status != 200:
        return None
    for line in body.splitlines():
        if line.startswith("streamer_standby_lag_records "):
            return float(line.split()[1])
    return None


def events(log: Path) -> list[dict[str, Any]]:
    out = []
    for line in log.read_text(errors="replace").splitlines():
        with contextlib.suppress(ValueError):
            rec = json.loads(line)
            if isinstance(rec, dict) and "event" in rec:
                out.append(rec)
    return out


def ts(event: dict[str, Any]) -> float:
    return datetime.fromisoformat(event["ts"]).timestamp()


class Instance:
    """One ``streamer run`` process with its log and metrics port."""

    def __init__(self, name: str, config: Path, tmp: Path, role: str, group: str) -> None:
        self.log = tmp / f"{name}.log"
        self.port = free_port()
        args = ["--role", role, "--group-id", group, "--metrics-port", str(self.port)]
        with self.log.open("wb") as out:
            self.proc = subprocess.Popen(
                [*SERVICE, "--config", str(config), *args],
                stdout=out,
                stderr=subprocess.STDOUT,
            )

    def events(self, name: str) -> list[dict[str, Any]]:
        return [e for e in events(self.log) if e["event"] == name]

    def wait(self, what: str, predicate: Any, timeout: float) -> float:
        """Seconds until ``predicate()``; RuntimeError (with the log's end) past ``timeout``."""
        started = time.monotonic()
        while not predicate():
            if self.proc.poll() is not None or time.monotonic() - started > timeout:
                tail = self.log.read_text(errors="replace")[-3000:]
                raise RuntimeError(f"{what}: not within {timeout:.0f} s\n{tail}")
            time.sleep(0.1)
        return time.monotonic() - started

    def rss_bytes(self) -> int | None:
        """The process's resident memory now (Linux ``/proc``); None elsewhere."""
        try:
            status = Path(f"/proc/{self.proc.pid}/status").read_text()
        except OSError:
            return None
        for line in status.splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
        return None

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


@contextlib.contextmanager
def steady_inputs(settings: Settings, stories: list[dict[str, Any]]) -> Iterator[None]:
    """Inputs at ``RATE`` a second, on a thread, while the block runs."""
    stop = threading.Event()

    def run() -> None:
        producer = make_producer(settings)
        started = time.monotonic()
        i = 0
        while not stop.is_set():
            story = stories[i % len(stories)]
            record = {
                "id": f"live-{i}",
                "title": story.get("title") or "",
                "body": story["body"],
                "source": "reuters",
                "published_at": PUBLISHED_AT,
            }
            producer.send(settings.topics.raw, value=json.dumps(record).encode())
            producer.flush()
            i += 1
            stop.wait(max(started + i / RATE - time.monotonic(), 0))
        producer.close()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


def output_partitions(settings: Settings) -> list[TopicPartition]:
    t = settings.topics
    return [TopicPartition(x, 0) for x in (t.clean, t.duplicates, t.deadletter)]


def first_output_after(settings: Settings, killed_ms: float, timeout: float = 300) -> float:
    """The Kafka timestamp (s) of the first output record stamped after ``killed_ms``."""
    reader = make_consumer(settings, None)
    try:
        tps = output_partitions(settings)
        starts = end_offsets(reader, tps)
        reader.assign(tps)
        for tp, off in starts.items():
            reader.seek(tp, max(off - 200, 0))
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for records in reader.poll(timeout_ms=200).values():
                after = [r.timestamp for r in records if r.timestamp > killed_ms]
                if after:
                    return min(after) / 1000
        raise RuntimeError("no output after the kill")
    finally:
        reader.close()


def kill_writer_under_load(
    settings: Settings, stories: list[dict[str, Any]], writer: Instance, standby: Instance
) -> tuple[dict[str, int | None], float, float]:
    """With inputs arriving and the writer publishing, SIGKILL it; its memory and the
    standby's just before, the kill's wall time, and the first output's broker time after."""
    with steady_inputs(settings, stories):
        outs = output_partitions(settings)
        reader = make_consumer(settings, None)
        try:
            writer.wait(
                "writer publishing",
                lambda: sum(end_offsets(reader, outs).values()) >= 2 * RATE,
                60,
            )
        finally:
            reader.close()
        rss = {"writer_rss_bytes": writer.rss_bytes(), "standby_rss_bytes": standby.rss_bytes()}
        killed = time.time()
        writer.stop(signal.SIGKILL)
        first = first_output_after(settings, killed * 1000)
    return rss, killed, first


def run(
    articles: int = 100_000, session_timeout_ms: int = 6000, keep_logs: Path | None = None
) -> dict[str, Any]:
    stories = [s for s in bench_recovery_stories() if (s.get("body") or "").strip()]
    with EmbeddedBroker() as broker, tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        settings = settings_for(broker.bootstrap, session_timeout_ms)
        ensure_topics(settings)
        history = f"{settings.topics.raw}.history"
        write_s = bench_recovery.write_journal(
            settings, articles, 7, history, next_offset=0, checkpoint_topic=settings.topics.prepared
        )
        config = tmp / "streamer.yaml"
        config.write_text(yaml.safe_dump(settings.model_dump(mode="json")))
        budget = 60 + articles / 1000  # the cold start reads the whole journal

        group = settings.kafka.group_id
        prepare = Instance("prepare", config, tmp, "prepare", f"{group}-prepare")
        writer = Instance("writer", config, tmp, "dedup", group)
        standby: Instance | None = None
        try:
            writer_ready = writer.wait(
                "writer ready", lambda: http_get(writer.port, "/readyz")[0] == 200, budget
            )
            standby = Instance("standby", config, tmp, "dedup", group)
            sb = standby

            def warm() -> bool:
                lag = standby_lag(sb.port)
                return lag == 0 and bool(sb.events("partitions assigned"))

            standby_warm = standby.wait("standby warm", warm, budget)
            rss, killed, first = kill_writer_under_load(settings, stories, writer, sb)
            lag_when_killed = standby_lag(standby.port)
            standby.wait("standby committing", lambda: bool(sb.events("batch committed")), 60)
        finally:
            writer.stop(signal.SIGKILL)
            if standby is not None:
                standby.stop()
            prepare.stop()
            if keep_logs is not None:
                keep_logs.mkdir(parents=True, exist_ok=True)
                for log in tmp.glob("*.log"):
                    (keep_logs / log.name).write_bytes(log.read_bytes())
        return breakdown(writer, standby, killed, first) | {
            "articles": articles,
            "session_timeout_ms": session_timeout_ms,
            "journal_write_s": write_s,
            "writer_cold_start_s": writer_ready,
            "standby_warm_s": standby_warm,
            "standby_lag_at_kill": lag_when_killed,
            **rss,
        }


def bench_recovery_stories() -> list[dict[str, Any]]:
    from bench.bench_common import load_stories

    return load_stories(2000)


def breakdown(writer: Instance, standby: Instance, killed: float, first: float) -> dict[str, Any]:
    """Where the failover time went, from the standby's log (and the writer's rebalances)."""
    revoked = [ts(e) for e in standby.events("partitions revoked") if ts(e) > killed]
    assigned = [
        e for e in standby.events("partitions assigned") if e["partitions"] and ts(e) > killed
    ]
    recovered = [e for e in standby.events("recovered") if ts(e) > killed]
    if not (revoked and assigned and recovered):
        raise RuntimeError("the standby's log does not show the take-over")
    rec = recovered[0]
    rebalance_at, assigned_at, recovered_at = revoked[0], ts(assigned[0]), ts(rec)
    catch_up = float(rec["catch_up_seconds"])
    writer_rec = writer.events("recovered")
    return {
        "failover_s": first - killed,
        "session_expiry_s": rebalance_at - killed,
        "join_s": assigned_at - rebalance_at,
        "catch_up_s": catch_up,
        "catch_up_records": rec["journal_records"],
        "reconcile_s": float(rec["seconds"]) - catch_up,
        "first_batch_s": first - recovered_at,
        "take_over_warm": bool(rec["warm"]),
        "indexed_at_take_over": rec["indexed"],
        "writer_rebalances_on_join": len(writer_rec) - 1,
        "writer_records_read_on_join": sum(e["journal_records"] for e in writer_rec[1:]),
        "writer_cold_recovery_s": float(writer_rec[0]["seconds"]) if writer_rec else None,
    }


def split(r: dict[str, Any]) -> str:
    """The parts of one failover, and which dominates."""
    parts = {
        "session expiry": r["session_expiry_s"],
        "join": r["join_s"],
        "catch-up": r["catch_up_s"],
        "reconciliation": r["reconcile_s"],
        "first batch": r["first_batch_s"],
    }
    dominant = max(parts, key=lambda k: parts[k])
    return ", ".join(f"{k} {v:.1f} s" for k, v in parts.items()) + f"; {dominant} dominates"


def describe(r: dict[str, Any]) -> str:
    return (
        f"failover at {r['articles']:,} articles: {r['failover_s']:.1f} s ({split(r)}); "
        f"catch-up read {r['catch_up_records']} records; RSS before the kill: writer "
        f"{(r['writer_rss_bytes'] or 0) / 2**20:,.0f} MiB, standby "
        f"{(r['standby_rss_bytes'] or 0) / 2**20:,.0f} MiB; "
        f"the writer's cold start took {r['writer_cold_recovery_s']:.1f} s; on the standby's "
        f"join the writer rebalanced {r['writer_rebalances_on_join']}x and read "
        f"{r['writer_records_read_on_join']} journal records"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--articles", type=int, default=100_000)
    ap.add_argument("--session-timeout-ms", type=int, default=6000)
    ap.add_argument("--keep-logs", type=Path, help="copy the processes' logs to this folder")
    args = ap.parse_args()
    r = run(args.articles, args.session_timeout_ms, args.keep_logs)
    print(json.dumps(r, indent=2, default=str))
    print(describe(r))


if __name__ == "__main__":
    main()
