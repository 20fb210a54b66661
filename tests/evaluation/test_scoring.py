"""The scorer: link decisions against true clusters, and the hard-negative rate."""

from __future__ import annotations

import pytest

from streamer.evaluation.scoring import Labels, score


def _labels(order: list[str], cluster: dict[str, str], kind: dict[str, str] | None = None):
    return Labels(cluster=cluster, kind=kind or dict.fromkeys(order, "original"), order=order)


def test_score_known_counts() -> None:
    # clusters: A = a0..a4, B = b0, C = c0, c1
    order = ["a0", "a1", "a2", "a3", "b0", "a4", "c0", "c1"]
    cluster = {i: i[0] for i in order}
    decisions = {
        "a0": None,  # TN
        "a1": "a0",  # TP
        "a2": "a1",  # TP (same true cluster)
        "a3": "a0",  # TP
        "b0": "a0",  # FP (no earlier B)
        "a4": None,  # FN
        "c0": None,  # TN
        # "c1" was dead-lettered: excluded, so it is not a false negative
    }
    s = score(decisions, _labels(order, cluster))
    assert (s.tp, s.fp, s.fn, s.tn) == (3, 1, 1, 2)
    assert s.precision == pytest.approx(0.75)
    assert s.recall == pytest.approx(0.75)
    assert s.f1 == pytest.approx(0.75)
    assert s.records == 7


def test_score_wrong_cluster_is_false_positive_and_per_kind() -> None:
    order = ["x", "y", "x-rw1-restyle", "y-rw1-truncate"]
    cluster = {"x": "x", "y": "y", "x-rw1-restyle": "x", "y-rw1-truncate": "y"}
    kind = {"x": "original", "y": "original", "x-rw1-restyle": "restyle"}
    kind["y-rw1-truncate"] = "truncate"
    decisions = {"x": None, "y": None, "x-rw1-restyle": "x", "y-rw1-truncate": "x"}
    s = score(decisions, _labels(order, cluster, kind))
    assert (s.tp, s.fp, s.fn) == (1, 1, 0)
    assert s.per_kind == {"restyle": (1, 1), "truncate": (0, 1)}
    assert s.per_kind_recall()["truncate"] == 0.0


def test_hard_negative_fp_rate() -> None:
    order = ["p", "q", "q-rw1-resend", "r", "s"]
    cluster = {"p": "p", "q": "q", "q-rw1-resend": "q", "r": "r", "s": "s"}
    labels = _labels(order, cluster)
    labels.hard_negative_pairs = [("p", "r"), ("q", "s")]
    decisions = {"p": None, "q": None, "q-rw1-resend": "q", "r": "p", "s": "q-rw1-resend"}
    s = score(decisions, labels)
    assert s.hard_negative_pairs == 2
    assert s.hard_negative_fp == 2
    assert s.hard_negative_fp_rate == 1.0
    s = score({**decisions, "r": None, "s": None}, labels)
    assert s.hard_negative_fp_rate == 0.0
