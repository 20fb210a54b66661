"""``streamer eval`` (``make eval``): build the labeled stream, run the systems, print the table.

Usage::

    streamer eval [--corpus PATH] [--originals N] [--seed S] [--write-stream PATH]
    streamer eval --labels PATH.labels.json --decisions OUT.jsonl [...]

The corpus is ``--corpus``, else ``reuters21578.jsonl.gz`` in the setting
``evaluation.data_dir`` (``STREAMER_EVALUATION__DATA_DIR``, default
``../shared/data``); when it is missing the command says where it looked and
exits 2. The systems run with the settings ``streamer dedup`` would use.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from streamer.config import ConfigError, Settings, load_settings
from streamer.evaluation.baseline import naive_decisions
from streamer.evaluation.corpus import REUTERS_FILE, CorpusMissingError, load_reuters
from streamer.evaluation.meter import METER_FILE, ClusterSystem, run_meter
from streamer.evaluation.rewrites import KINDS
from streamer.evaluation.scoring import Labels, Scores, evaluate, format_table, score
from streamer.evaluation.stream import build_stream
from streamer.evaluation.systems import (
    System,
    naive_clusters,
    streamer_clusters,
    streamer_system,
)


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(
        prog="python -m streamer.evaluation",
        description="Labeled-stream generator and scorer for ``make eval``.",
    )
    ap.add_argument(
        "--corpus",
        type=Path,
        help=f"the Reuters-21578 JSONL (default: {REUTERS_FILE} in evaluation.data_dir)",
    )
    ap.add_argument("--originals", type=int, default=1500)
    ap.add_argument("--rewrites", type=float, default=1.5, help="mean rewrites per original")
    ap.add_argument("--hard-negatives", type=int, default=300)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument(
        "--write-stream",
        type=Path,
        help="write the stream as JSONL to PATH and its labels to PATH.labels.json",
    )
    ap.add_argument("--labels", type=Path, help="score saved decisions against these labels")
    ap.add_argument(
        "--decisions",
        type=Path,
        action="append",
        help="JSONL of published records ({id, duplicate_of}), e.g. the clean and "
        "duplicates outputs of the CLI; repeatable; needs --labels",
    )
    ap.add_argument("--no-system", action="store_true", help="run the naive baseline only")
    ap.add_argument(
        "--meter",
        type=Path,
        help=f"the METER JSONL (default: {METER_FILE} in evaluation.data_dir; absent: skipped)",
    )
    ap.add_argument("--no-meter", action="store_true", help="the Reuters stream only")
    ap.add_argument("--meter-only", action="store_true", help="the METER report only")
    return ap


def read_decisions(paths: Sequence[Path]) -> dict[str, str | None]:
    """``id`` -> ``duplicate_of`` of published records (``streamer dedup``'s outputs)."""
    out: dict[str, str | None] = {}
    for path in paths:
        with path.open(encoding="utf-8") as fh:
            for line in fh:
                if line.strip():
                    obj = json.loads(line)
                    out[str(obj["id"])] = obj.get("duplicate_of")
    return out


def write_stream(path: Path, records: list[dict], labels: Labels) -> Path:
    """The stream as JSONL at ``path`` and its labels beside it; returns the labels' path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as fh:
        for rec in records:
            fh.write(json.dumps(rec, ensure_ascii=False) + "\n")
    labels_path = path.with_name(path.name + ".labels.json")
    labels_path.write_text(json.dumps(labels.to_json()), encoding="utf-8")
    return labels_path


def run_systems(
    systems: dict[str, System], records: list[dict], labels: Labels
) -> dict[str, Scores]:
    """Each system's scores; one that fails is reported and left out of the table."""
    results: dict[str, Scores] = {}
    for name, system in systems.items():
        try:
            results[name] = evaluate(system, records, labels)
        except Exception as exc:
            print(f"{name} run failed: {type(exc).__name__}: {exc}", file=sys.stderr)
    return results


def reuters_report(
    args: argparse.Namespace, corpus: Path, systems: dict[str, System], started: float
) -> None:
    """The Reuters evaluation: raises :class:`CorpusMissingError` before printing anything."""
    stories = load_reuters(corpus)
    records, labels = build_stream(
        stories, args.originals, args.rewrites, args.hard_negatives, args.seed
    )
    built = time.perf_counter() - started
    n_rw = sum(1 for k in labels.kind.values() if k in KINDS)
    print(
        f"stream: {len(records)} records ({len(records) - n_rw} corpus stories, {n_rw} "
        f"rewrites, {len(labels.hard_negative_pairs)} hard-negative pairs, "
        f"{len(set(labels.cluster.values()))} true clusters); built in {built:.1f}s"
    )
    if args.write_stream:
        labels_path = write_stream(args.write_stream, records, labels)
        print(f"wrote {args.write_stream} and {labels_path}")
    print(format_table(run_systems(systems, records, labels)))


def meter_report(path: Path, args: argparse.Namespace, settings: Settings) -> None:
    """The METER report (real editorial reuse), or why it was skipped: it is optional."""
    clusters: dict[str, ClusterSystem] = {}
    if not args.no_system:
        clusters["system"] = streamer_clusters(settings)
    clusters["naive"] = naive_clusters
    print()
    try:
        print(run_meter(path, clusters))
    except CorpusMissingError as exc:
        print(f"METER: skipped: {exc}")


def main(argv: Sequence[str] | None = None) -> int:
    ap = build_parser()
    args = ap.parse_args(argv)

    if args.labels:
        if not args.decisions:
            ap.error("--labels needs --decisions")
        labels = Labels.from_json(json.loads(args.labels.read_text(encoding="utf-8")))
        print(format_table({"decisions": score(read_decisions(args.decisions), labels)}))
        return 0

    started = time.perf_counter()
    try:
        settings = load_settings()
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    systems: dict[str, System] = {} if args.no_system else {"system": streamer_system(settings)}
    systems["naive"] = naive_decisions
    corpus = args.corpus or settings.evaluation.data_dir / REUTERS_FILE
    if not args.meter_only:
        try:
            reuters_report(args, corpus, systems, started)
        except CorpusMissingError as exc:
            hint = "give --corpus PATH, or set evaluation.data_dir (STREAMER_EVALUATION__DATA_DIR)"
            print(f"error: {exc}; {hint}", file=sys.stderr)
            return 2
    if not args.no_meter:
        meter_report(args.meter or settings.evaluation.data_dir / METER_FILE, args, settings)
    print(f"total time {time.perf_counter() - started:.1f}s")
    return 0
