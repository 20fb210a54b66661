"""The journal applied record by record (``JournalFeed``): what a warm standby's index holds.

It must equal the writer's live index (the same articles, clusters and clock, so the same
decisions), wherever the feed is cut and resumed, with evictions, tombstones and
checkpoints interleaved as the batch order writes them; and it must agree with the fold
of ``rebuild_index`` over the same journal.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

from streamer.config import Settings
from streamer.dedup.feed import JournalFeed
from streamer.dedup.index import DedupIndex
from streamer.dedup.journal import (
    article_key,
    encode_checkpoint,
    encode_entry,
    rebuild_index,
    replay,
)
from streamer.models import Outcome
from streamer.pipeline import Decider
from tests.dedup.test_journal import (
    NOW,
    _probes,
    assert_entries_equal,
    entry_from_tokens,
    feed_objects,
    fingerprinter,
    prepare_all,
)

Record = tuple[bytes | None, bytes | None]


def journal_of_run(s: Settings, decider: Decider, prepared: list) -> list[Record]:
    """The journal records of deciding ``prepared`` in batches of 7, in the batch order."""
    records: list[Record] = []
    for start in range(0, len(prepared), 7):
        for p in prepared[start : start + 7]:
            result = decider.decide(p)
            if result.entry is not None:
                records.append(encode_entry(result.entry, result.outcome, None, None))
            records.extend((article_key(gone), None) for gone in result.evicted)
        records.append(encode_checkpoint("news.raw", 0, start + 7, {}, {}, NOW))
    return records


def assert_same_index(a: DedupIndex, b: DedupIndex) -> None:
    assert sorted(e.id for e in a.entries()) == sorted(e.id for e in b.entries())
    for e in a.entries():
        got = b.get(e.id)
        assert got is not None
        assert_entries_equal(e, got)
    assert a.watermark == b.watermark


def test_feed_follows_the_writer_wherever_it_is_cut() -> None:
    s = Settings()
    objs = feed_objects()
    prepared = prepare_all(objs, s)
    decider = Decider(s)
    records = journal_of_run(s, decider, prepared)

    for cut in (0, 1, len(records) // 3, len(records) - 1, len(records)):
        index = DedupIndex(s.dedup)
        feed = JournalFeed(index, fingerprinter(s))
        for key, value in records[:cut]:  # standing by ...
            feed.apply(key, value)
        for key, value in records[cut:]:  # ... and the take-over's catch-up
            feed.apply(key, value)
        assert_same_index(decider.index, index)
        assert feed.checkpoints[("news.raw", 0)].next_offset >= len(prepared)
        assert feed.skipped == 0 and feed.take_untombstoned() == []

    probes = prepare_all(_probes(objs[:20]), s)
    for p in probes:
        assert decider.index.decide(p.entry) == index.decide(p.entry)

    folded = DedupIndex(s.dedup)
    rebuild_index(replay(records), folded, fingerprinter(s))
    assert_same_index(folded, index)


def test_feed_applies_evictions_and_their_tombstones() -> None:
    s = Settings()
    fp = fingerprinter(s)
    day = 86400.0
    decider = Decider(s)
    records: list[Record] = []
    for i in range(10):  # a story a day: the 7-day window drops the first ones
        entry = entry_from_tokens(
            fp, f"d{i}", f"story {i} about harbour cranes number {i}", i * day
        )
        placed = replace(entry, content_hash=f"h{i}")
        evicted = decider.index.add(placed)
        records.append(encode_entry(placed, Outcome.CLEAN, None, None))
        records.extend((article_key(gone), None) for gone in evicted)
    assert "d0" not in decider.index

    # Cut just before the first tombstone: the feed evicts it itself, and owes its tombstone
    # until the journal's arrives.
    first_tombstone = next(i for i, (_, v) in enumerate(records) if v is None)
    index = DedupIndex(s.dedup)
    feed = JournalFeed(index, fp)
    for key, value in records[:first_tombstone]:
        feed.apply(key, value)
    assert feed.untombstoned == {"d0"}
    for key, value in records[first_tombstone:]:
        feed.apply(key, value)
    assert feed.untombstoned == set()
    assert_same_index(decider.index, index)


def test_feed_skips_what_it_cannot_read_and_owes_its_tombstone() -> None:
    s = Settings()
    index = DedupIndex(s.dedup)
    feed = JournalFeed(index, fingerprinter(s))
    good = entry_from_tokens(fingerprinter(s), "ok", "a story about copper prices rising", 1.0)
    feed.apply(b"garbage", b"not json")
    feed.apply(None, b"{}")
    key, value = encode_entry(good, Outcome.CLEAN, None, None)
    feed.apply(key, value.replace(b'"n_tokens":', b'"n_tokens":-'))  # loads badly
    feed.apply(key, value)
    feed.apply(*encode_checkpoint("news.raw", 0, 4, {}, {}, datetime.now(UTC)))
    assert feed.skipped == 3 and feed.records == 5
    assert "ok" in index and len(index) == 1
    assert feed.take_untombstoned() == []  # the bad value's id was loaded right after
