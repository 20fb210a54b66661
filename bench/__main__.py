"""``make bench``: the performance figures of issues 6, 15 and 17, in one run, beside goals.

    python -m bench [--quick] [--only NAME ...] [--profile-out PATH]

Figures needing the Reuters corpus (../shared/data/reuters21578.jsonl.gz) are
skipped with a message when it is absent; the synthetic memory figure still runs.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.bench_common import CORPUS, CorpusMissing

NAMES = (
    "normalize",
    "adversarial",
    "fingerprint",
    "decide",
    "writer",
    "split",
    "kafka",
    "latency",
    "recovery",
    "failover",
    "memory",
)


@dataclass
class Row:
    figure: str
    measured: str
    goal: str
    ratio: float | None  # >= 1 meets the goal
    note: str = ""

    @property
    def verdict(self) -> str:
        if self.ratio is None:
            return "-"
        return "PASS" if self.ratio >= 1 else "MISS"


def _fmt_rate(x: float) -> str:
    return f"{x:,.0f}/s"


def fig_normalize(quick: bool, rows: list[Row], details: dict[str, Any]) -> None:
    from bench import bench_normalize

    try:
        r = bench_normalize.run(300 if quick else 3000)
    except SystemExit as exc:  # bench_normalize exits when the corpus is missing
        raise CorpusMissing(str(exc)) from exc
    details["normalize"] = r
    for kind in ("plain", "html"):
        per_core = f"{_fmt_rate(r[f'normalize_{kind}_per_cpu_s'])} per CPU-second (one core)"
        rows.append(
            Row(
                f"normalize {kind} (info)",
                _fmt_rate(r[f"normalize_{kind}_per_s"]),
                "-",
                None,
                per_core,
            )
        )


def fig_adversarial(quick: bool, rows: list[Row], details: dict[str, Any]) -> None:
    """The worst record of the adversarial set at the message limit (issue 15)."""
    from bench import adversarial

    max_bytes = 64 * 1024 if quick else adversarial.MAX_BYTES - 2048
    results = adversarial.run(max_bytes=max_bytes)
    details["adversarial"] = [vars(m) for m in results]
    worst = max(results, key=lambda m: m.seconds)
    over = [m.case for m in results if m.seconds > 1.0]
    note = f"CPU time; {len(results)} cases at {max_bytes // 1024} KiB, deadline off"
    if over:
        note += f"; over 1 s: {', '.join(over)}"
    rows.append(
        Row(
            "worst record to prepare, adversarial set",
            f"{worst.seconds:.2f} s ({worst.case}, {worst.outcome})",
            "<= 1 s",
            1.0 / worst.seconds if worst.seconds > 0 else None,
            note,
        )
    )


def fig_fingerprint(quick: bool, rows: list[Row], details: dict[str, Any]) -> None:
    from bench import bench_fingerprint

    r = bench_fingerprint.run(500 if quick else 2000, rounds=3 if quick else 5)
    details["fingerprint"] = r
    rows.append(
        Row(
            "fingerprint speed-up vs MinHash.update loop",
            f"{r['speedup']:.1f}x ({_fmt_rate(r['ours_per_s'])} vs {_fmt_rate(r['naive_per_s'])})",
            ">= 10x",
            r["speedup"] / 10 if r["mismatches"] == 0 else 0.0,
            f"signatures identical on {r['texts'] - r['mismatches']}/{r['texts']} texts",
        )
    )


def fig_decide(quick: bool, rows: list[Row], details: dict[str, Any]) -> None:
    from bench import bench_decide

    r = bench_decide.run(3000 if quick else 20_000, rounds=3 if quick else 5)
    details["decide"] = r
    rows.append(
        Row(
            "decision (index decide+add), 1 core",
            _fmt_rate(r["decide_add_per_s"]),
            ">= 20,000/s",
            r["decide_add_per_s"] / 20_000,
            f"{r['articles']} Reuters articles, {r['duplicates']} duplicates",
        )
    )
    rows.append(
        Row(
            "  retrieval + verification alone (decide calls), 1 core (info)",
            _fmt_rate(r["decide_only_per_s"]),
            "-",
            None,
            f"per article: decide {r['decide_us']:.1f} us, add+evict {r['add_evict_us']:.1f} us "
            "(timed call by call)",
        )
    )
    rows.append(
        Row(
            "  Decider.decide incl. output record (info)",
            _fmt_rate(r["decider_with_record_per_s"]),
            "-",
            None,
        )
    )
    rows.append(
        Row(
            "  nothing derived in prepare (keys in the pass) (info)",
            _fmt_rate(r["decide_add_cold_per_s"]),
            "-",
            None,
            "as the dedup role gets entries from news.prepared; one pass each",
        )
    )


def fig_writer(quick: bool, rows: list[Row], details: dict[str, Any]) -> None:
    from bench import bench_writer

    r = bench_writer.run(1000 if quick else 5000, rounds=3 if quick else 5)
    details["writer"] = r
    rows.append(
        Row(
            "dedup role's own work (parse+decide+record), 1 core (info)",
            _fmt_rate(r["writer_per_s"]),
            "-",
            None,
            f"the ceiling of one ordered writer before Kafka I/O; "
            f"{r['bytes_per_record']:,.0f} B a prepared record",
        )
    )


def fig_split(quick: bool, rows: list[Row], details: dict[str, Any]) -> None:
    """The writer's ceiling (issue 17): ``--role dedup`` over a full news.prepared."""
    from bench import bench_split

    r = bench_split.run(2000 if quick else None, rounds=1 if quick else 3)
    details["split"] = r
    rows.append(
        Row(
            "dedup writer over a full news.prepared / bare passthrough of it",
            f"{r['ratio']:.2f} ({_fmt_rate(r['writer_per_s'])} / "
            f"{_fmt_rate(r['passthrough_per_s'])})",
            ">= 0.60 (stretch 0.80)",
            r["ratio"] / 0.60,
            f"the system's ceiling: {r['messages']} Reuters stories prepared beforehand, "
            f"{r['bytes_per_record']:,.0f} B a record, median of {len(r['writer_rounds'])} rounds",
        )
    )
    rows.append(
        Row(
            "  the same in client CPU time a record (info)",
            f"{r['cpu_ratio']:.2f} ({r['passthrough_cpu_us']:.0f} / {r['writer_cpu_us']:.0f} us)",
            "-",
            None,
            "passthrough / writer, this process's CPU (all threads, not the broker's)",
        )
    )


def fig_kafka(quick: bool, rows: list[Row], details: dict[str, Any], profile_out: Path) -> None:
    from bench import bench_kafka

    r = bench_kafka.run_throughput(
        2000 if quick else None, rounds=1 if quick else 3, profile=not quick
    )
    prof = r.pop("profile", None)
    details["kafka"] = r
    if prof:
        profile_out.write_text(prof)
    rows.append(
        Row(
            "end-to-end service / bare passthrough",
            f"{r['ratio']:.2f} ({_fmt_rate(r['service_per_s'])} / "
            f"{_fmt_rate(r['passthrough_per_s'])})",
            ">= 0.70",
            r["ratio"] / 0.70,
            f"{r['messages']} Reuters messages, median of {len(r['service_rounds'])} rounds",
        )
    )
    pool_ratio = r["service_pool_per_s"] / r["passthrough_per_s"]
    rows.append(
        Row(
            f"  same with prepare_workers={r['pool_workers']}",
            f"{pool_ratio:.2f} ({_fmt_rate(r['service_pool_per_s'])} / "
            f"{_fmt_rate(r['passthrough_per_s'])})",
            ">= 0.70",
            pool_ratio / 0.70,
            "the stateless half in worker processes, decisions in order in the main one",
        )
    )


def fig_latency(quick: bool, rows: list[Row], details: dict[str, Any]) -> None:
    from bench import bench_kafka

    seconds = 3 if quick else 15
    # In the main process (the default) and with the stateless half in worker processes.
    for workers in (0, bench_kafka.POOL_WORKERS):
        r = bench_kafka.run_latency(seconds, workers=workers)
        details[f"latency_workers_{workers}"] = r
        how = "prepare in-process" if workers == 0 else f"prepare_workers={workers}"
        rows.append(
            Row(
                f"latency produce -> clean record @ 1,000/s, {how}: p50 / p99",
                f"{r['p50_s'] * 1000:,.0f} / {r['p99_s'] * 1000:,.0f} ms",
                "report",
                None,
                f"offered {r['offered_per_s']:,.0f}/s for {r['inputs']} inputs, "
                f"{r['clean_outputs']} clean outputs, max {r['max_s'] * 1000:,.0f} ms",
            )
        )


def fig_recovery(quick: bool, rows: list[Row], details: dict[str, Any]) -> None:
    from bench import bench_recovery

    r = bench_recovery.run(10_000 if quick else 100_000)
    details["recovery"] = r
    rows.append(
        Row(
            f"recovery of {int(r['recovery_articles']):,} journaled articles",
            f"{r['recovery_seconds']:.1f} s",
            "report",
            None,
            f"{r['recovery_articles_per_s']:,.0f} articles/s: journal read, replay, index rebuild",
        )
    )


def fig_failover(quick: bool, rows: list[Row], details: dict[str, Any]) -> None:
    """Issue 16: kill -9 of the dedup writer to the first output of its warm standby."""
    from bench import bench_failover

    for articles in (10_000,) if quick else (100_000, 1_000_000):
        r = bench_failover.run(articles)
        details[f"failover_{articles}"] = r
        rows.append(
            Row(
                f"failover (writer kill -9 -> standby output) @ {articles:,} articles",
                f"{r['failover_s']:.1f} s",
                "<= 15 s @ 1M (6 s session)",
                15 / r["failover_s"] if articles >= 1_000_000 else None,
                bench_failover.split(r),
            )
        )


def fig_memory(quick: bool, rows: list[Row], details: dict[str, Any]) -> None:
    from bench import bench_memory

    n_index = 50_000 if quick else 1_000_000
    new = bench_memory.measure("index", n_index)
    details["memory"] = {"index": new}
    rows.append(
        Row(
            f"memory per article, index @ {n_index:,}",
            f"{new['bytes_per_article']:,.0f} B",
            "<= 1,024 B @ 1M",
            1024 / new["bytes_per_article"] if n_index >= 1_000_000 else None,
            f"RSS delta in a fresh process / N; {new['vocabulary_words']:,} vocabulary words; "
            f"decide at N {_fmt_rate(new['decide_per_s_at_n'])}",
        )
    )


def print_table(rows: list[Row]) -> None:
    headers = ("figure", "measured", "goal", "ratio", "result", "note")
    cells = [
        (
            r.figure,
            r.measured,
            r.goal,
            "-" if r.ratio is None else f"{r.ratio:.2f}",
            r.verdict,
            r.note,
        )
        for r in rows
    ]
    widths = [
        max(len(h), *(len(c[i]) for c in cells)) if cells else len(h) for i, h in enumerate(headers)
    ]
    line = "  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True))
    print(line)
    print("-" * len(line))
    for c in cells:
        print("  ".join(x.ljust(w) for x, w in zip(c, widths, strict=True)))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small sizes, for a smoke run")
    parser.add_argument("--only", action="append", choices=NAMES, help="run only this figure")
    parser.add_argument("--json", type=Path, help="also write every detail to this file")
    parser.add_argument(
        "--profile-out",
        type=Path,
        default=Path("/tmp/streamer-service-profile.txt"),
        help="where the service's cProfile top entries go (full kafka run only)",
    )
    args = parser.parse_args(argv)
    names = args.only or list(NAMES)
    if not CORPUS.is_file():
        print(f"NOTE: Reuters corpus not found at {CORPUS}; corpus figures are skipped.")
    rows: list[Row] = []
    details: dict[str, Any] = {}
    runners: dict[str, Callable[[], None]] = {
        "normalize": lambda: fig_normalize(args.quick, rows, details),
        "adversarial": lambda: fig_adversarial(args.quick, rows, details),
        "fingerprint": lambda: fig_fingerprint(args.quick, rows, details),
        "decide": lambda: fig_decide(args.quick, rows, details),
        "writer": lambda: fig_writer(args.quick, rows, details),
        "split": lambda: fig_split(args.quick, rows, details),
        "kafka": lambda: fig_kafka(args.quick, rows, details, args.profile_out),
        "latency": lambda: fig_latency(args.quick, rows, details),
        "recovery": lambda: fig_recovery(args.quick, rows, details),
        "failover": lambda: fig_failover(args.quick, rows, details),
        "memory": lambda: fig_memory(args.quick, rows, details),
    }
    for name in names:
        started = time.monotonic()
        print(f"[bench] {name} ...", file=sys.stderr, flush=True)
        try:
            runners[name]()
        except CorpusMissing as exc:
            rows.append(Row(name, "skipped", "-", None, str(exc)))
        print(
            f"[bench] {name} done in {time.monotonic() - started:.0f}s", file=sys.stderr, flush=True
        )
    print()
    print_table(rows)
    if "kafka" in details and not args.quick:
        print(f"\nservice profile (cProfile, top entries): {args.profile_out}")
    if args.json:
        args.json.write_text(json.dumps(details, indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
