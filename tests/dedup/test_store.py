"""The compact layout under the index: growth, eviction out of order, reuse of rows, chain
walks, rebuilds, and the dict index (the simplest storage) as the reference."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import numpy as np
import pytest

from streamer.config import DedupSettings
from streamer.dedup.entry import IndexEntry
from streamer.dedup.index import DedupIndex
from streamer.dedup.store import INITIAL_ROWS
from tests.dedup.articles import DAY, FP, SETTINGS, chained_rows, index_with, make
from tests.dedup.dict_index import DictIndex


def random_entry(
    rng: np.random.Generator, i: int, ts: float, base: np.ndarray | None = None
) -> IndexEntry:
    """An article of random shingles, or a light edit of ``base`` (a near duplicate)."""
    if base is None:
        shingles = rng.integers(0, 2**32, size=int(rng.integers(20, 120)), dtype=np.uint64)
    else:
        keep = base[rng.random(base.size) < 0.9]
        shingles = np.concatenate([keep, rng.integers(0, 2**32, size=4, dtype=np.uint64)])
    shingles = np.unique(shingles.astype(np.uint32))
    return IndexEntry(
        id=f"a{i}",
        cluster_id=f"a{i}",
        ts=ts,
        content_hash=f"dup{i % 50}" if i % 7 == 0 else f"h{i}",
        shingles=shingles,
        signature=FP.signature(shingles),
        numbers=frozenset({str(int(rng.integers(0, 3)))}),
        entities=frozenset({f"name{int(rng.integers(0, 30))}", "~the"}),
        n_tokens=int(shingles.size) + 2,
    )


def feed(n: int, seed: int, jitter: float) -> list[IndexEntry]:
    """Stories with near copies, arriving out of time order by up to ``jitter`` seconds."""
    rng = np.random.default_rng(seed)
    out: list[IndexEntry] = []
    for i in range(n):
        base = out[int(rng.integers(0, len(out)))].shingles if out and rng.random() < 0.3 else None
        out.append(random_entry(rng, i, i * 600.0 + float(rng.uniform(-jitter, jitter)), base))
    return out


def decisions(index: DedupIndex | DictIndex, entries: list[IndexEntry]) -> list[tuple[object, ...]]:
    out: list[tuple[object, ...]] = []
    for entry in entries:
        d = index.decide(entry)
        kind = d.match.kind if d.match else None
        out.append((d.duplicate_of, d.cluster_id, kind, d.match.guards if d.match else None))
        out.append(("also", *(d.match.also if d.match else ())))
        if d.indexed:
            out.append(tuple(index.add(entry.in_cluster(d.cluster_id))))
    return out


@pytest.mark.parametrize("link_at_once", [True, False])
def test_decisions_equal_the_dict_index_through_growth_eviction_and_reuse(
    link_at_once: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The dict-based index this layout replaced, as the reference, on a stream that makes
    the ring grow past its initial size, evicts out of arrival order and reuses rows."""
    if not link_at_once:
        monkeypatch.setattr("streamer.dedup.bands.LINK_AT_ONCE", 0)
    settings = DedupSettings(window=timedelta(days=10))
    entries = feed(3 * INITIAL_ROWS, seed=5, jitter=4 * 3600.0)
    index = DedupIndex(settings)
    new = decisions(index, [replace(e) for e in entries])
    old = decisions(DictIndex(settings), list(entries))
    assert new == old
    assert sum(1 for d in new if len(d) == 4 and d[2] == "near") > 50
    assert sum(1 for d in new if len(d) == 4 and d[2] == "exact") > 10
    assert index.store.cap > INITIAL_ROWS  # grew: ten days of articles every ten minutes


@pytest.mark.parametrize("link_at_once", [True, False])
def test_growth_past_the_initial_capacity_keeps_every_row(
    link_at_once: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    if not link_at_once:  # the band-by-band relinking that large windows use
        monkeypatch.setattr("streamer.dedup.bands.LINK_AT_ONCE", 0)
    rng = np.random.default_rng(11)
    index = DedupIndex(SETTINGS)
    entries = [random_entry(rng, i, float(i)) for i in range(2 * INITIAL_ROWS + 5)]
    for entry in entries:
        index.add(entry)
    assert len(index) == len(entries) and index.store.cap >= 4 * INITIAL_ROWS
    for entry in [e for i, e in enumerate(entries) if i % 7][::97]:  # own content hashes
        got = index.get(entry.id)
        assert got is not None
        assert (got.ts, got.entities, got.numbers, got.n_tokens) == (
            entry.ts,
            entry.entities,
            entry.numbers,
            entry.n_tokens,
        )
        assert np.array_equal(got.shingles, np.sort(entry.shingles.astype(np.uint16)))
        again = replace_id(entry, "copy")
        d = index.decide(again)
        assert d.duplicate_of == entry.id and d.match is not None and d.match.kind == "exact"
    assert chained_rows(index) == set(index.store.live_rows().tolist())


def replace_id(entry: IndexEntry, suffix: str) -> IndexEntry:
    return replace(entry, id=entry.id + suffix, cluster_id=entry.id + suffix)


def test_rows_are_reused_after_eviction() -> None:
    """A window of about 100 articles fed 40 windows' worth stays in the first ring."""
    settings = DedupSettings(window=timedelta(seconds=100))
    rng = np.random.default_rng(2)
    index = DedupIndex(settings)
    for i in range(40 * 100):
        index.add(random_entry(rng, i, float(i)))
        assert len(index) <= 101
    assert index.store.cap == INITIAL_ROWS
    assert index.store.head > 3 * INITIAL_ROWS  # the sequence went round the ring several times
    assert len(index.store.vocabulary) <= 31 + 1


def test_a_chain_walk_skips_removed_rows_and_goes_on() -> None:
    """Removing a row in the middle of a chain leaves it linked; walks skip it."""
    index = DedupIndex(SETTINGS)
    first, middle, last = (make(name, ts=float(i)) for i, name in enumerate("xyz"))
    for entry in (first, middle, last):
        index.add(entry)  # three copies of one story: every band chain is z -> y -> x
    assert index.remove("y")
    assert index.store.tail == 1  # x still holds the ring's tail: y stays linked
    probe = make("p", ts=10.0, content_hash="other")
    found = [index.store.view(row).id for row, _ in index.candidates(probe)]
    assert found == ["x", "z"]  # oldest first among equals, y skipped, x reached through it
    assert index.decide(probe).duplicate_of == "x"


def test_everything_evicted_frees_everything() -> None:
    index = index_with(make("a", ts=0.0), make("b", "Other story " * 20, "OTHER", ts=60.0))
    assert sorted(index.evict_before(DAY)) == ["a", "b"]
    assert len(index) == 0 and len(index.store.vocabulary) == 0 and not chained_rows(index)
    assert index.store.head == index.store.tail
    assert index.decide(make("c", ts=DAY)).duplicate_of is None


def test_a_rebuilt_index_decides_like_the_live_one() -> None:
    """Replaying the live index's survivors in order (what the journal does) gives an index
    with the same decisions, although the live one grew, evicted and renumbered rows."""
    settings = DedupSettings(window=timedelta(days=8))
    entries = feed(3 * INITIAL_ROWS, seed=9, jitter=3600.0)
    live = DedupIndex(settings)
    survivors: dict[str, IndexEntry] = {}
    for entry in entries[: 2 * INITIAL_ROWS]:
        d = live.decide(entry)
        if d.indexed:
            placed = entry.in_cluster(d.cluster_id)
            survivors[entry.id] = placed
            for gone in live.add(placed):
                survivors.pop(gone)
    rebuilt = DedupIndex(settings)
    for entry in survivors.values():
        rebuilt.add(replace(entry))
    assert [e.id for e in rebuilt.entries()] == [e.id for e in live.entries()]
    probes = entries[2 * INITIAL_ROWS :]
    assert decisions(live, [replace(e) for e in probes]) == decisions(
        rebuilt, [replace(e) for e in probes]
    )


def test_long_ids_and_clusters_are_kept_exactly() -> None:
    long_id, long_cluster = "x" * 70_000, "ü" * 40_000
    entry = make(long_id, cluster_id=long_cluster)
    index = DedupIndex(SETTINGS)
    index.add(entry)
    got = index.get(long_id)
    assert got is not None and got.id == long_id and got.cluster_id == long_cluster
    decision = index.decide(make("copy", ts=1.0))
    assert decision.duplicate_of == long_id and decision.cluster_id == long_cluster


@pytest.mark.parametrize("seed", [11, 12, 13])
def test_random_operations_match_the_dict_index(seed: int) -> None:
    """Differential test with everything a journal replay and the service do to an index:
    new articles (some near copies, out of time order), re-sent ids, explicit removals,
    re-adds of an id already held, and explicit evictions, against the dict index."""
    rng = np.random.default_rng(seed)
    settings = DedupSettings(window=timedelta(days=3))
    new_index, old_index = DedupIndex(settings), DictIndex(settings)
    pool = feed(2 * INITIAL_ROWS, seed=seed, jitter=6 * 3600.0)
    held: list[IndexEntry] = []
    kinds: set[str] = set()

    def both(entry: IndexEntry) -> None:
        a, b = replace(entry), replace(entry)
        da, db = new_index.decide(a), old_index.decide(b)
        assert (da.duplicate_of, da.cluster_id, da.indexed) == (
            db.duplicate_of,
            db.cluster_id,
            db.indexed,
        )
        assert (da.match and da.match.kind, da.match and da.match.guards) == (
            db.match and db.match.kind,
            db.match and db.match.guards,
        )
        if da.match:
            kinds.add(da.match.kind)
        if da.indexed:
            placed_a, placed_b = a.in_cluster(da.cluster_id), b.in_cluster(da.cluster_id)
            assert new_index.add(placed_a) == old_index.add(placed_b)
            held.append(entry)

    for entry in pool:
        both(entry)
        roll = rng.random()
        if roll < 0.05 and held:  # the same id sent again
            both(held[int(rng.integers(0, len(held)))])
        elif roll < 0.08 and held:  # an explicit removal
            gone = held[int(rng.integers(0, len(held)))].id
            assert new_index.remove(gone) == old_index.remove(gone)
        elif roll < 0.10 and held:  # an add over an id the index holds (a replay)
            again = replace(held[int(rng.integers(0, len(held)))])
            assert new_index.add(replace(again)) == old_index.add(replace(again))
        elif roll < 0.11:
            cutoff = new_index.watermark - float(rng.uniform(0, 2 * 86400))
            assert new_index.evict_before(cutoff) == old_index.evict_before(cutoff)
        assert len(new_index) == len(old_index)
    assert sorted(e.id for e in new_index.entries()) == sorted(e.id for e in old_index.entries())
    assert {"same_id", "exact", "near"} <= kinds
