"""The journal: entry encoding round trip, compaction semantics, and index rebuild."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from streamer.config import DedupSettings, Settings
from streamer.dedup.entry import IndexEntry
from streamer.dedup.index import DedupIndex
from streamer.dedup.journal import (
    CHECKPOINT_PREFIX,
    JournalState,
    checkpoint_key,
    decode_entry,
    encode_checkpoint,
    encode_entry,
    rebuild_index,
    replay,
)
from streamer.dedup.passages import lead_size
from streamer.models import Coordinates, JournalEntry, Outcome
from streamer.pipeline import Decider, Preparer, parse_raw
from streamer.records import InputRecord, Prepared, RecordError
from streamer.text.fingerprint import Fingerprinter

FEED = Path(__file__).resolve().parents[2] / "streamer" / "samples" / "feed.jsonl"
NOW = datetime(2024, 5, 20, tzinfo=UTC)


def fingerprinter(s: Settings | None = None) -> Fingerprinter:
    d = (s or Settings()).dedup
    return Fingerprinter(d.num_perm, d.seed, d.shingle_size)


def feed_objects() -> list[dict[str, Any]]:
    """The feed's valid records (the broken lines are left out)."""
    out = []
    for line in FEED.read_bytes().splitlines():
        try:
            parse_raw(line, 1 << 20)
        except RecordError:
            continue
        out.append(json.loads(line))
    return out


def prepare_all(objs: list[dict[str, Any]], s: Settings) -> list[Prepared]:
    preparer = Preparer(s, clock=lambda: NOW)
    return [
        preparer.prepare(
            InputRecord(value=json.dumps(o).encode(), topic="news.raw", partition=0, offset=i)
        )
        for i, o in enumerate(objs)
    ]


def entry_from_tokens(fp: Fingerprinter, id_: str, text: str, ts: float) -> IndexEntry:
    shingles = fp.shingles(text.split())
    return IndexEntry(
        id=id_,
        cluster_id=id_,
        ts=ts,
        content_hash=f"hash-{id_}",
        shingles=shingles,
        signature=fp.signature(shingles),
        numbers=frozenset({"12", "3.5"}),
        entities=frozenset({"calderwood", "~net"}),
        n_tokens=len(text.split()),
    )


def assert_entries_equal(a: IndexEntry, b: IndexEntry) -> None:
    assert a.id == b.id
    assert a.cluster_id == b.cluster_id
    assert a.ts == b.ts
    assert a.content_hash == b.content_hash
    assert a.numbers == b.numbers
    assert a.entities == b.entities
    assert a.n_tokens == b.n_tokens
    assert b.shingles.dtype == np.uint32 and b.signature.dtype == np.uint32
    assert np.array_equal(a.shingles, b.shingles)
    assert np.array_equal(a.signature, b.signature)


# -- entry encoding -------------------------------------------------------------------------------


def test_round_trip_of_prepared_entries() -> None:
    s = Settings()
    fp = fingerprinter(s)
    state = JournalState()
    prepared = prepare_all(feed_objects()[:12], s)
    for n, p in enumerate(prepared):
        key, value = encode_entry(
            p.entry,
            Outcome.CLEAN,
            Coordinates(topic="news.raw", partition=0, offset=n),
            Coordinates(topic="news.clean", partition=1, offset=100 + n),
        )
        assert key == p.entry.id.encode()
        state.apply(key, value)
    assert list(state.entries) == [p.entry.id for p in prepared]
    for n, p in enumerate(prepared):
        journaled = state.entries[p.entry.id]
        assert journaled.input == Coordinates(topic="news.raw", partition=0, offset=n)
        assert journaled.output == Coordinates(topic="news.clean", partition=1, offset=100 + n)
        assert journaled.outcome is Outcome.CLEAN
        assert p.entry.shingles.size > 10
        assert_entries_equal(p.entry, decode_entry(journaled, fp))


def test_round_trip_edge_values() -> None:
    fp = fingerprinter()
    shingles = np.array([0, 1, 2**31, 2**32 - 1], dtype=np.uint32)
    entry = IndexEntry(
        id="ü-id/with:odd chars",
        cluster_id="other-cluster",
        ts=1715670000.123456,
        content_hash="0" * 32,
        shingles=shingles,
        signature=fp.signature(shingles),
        numbers=frozenset({"1.5", "20#2"}),
        entities=frozenset({"$oat", "^x", "~y", "name"}),
        n_tokens=7,
    )
    key, value = encode_entry(entry, Outcome.DUPLICATE, None, None)
    state = replay([(key, value)])
    (journaled,) = state.entries.values()
    assert journaled.outcome is Outcome.DUPLICATE
    assert journaled.input is None and journaled.output is None
    assert journaled.numbers == sorted(entry.numbers)
    assert_entries_equal(entry, decode_entry(journaled, fp))


def test_round_trip_empty_shingles() -> None:
    fp = fingerprinter()
    empty = np.empty(0, dtype=np.uint32)
    entry = IndexEntry("e", "e", 0.0, "h", empty, fp.signature(empty), frozenset(), frozenset(), 0)
    _, value = encode_entry(entry, Outcome.CLEAN, None, None)
    assert_entries_equal(entry, decode_entry(JournalEntry.model_validate_json(value), fp))


def test_a_long_articles_lead_rows_survive_the_journal() -> None:
    """A long article's first signature rows are its lead window's MinHash, which the
    shingle set cannot give back: the entry carries them, and a rebuild decides on the
    signature the writer decided on. An entry without them (written before) reads as
    the whole text's signature."""
    s = Settings()
    fp = fingerprinter(s)
    body = " ".join(f"word{i % 97} item{i}" for i in range(300))
    (p,) = prepare_all([{"id": "long", "title": "A long one", "body": body}], s)
    whole = fp.signature(p.entry.shingles)
    lead = lead_size(s.dedup, p.entry.n_tokens)
    assert lead == 32 and not np.array_equal(p.entry.signature[:lead], whole[:lead])
    assert np.array_equal(p.entry.signature[lead:], whole[lead:])
    _, value = encode_entry(p.entry, Outcome.CLEAN, None, None, lead_rows=lead)
    assert_entries_equal(p.entry, decode_entry(JournalEntry.model_validate_json(value), fp))
    _, before = encode_entry(p.entry, Outcome.CLEAN, None, None)
    old = decode_entry(JournalEntry.model_validate_json(before), fp)
    assert np.array_equal(old.signature, whole)


def test_signature_depends_on_fingerprinter_settings() -> None:
    """The signature is recomputed, so a journal is only valid for the same num_perm/seed."""
    s = Settings()
    (p,) = prepare_all(feed_objects()[:1], s)
    _, value = encode_entry(p.entry, Outcome.CLEAN, None, None)
    other = decode_entry(JournalEntry.model_validate_json(value), Fingerprinter(128, 2, 3))
    assert np.array_equal(other.shingles, p.entry.shingles)
    assert not np.array_equal(other.signature, p.entry.signature)


# -- compaction semantics -------------------------------------------------------------------------


def test_tombstones_remove_and_rewrites_replace() -> None:
    fp = fingerprinter()
    a = entry_from_tokens(fp, "a", "one two three four five", 1.0)
    b = entry_from_tokens(fp, "b", "six seven eight nine ten", 2.0)
    a2 = entry_from_tokens(fp, "a", "one two three four five six", 3.0)
    records = [
        encode_entry(a, Outcome.CLEAN, None, None),
        encode_entry(b, Outcome.CLEAN, None, None),
        (b"a", None),  # tombstone
        (b"missing", None),  # tombstone for an id never seen: harmless
        encode_entry(a2, Outcome.CLEAN, None, None),
        (b"b", None),
        (None, b"ignored"),  # keyless records are not entries
    ]
    state = replay(records)
    assert state.records_read == len(records)
    assert list(state.entries) == ["a"]
    assert state.entries["a"].ts == 3.0
    assert_entries_equal(a2, decode_entry(state.entries["a"], fp))


def test_checkpoints_are_folded_by_topic_and_partition() -> None:
    t0 = NOW
    records = [
        encode_checkpoint("news.raw", 0, 10, {"news.clean/0": 5}, {}, t0),
        encode_checkpoint("news.raw", 1, 3, {}, {}, t0),
        encode_checkpoint("news.raw", 0, 25, {"news.clean/0": 9}, {"news.raw/2": 7}, t0),
        encode_checkpoint("news.prepared", 0, 4, {}, {}, t0),
        (checkpoint_key("news.raw", 1), None),  # a checkpoint tombstone does not erase it
    ]
    state = replay(records)
    assert state.entries == {}
    assert set(state.checkpoints) == {("news.raw", 0), ("news.raw", 1), ("news.prepared", 0)}
    latest = state.checkpoints[("news.raw", 0)]
    assert latest.next_offset == 25
    assert latest.outputs == {"news.clean/0": 9}
    assert latest.upstream == {"news.raw/2": 7}
    assert state.checkpoints[("news.raw", 1)].next_offset == 3
    assert records[0][0] == CHECKPOINT_PREFIX + b"news.raw/0"


# -- rebuild --------------------------------------------------------------------------------------


def _journal_run(s: Settings, prepared: list[Prepared]) -> tuple[Decider, JournalState]:
    decider = Decider(s)
    state = JournalState()
    for p in prepared:
        result = decider.decide(p)
        if result.entry is not None:
            state.apply(*encode_entry(result.entry, result.outcome, None, None))
        for gone in result.evicted:
            state.apply(gone.encode(), None)
    return decider, state


def _probes(objs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    probes = []
    for n, o in enumerate(o for o in objs if o.get("body")):
        body = o["body"]
        probes.append({**o, "id": f"exact-{n}"})
        words = body.split()
        probes.append({**o, "id": f"near-{n}", "body": " ".join(words[: int(len(words) * 0.9)])})
        probes.append(
            {**o, "id": f"other-{n}", "body": " ".join(reversed(words)), "title": "Unrelated"}
        )
    probes.append(objs[0])  # the same id again
    return probes


def test_rebuild_restores_the_same_decisions() -> None:
    s = Settings()
    objs = feed_objects()
    prepared = prepare_all(objs, s)
    decider, state = _journal_run(s, prepared)
    assert len(state.entries) == len(decider.index) > 30

    fresh = DedupIndex(s.dedup)
    loaded, evicted = rebuild_index(state, fresh, fingerprinter(s))
    assert loaded == len(state.entries)
    assert evicted == []
    assert {e.id for e in fresh.entries()} == {e.id for e in decider.index.entries()}
    for e in decider.index.entries():
        got = fresh.get(e.id)
        assert got is not None
        assert_entries_equal(e, got)
    assert fresh.watermark == decider.index.watermark

    probes = prepare_all(_probes(objs[:20]), s)
    decisions = [(decider.index.decide(p.entry), fresh.decide(p.entry)) for p in probes]
    for original, rebuilt in decisions:
        assert original == rebuilt
    kinds = {d.match.kind if d.match else "clean" for d, _ in decisions}
    assert {"exact", "near", "same_id", "clean"} <= kinds


def test_rebuild_skips_ids_already_present() -> None:
    s = Settings()
    prepared = prepare_all(feed_objects()[:5], s)
    _, state = _journal_run(s, prepared)
    index = DedupIndex(s.dedup)
    index.add(prepared[0].entry)
    loaded, _ = rebuild_index(state, index, fingerprinter(s))
    assert loaded == len(state.entries) - 1
    assert len(index) == len(state.entries)


@pytest.mark.parametrize("newest_first", [False, True])
def test_rebuild_returns_ids_older_than_the_window(newest_first: bool) -> None:
    d = DedupSettings(window=timedelta(days=7))
    fp = Fingerprinter(d.num_perm, d.seed, d.shingle_size)
    newest = NOW.timestamp()
    day = 86400.0
    ages = {"old-9d": 9, "old-8d": 8, "edge-7d": 7, "mid-3d": 3, "new-0d": 0}
    entries = {
        name: entry_from_tokens(fp, name, f"text of {name} alpha beta gamma", newest - age * day)
        for name, age in ages.items()
    }
    order = list(entries)
    if newest_first:
        order = ["new-0d", *[n for n in order if n != "new-0d"]]
    state = replay(encode_entry(entries[n], Outcome.CLEAN, None, None) for n in order)
    index = DedupIndex(d)
    loaded, evicted = rebuild_index(state, index, fp)
    assert loaded == len(entries)
    assert sorted(evicted) == ["old-8d", "old-9d"]
    assert sorted(e.id for e in index.entries()) == ["edge-7d", "mid-3d", "new-0d"]


def test_exact_duplicates_after_eviction_match_the_same_holder_as_a_rebuild() -> None:
    """Invariant 4: the rebuilt index decides like the live one even after evictions.

    Three copies of one text: the oldest leaves the window, and a fourth copy must
    be linked to the same survivor whether the index lived through it or was
    rebuilt from the journal.
    """
    s = Settings()
    fp = fingerprinter(s)
    day = 86400.0
    text = "the terminal resumed loadings on tuesday after a storm damaged a conveyor gantry"
    decider = Decider(s)
    state = JournalState()
    copies = [entry_from_tokens(fp, f"copy{i}", text, ts=i * day) for i in range(3)]
    filler = entry_from_tokens(
        fp, "later", "an unrelated story about a marathon field cut", 7.5 * day
    )
    for original in [*copies, filler]:
        same = original.id.startswith("copy")
        entry = replace(original, content_hash="same" if same else "other")
        decision = decider.index.decide(entry)
        placed = entry.in_cluster(decision.cluster_id)
        evicted = decider.index.add(placed)
        state.apply(*encode_entry(placed, Outcome.CLEAN, None, None))
        for gone in evicted:
            state.apply(gone.encode(), None)
    assert "copy0" not in decider.index  # 7.5 days after it: out of the 7-day window
    rebuilt = DedupIndex(s.dedup)
    rebuild_index(state, rebuilt, fp)

    probe = replace(entry_from_tokens(fp, "copy3", text, ts=7.6 * day), content_hash="same")
    live, again = decider.index.decide(probe), rebuilt.decide(probe)
    assert live.duplicate_of == again.duplicate_of == "copy1"
    assert live.match is not None and live.match.kind == "exact"
    assert sorted(e.id for e in decider.index.entries()) == sorted(e.id for e in rebuilt.entries())
