"""The evaluation harness: scorer, rewrite generator, hard negatives, stream, baseline."""

from __future__ import annotations

import random
import re
from functools import lru_cache

import pytest

from streamer import evaluation as ev

CORPUS_REASON = f"Reuters-21578 corpus not present at {ev.DEFAULT_CORPUS}"


@lru_cache(maxsize=1)
def _corpus() -> list[dict]:
    return ev.load_reuters()


@pytest.fixture(scope="module")
def corpus() -> list[dict]:
    if not ev.DEFAULT_CORPUS.is_file():
        pytest.skip(CORPUS_REASON)
    return _corpus()


# A story of our own writing in the corpus' shape, so generator tests need no corpus.
STORY = {
    "newid": 90001,
    "date": "1987-03-02T14:05:00Z",
    "title": "ACME WIDGET CORP <ACW> TO BUY BOLT MAKER FOR 120 MLN DLRS",
    "dateline": "CHICAGO, March 2 -",
    "body": (
        "Acme Widget Corp said it agreed to buy\nprivately held Bolt Industries Inc for "
        "about 120 mln dlrs in\ncash and stock.\n    The company said the purchase would "
        "add about 15 pct\nto its annual sales and that it expected the deal to close in "
        "the\nsecond quarter.\n    Bolt Industries, based in Gary, Ind., makes fasteners "
        "for\nthe car and appliance industries and had sales of 210 mln dlrs\nlast year. "
        'Acme said it plans to keep Bolt\'s 1,800 workers.\n    "This is a good fit," '
        "chairman John Parr said. The company also\nsaid it would fund the cash part "
        "from its credit lines.\n Reuter\n"
    ),
    "places": ["usa"],
    "topics": ["acq"],
}


def _labels(order: list[str], cluster: dict[str, str], kind: dict[str, str] | None = None):
    return ev.Labels(cluster=cluster, kind=kind or dict.fromkeys(order, "original"), order=order)


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
    s = ev.score(decisions, _labels(order, cluster))
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
    s = ev.score(decisions, _labels(order, cluster, kind))
    assert (s.tp, s.fp, s.fn) == (1, 1, 0)
    assert s.per_kind == {"restyle": (1, 1), "truncate": (0, 1)}
    assert s.per_kind_recall()["truncate"] == 0.0


def test_hard_negative_fp_rate() -> None:
    order = ["p", "q", "q-rw1-resend", "r", "s"]
    cluster = {"p": "p", "q": "q", "q-rw1-resend": "q", "r": "r", "s": "s"}
    labels = _labels(order, cluster)
    labels.hard_negative_pairs = [("p", "r"), ("q", "s")]
    decisions = {"p": None, "q": None, "q-rw1-resend": "q", "r": "p", "s": "q-rw1-resend"}
    s = ev.score(decisions, labels)
    assert s.hard_negative_pairs == 2
    assert s.hard_negative_fp == 2
    assert s.hard_negative_fp_rate == 1.0
    s = ev.score({**decisions, "r": None, "s": None}, labels)
    assert s.hard_negative_fp_rate == 0.0


def _contract_ok(rec: dict) -> bool:
    if not isinstance(rec.get("id"), str) or not rec["id"]:
        return False
    if "title" in rec and not isinstance(rec["title"], str):
        return False
    return any(isinstance(rec.get(k), str) and rec[k].strip() for k in ("body", "html"))


def _text(rec: dict) -> str:
    return rec.get("body") or re.sub(r"<[^>]*>", " ", rec.get("html", ""))


@pytest.mark.parametrize("kind", ev.KINDS)
def test_rewrite_kinds_satisfy_contract_and_differ(kind: str) -> None:
    original = ev.original_record(STORY)
    rec = ev.make_rewrite(STORY, kind, random.Random(3), index=2)
    assert _contract_ok(rec)
    assert rec["id"] == f"r90001-rw2-{kind}"
    assert rec["id"] != original["id"]
    assert rec["source"] != ev.ORIGINAL_SOURCE
    published = ev._parse_time(rec["published_at"])
    delay = published - ev._parse_time(original["published_at"])
    assert 0 < delay.total_seconds() <= 6 * 3600 + 60
    if kind == "resend":
        assert rec["body"] == original["body"] and rec["title"] == original["title"]
    else:
        assert _text(rec) != original["body"]
        # still the same story: a distinctive phrase of it survives
        assert "Bolt Industries" in _text(rec) or "Bolt" in _text(rec)


def test_rewrite_kind_specifics() -> None:
    rng = random.Random(11)
    page = ev.make_rewrite(STORY, "html_page", rng)
    assert "<article>" in page["html"] and "Share on Facebook" in page["html"]
    assert "Related articles" in page["html"] and "&copy;" in page["html"]
    assert "<ACW>" not in page["html"], "ticker tags are escaped in HTML"
    restyled = ev.make_rewrite(STORY, "restyle", rng)
    assert "mln" not in restyled["body"] and "pct" not in restyled["body"]
    assert "Reuter" not in restyled["body"].split()[-3:]
    truncated = ev.make_rewrite(STORY, "truncate", rng)
    assert len(truncated["body"]) < len(STORY["body"]) * 0.9
    gallery = ev.make_rewrite(STORY, "boilerplate_insert", rng)
    assert "Showing" in gallery["body"] or "Read more:" in gallery["body"]
    assert "utm_source=" in gallery["url"]
    with pytest.raises(ValueError):
        ev.make_rewrite(STORY, "nonsense", rng)


def test_naive_finds_resend_and_keeps_unrelated_apart() -> None:
    original = ev.original_record(STORY)
    other = ev.original_record(
        {
            **STORY,
            "newid": 90002,
            "title": "STORM CLOSES HARBOUR",
            "body": "Gale force winds closed the harbour on Tuesday and ferries were "
            "cancelled for the rest of the day, the port authority said. Crews will "
            "inspect the breakwater once the wind drops.\n Reuter\n",
        }
    )
    resend = ev.make_rewrite(STORY, "resend", random.Random(1))
    decisions = ev.naive_decisions([original, other, resend])
    assert decisions == {original["id"]: None, other["id"]: None, resend["id"]: original["id"]}


def test_load_reuters_missing_file_raises_clear_error(tmp_path) -> None:
    with pytest.raises(ev.CorpusMissingError, match="not found"):
        ev.load_reuters(tmp_path / "absent.jsonl.gz")


def test_hard_negatives_differ_in_numbers_or_companies(corpus: list[dict]) -> None:
    pairs = ev.find_hard_negatives(corpus, 60, random.Random(5))
    assert len(pairs) >= 50
    for a, b in pairs:
        assert a["newid"] != b["newid"]
        assert (a["title"], a["body"]) != (b["title"], b["body"])
        na, nb = ev._numbers(a["body"]), ev._numbers(b["body"])
        ea, eb = ev._entities(a), ev._entities(b)
        xa, xb = ev._title_tickers(a), ev._title_tickers(b)
        differ = (na - nb and nb - na) or (ea - eb and eb - ea) or (xa and xb and xa != xb)
        assert differ, (a["title"], b["title"])
        sim = ev._jaccard(ev._shingles(a["body"], 3), ev._shingles(b["body"], 3))
        assert sim >= 0.5


def test_build_stream_deterministic_and_labeled(corpus: list[dict]) -> None:
    stories = corpus[:3000]
    r1, l1 = ev.build_stream(stories, 120, 1.5, 20, seed=42)
    r2, l2 = ev.build_stream(stories, 120, 1.5, 20, seed=42)
    assert r1 == r2 and l1 == l2
    r3, _ = ev.build_stream(stories, 120, 1.5, 20, seed=43)
    assert [r["id"] for r in r3] != [r["id"] for r in r1]
    ids = [r["id"] for r in r1]
    assert len(ids) == len(set(ids)) == len(l1.order)
    assert set(l1.cluster) == set(ids)
    position = {rid: i for i, rid in enumerate(ids)}
    for rid, kind in l1.kind.items():
        if kind in ev.KINDS:
            assert position[l1.cluster[rid]] < position[rid], rid
    assert all(_contract_ok(r) for r in r1)
    # the perfect system scores 1.0 and the never-duplicate system has recall 0
    first: dict[str, str] = {}
    perfect: dict[str, str | None] = {}
    for rid in ids:
        c = l1.cluster[rid]
        perfect[rid] = first.get(c)
        first.setdefault(c, rid)
    assert ev.score(perfect, l1).f1 == 1.0
    assert ev.score(dict.fromkeys(ids), l1).recall == 0.0


def test_evaluate_naive_on_small_stream(corpus: list[dict]) -> None:
    records, labels = ev.build_stream(corpus[:2000], 80, 1.0, 10, seed=1)
    s = ev.evaluate(ev.naive_decisions, records, labels)
    assert s.per_kind.get("resend", (0, 0))[0] == s.per_kind.get("resend", (0, 0))[1]
    assert s.precision > 0.9
