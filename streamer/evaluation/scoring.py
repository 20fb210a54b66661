"""Scoring a system's decisions against a stream's ground truth, and the table of scores.

A decision is scored as a link, not as a cluster: a record is right when it is
marked a duplicate of a record of its own true cluster (any one of them), or
when it is left clean and is the first of its cluster. That is what a reader of
``news.clean`` sees: one story once, whichever member is kept. Hard-negative
pairs are counted apart, since a merge of two templated items is the error a
reader notices most: a pair is a false positive when its later member is
linked into the earlier one's cluster.
"""

from __future__ import annotations

import time
from collections import defaultdict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from streamer.evaluation.systems import System

GOAL_F1 = 0.97
GOAL_HARD_NEGATIVE_FP = 0.01


@dataclass
class Labels:
    """Ground truth of a stream: true cluster and kind of each record id, stream order."""

    cluster: dict[str, str] = field(default_factory=dict)
    kind: dict[str, str] = field(default_factory=dict)
    order: list[str] = field(default_factory=list)
    hard_negative_pairs: list[tuple[str, str]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "cluster": self.cluster,
            "kind": self.kind,
            "order": self.order,
            "hard_negative_pairs": [list(p) for p in self.hard_negative_pairs],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Labels:
        return cls(
            cluster=dict(data["cluster"]),
            kind=dict(data["kind"]),
            order=list(data["order"]),
            hard_negative_pairs=[(a, b) for a, b in data["hard_negative_pairs"]],
        )


@dataclass
class Scores:
    tp: int = 0
    fp: int = 0
    fn: int = 0
    tn: int = 0
    precision: float = 0.0
    recall: float = 0.0
    f1: float = 0.0
    hard_negative_pairs: int = 0
    hard_negative_fp: int = 0
    hard_negative_fp_rate: float = 0.0
    per_kind: dict[str, tuple[int, int]] = field(default_factory=dict)
    records: int = 0
    seconds: float = 0.0

    def per_kind_recall(self) -> dict[str, float]:
        return {k: (f / t if t else float("nan")) for k, (f, t) in self.per_kind.items()}

    def meets_goal(self) -> bool:
        return self.f1 >= GOAL_F1 and self.hard_negative_fp_rate <= GOAL_HARD_NEGATIVE_FP


def score(decisions: dict[str, str | None], labels: Labels) -> Scores:
    """Pairwise-decision metrics of ``decisions`` (record id -> duplicate_of or None).

    Records absent from ``decisions`` (dead letters) are excluded; "earlier" means earlier
    in the stream among scored records. A record is a true positive if it is marked a
    duplicate of a record of its own true cluster, a false positive if marked a duplicate
    of another cluster's record (or of an unknown id, or with no earlier member of its
    cluster), a false negative if not marked although an earlier member of its cluster
    exists, a true negative otherwise.
    """
    s = Scores()
    seen_clusters: set[str] = set()
    per_kind_found: dict[str, int] = defaultdict(int)
    per_kind_total: dict[str, int] = defaultdict(int)
    for rid in labels.order:
        if rid not in decisions:
            continue
        s.records += 1
        cluster = labels.cluster[rid]
        has_earlier = cluster in seen_clusters
        seen_clusters.add(cluster)
        target = decisions[rid]
        kind = labels.kind.get(rid, "original")
        if has_earlier:
            per_kind_total[kind] += 1
        if target is None:
            if has_earlier:
                s.fn += 1
            else:
                s.tn += 1
            continue
        if has_earlier and labels.cluster.get(target) == cluster:
            s.tp += 1
            per_kind_found[kind] += 1
        else:
            s.fp += 1
    s.precision = s.tp / (s.tp + s.fp) if s.tp + s.fp else 1.0
    s.recall = s.tp / (s.tp + s.fn) if s.tp + s.fn else 1.0
    pr = s.precision + s.recall
    s.f1 = 2 * s.precision * s.recall / pr if pr else 0.0
    for a, b in labels.hard_negative_pairs:
        if a not in decisions or b not in decisions:
            continue
        s.hard_negative_pairs += 1
        target = decisions[b]
        if target is not None and (target == a or labels.cluster.get(target) == labels.cluster[a]):
            s.hard_negative_fp += 1
    if s.hard_negative_pairs:
        s.hard_negative_fp_rate = s.hard_negative_fp / s.hard_negative_pairs
    s.per_kind = {k: (per_kind_found[k], per_kind_total[k]) for k in sorted(per_kind_total)}
    return s


def evaluate(system: System, records: list[dict], labels: Labels) -> Scores:
    """Run ``system`` on the stream and score its decisions."""
    start = time.perf_counter()
    decisions = system(records)
    elapsed = time.perf_counter() - start
    s = score(decisions, labels)
    s.seconds = elapsed
    return s


def _fmt(x: float) -> str:
    return "   n/a" if x != x else f"{x:6.3f}"


def format_table(results: dict[str, Scores]) -> str:
    """One column per system: the figures, recall by kind, and whether the goal is met."""
    names = list(results)
    lines = []
    w = 22
    header = f"{'':{w}}" + "".join(f"{n:>18}" for n in names)
    lines.append(header)
    lines.append("-" * len(header))

    def row(label: str, values: list[str]) -> None:
        lines.append(f"{label:{w}}" + "".join(f"{v:>18}" for v in values))

    row("precision", [_fmt(results[n].precision) for n in names])
    row("recall", [_fmt(results[n].recall) for n in names])
    row("F1", [_fmt(results[n].f1) for n in names])
    row(
        "hard-negative FP rate",
        [
            f"{results[n].hard_negative_fp_rate:.3f} ({results[n].hard_negative_fp}/"
            f"{results[n].hard_negative_pairs})"
            for n in names
        ],
    )
    row("TP / FP / FN", [f"{r.tp}/{r.fp}/{r.fn}" for r in results.values()])
    row("records scored", [str(r.records) for r in results.values()])
    row("seconds", [f"{r.seconds:.1f}" for r in results.values()])
    kinds = sorted({k for r in results.values() for k in r.per_kind})
    lines.append("recall by kind:")
    for k in kinds:
        cells = []
        for n in names:
            f_, t_ = results[n].per_kind.get(k, (0, 0))
            cells.append(f"{f_ / t_:.3f} ({f_}/{t_})" if t_ else "n/a")
        row(f"  {k}", cells)
    for n in names:
        r = results[n]
        verdict = "MET" if r.meets_goal() else "NOT met"
        lines.append(
            f"goal (F1 >= {GOAL_F1}, hard-negative FP <= {GOAL_HARD_NEGATIVE_FP:.0%}) "
            f"for {n}: {verdict}"
        )
    return "\n".join(lines)
