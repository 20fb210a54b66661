"""The labeled stream: deterministic for a seed, every record labeled, rewrites after originals."""

from __future__ import annotations

from streamer.evaluation.baseline import naive_decisions
from streamer.evaluation.rewrites import KINDS
from streamer.evaluation.scoring import evaluate, score
from streamer.evaluation.stream import build_stream
from tests.evaluation.samples import contract_ok


def test_build_stream_deterministic_and_labeled(corpus: list[dict]) -> None:
    stories = corpus[:3000]
    r1, l1 = build_stream(stories, 120, 1.5, 20, seed=42)
    r2, l2 = build_stream(stories, 120, 1.5, 20, seed=42)
    assert r1 == r2 and l1 == l2
    r3, _ = build_stream(stories, 120, 1.5, 20, seed=43)
    assert [r["id"] for r in r3] != [r["id"] for r in r1]
    ids = [r["id"] for r in r1]
    assert len(ids) == len(set(ids)) == len(l1.order)
    assert set(l1.cluster) == set(ids)
    position = {rid: i for i, rid in enumerate(ids)}
    for rid, kind in l1.kind.items():
        if kind in KINDS:
            assert position[l1.cluster[rid]] < position[rid], rid
    assert all(contract_ok(r) for r in r1)
    # the perfect system scores 1.0 and the never-duplicate system has recall 0
    first: dict[str, str] = {}
    perfect: dict[str, str | None] = {}
    for rid in ids:
        c = l1.cluster[rid]
        perfect[rid] = first.get(c)
        first.setdefault(c, rid)
    assert score(perfect, l1).f1 == 1.0
    assert score(dict.fromkeys(ids), l1).recall == 0.0


def test_evaluate_naive_on_small_stream(corpus: list[dict]) -> None:
    records, labels = build_stream(corpus[:2000], 80, 1.0, 10, seed=1)
    s = evaluate(naive_decisions, records, labels)
    assert s.per_kind.get("resend", (0, 0))[0] == s.per_kind.get("resend", (0, 0))[1]
    assert s.precision > 0.9
