"""The entry protocol: immutable entries, Derived worked out once and carried where it holds."""

from __future__ import annotations

import dataclasses
import pickle

import numpy as np
import pytest

from streamer.config import DedupSettings
from streamer.dedup.bands import slot_positions
from streamer.dedup.entry import IndexEntry, derive
from streamer.dedup.index import DedupIndex
from tests.dedup.articles import SETTINGS, make


def test_entries_are_immutable() -> None:
    entry = make("a")
    with pytest.raises(dataclasses.FrozenInstanceError):
        entry.cluster_id = "b"  # type: ignore[misc]


def test_derived_is_carried_by_cluster_placement_and_dropped_by_replace() -> None:
    entry = make("a").with_derived(SETTINGS)
    assert entry.derived is not None
    placed = entry.in_cluster("c")
    assert placed.cluster_id == "c" and placed.derived is entry.derived
    assert entry.in_cluster("a") is entry  # already there: nothing to copy
    # A changed content hash would leave a stale digest behind: replace drops Derived.
    assert dataclasses.replace(entry, content_hash="other").derived is None
    assert entry.with_derived(SETTINGS) is entry
    other_bands = entry.with_derived(DedupSettings(lsh_bands=32))
    assert other_bands.derived is not None and other_bands.derived.bands == 32


def test_derive_is_a_pure_function_of_the_content() -> None:
    a, b = derive(make("a"), SETTINGS), derive(make("b", ts=99.0), SETTINGS)
    assert a.digest == b.digest and a.bands == SETTINGS.lsh_bands
    for name in ("slots", "checks", "sketch"):
        assert np.array_equal(getattr(a, name), getattr(b, name))
    assert a.sketch.dtype == np.uint16 and np.all(np.diff(a.sketch.astype(np.int64)) >= 0)


def test_larger_tables_follow_from_the_least_slots_and_checks() -> None:
    """What a relayout and a grown index rely on: no band key is needed past ``derive``."""
    from streamer.dedup.bands import SLOT_BITS, band_keys, widened

    entry = make("a")
    keys = band_keys(entry.signature, SETTINGS.lsh_bands, SETTINGS.num_perm // SETTINGS.lsh_bands)
    least, checks = slot_positions(keys, SLOT_BITS)
    for bits in (SLOT_BITS + 1, SLOT_BITS + 5):
        flat, _ = slot_positions(keys, bits)
        base = np.arange(keys.size, dtype=np.int64) << bits
        low = least & ((1 << SLOT_BITS) - 1)
        assert np.array_equal(widened(low, checks, bits, base), flat)


def test_pickled_entries_keep_their_fields_and_derived() -> None:
    entry = make("a", cluster_id="c").with_derived(SETTINGS)
    back = pickle.loads(pickle.dumps(entry, protocol=pickle.HIGHEST_PROTOCOL))
    for field in dataclasses.fields(IndexEntry):
        mine, theirs = getattr(back, field.name), getattr(entry, field.name)
        if isinstance(mine, np.ndarray):
            assert mine.dtype == theirs.dtype and np.array_equal(mine, theirs)
        elif field.name != "derived":
            assert mine == theirs
    assert back.derived is not None and entry.derived is not None
    assert (back.derived.digest, back.derived.bands) == (entry.derived.digest, entry.derived.bands)
    for name in ("slots", "checks", "sketch"):
        assert np.array_equal(getattr(back.derived, name), getattr(entry.derived, name))
    bare = pickle.loads(pickle.dumps(make("b")))
    assert bare.derived is None


def test_pickled_entries_decide_as_the_originals() -> None:
    entries = [make("a"), make("b", ts=60.0, content_hash="other")]
    index = DedupIndex(SETTINGS)
    index.add(entries[0].with_derived(SETTINGS))
    again: IndexEntry = pickle.loads(pickle.dumps(entries[1].with_derived(SETTINGS)))
    assert index.decide(again) == index.decide(entries[1])


def test_an_entry_without_derived_is_derived_once_for_decision_and_insertion(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """As from news.prepared: the index works ``Derived`` out once, even for the placed copy."""
    import streamer.dedup.index as index_module

    calls: list[str] = []

    def counting(entry: IndexEntry, settings: DedupSettings) -> object:
        calls.append(entry.id)
        return derive(entry, settings)

    monkeypatch.setattr(index_module, "derive", counting)
    index = DedupIndex(SETTINGS)
    index.add(make("a").with_derived(SETTINGS))
    cold = make("b", ts=60.0, content_hash="other")
    decision = index.decide(cold)
    assert decision.duplicate_of == "a"
    index.add(cold.in_cluster(decision.cluster_id))
    assert calls == ["b"]
    index.add(dataclasses.replace(cold, id="c", content_hash="third"))  # new content: again
    assert calls == ["b", "c"]
