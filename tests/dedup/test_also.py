"""``match.also``: the other clusters a duplicate matched, named without changing a decision."""

from __future__ import annotations

import dataclasses

import pytest

from streamer.dedup.index import Decision, DedupIndex
from tests.dedup.articles import SETTINGS, STORY, make

LEAD = STORY.split(". Acme shares")[0]
BUSY = STORY.replace("in active trading", "in busy trading")


def _index() -> DedupIndex:
    """Four indexed articles, each its own cluster but the last: a lead cut of the story,
    a light rewrite of it, the same template at another price, and a copy of the rewrite
    already in the rewrite's cluster."""
    index = DedupIndex(SETTINGS)
    index.add(make("lead", LEAD))
    index.add(make("busy", BUSY, ts=30))
    index.add(make("price", STORY.replace("32 dlrs a share", "34 dlrs a share"), ts=40))
    index.add(make("busy2", BUSY + " Trading was heavy.", ts=50, cluster_id="busy"))
    return index


def _without_also(decision: Decision) -> Decision:
    assert decision.match is not None
    return dataclasses.replace(decision, match=decision.match.model_copy(update={"also": []}))


def test_a_duplicate_names_the_other_cluster_it_matched() -> None:
    index = _index()
    decision = index.decide(make("q", ts=60, content_hash="other"))
    assert decision.duplicate_of == "busy" and decision.cluster_id == "busy"
    match = decision.match
    assert match is not None and match.kind == "near"
    # The lead cut passed too, in a cluster of its own; the other price was refused by the
    # numbers guard and the copy sits in the chosen cluster: neither is named.
    assert index.check_guards(make("q"), index.get("price"))[1] == "numbers"  # type: ignore[arg-type]
    assert match.also == ["lead"]


def test_also_changes_no_decision(monkeypatch: pytest.MonkeyPatch) -> None:
    """The same decision, field by field, with ``also`` switched off (at most 0 named)."""
    item = make("q", ts=60, content_hash="other")
    named = _index().decide(item)
    monkeypatch.setattr("streamer.dedup.index.MAX_ALSO", 0)
    plain = _index().decide(item)
    assert plain.match is not None and plain.match.also == []
    assert _without_also(named) == plain


def test_a_clean_item_and_an_exact_copy_name_nothing() -> None:
    index = _index()
    clean = index.decide(make("c", "Heavy rain flooded the capital overnight. " * 8, "FLOODS"))
    assert clean.duplicate_of is None and clean.match is None
    exact = index.decide(make("copy", BUSY, ts=70))
    assert exact.match is not None and exact.match.kind == "exact" and exact.match.also == []


def test_also_is_capped_and_in_candidate_order(monkeypatch: pytest.MonkeyPatch) -> None:
    index = DedupIndex(SETTINGS)
    for n in range(6):  # six copies of the story, six clusters (as if refused each other)
        index.add(make(f"c{n}", STORY + f" Copy {'x' * (n + 1)}.", ts=float(n)))
    decision = index.decide(make("q", ts=60, content_hash="other"))
    assert decision.match is not None
    also = decision.match.also
    assert len(also) == 4 and decision.cluster_id not in also and len(set(also)) == 4
    ranked = [index.store.id_cluster(row)[1] for row, _ in index.candidates(make("q", ts=60))]
    assert also == [c for c in ranked if c != decision.cluster_id][:4]
