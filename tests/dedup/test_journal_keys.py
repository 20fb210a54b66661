"""Journal key spaces no id can cross, journals of today's format still read, and a replay
that no single record can stop."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from streamer.config import Settings
from streamer.dedup import journal
from streamer.dedup.index import DedupIndex
from streamer.dedup.journal import (
    CHECKPOINT_PREFIX,
    article_key,
    checkpoint_key,
    encode_checkpoint,
    encode_entry,
    rebuild_index,
    replay,
)
from streamer.models import Coordinates, Outcome
from streamer.text.fingerprint import Fingerprinter
from tests.dedup.articles import make

NOW = datetime(2024, 5, 20, tzinfo=UTC)
OTHER_STORY = (
    "Norvale central bank left its benchmark lending rate unchanged at 4.25 pct on Tuesday, "
    "saying inflation was easing more slowly than it had forecast in March."
)
D = Settings().dedup
FP = Fingerprinter(D.num_perm, D.seed, D.shingle_size)


def entry_record(article_id: str, ts: float = 1e9, text: str | None = None) -> tuple[bytes, bytes]:
    entry = make(article_id, ts=ts) if text is None else make(article_id, text, ts=ts)
    return encode_entry(entry, Outcome.CLEAN, None, None)


def legacy_entry_value(article_id: str, ts: float) -> bytes:
    """An entry as today's main wrote it: no ``date_fallback`` member."""
    _, value = entry_record(article_id, ts)
    data = json.loads(value)
    del data["date_fallback"]
    return json.dumps(data).encode()


@given(st.text(min_size=1))
def test_no_article_key_is_a_checkpoint_key(article_id: str) -> None:
    key = article_key(article_id)
    assert not key.startswith(CHECKPOINT_PREFIX)
    state = replay([(key, encode_entry(make(article_id), Outcome.CLEAN, None, None)[1])])
    assert list(state.entries) == [article_id] and state.checkpoints == {}


@given(st.sampled_from(["__checkpoint__/", "__checkpoint__/news.raw/0", "\xff", "a"]), st.text())
def test_ids_that_look_like_checkpoints_are_articles(prefix: str, rest: str) -> None:
    article_id = prefix + rest
    checkpoint = encode_checkpoint("news.raw", 0, 10, {}, {}, NOW)
    state = replay([checkpoint, entry_record(article_id), checkpoint])
    assert list(state.entries) == [article_id]
    assert state.checkpoints[("news.raw", 0)].next_offset == 10
    assert state.skipped == 0
    state.apply(article_key(article_id), None)  # its tombstone
    assert state.entries == {}


def test_an_id_equal_to_a_checkpoint_key_cannot_overwrite_the_checkpoint() -> None:
    """Compaction keeps one record per key: the keys themselves must differ."""
    key, _ = entry_record("__checkpoint__/news.raw/0")
    assert key != checkpoint_key("news.raw", 0)
    assert key == b"\xff__checkpoint__/news.raw/0"
    assert article_key("r-1") == b"r-1"  # every other id keeps the key it always had


def test_journals_written_before_the_escape_still_read() -> None:
    """Today's main journaled such an id under a checkpoint's key; it is read as an article."""
    old_key = b"__checkpoint__/news.raw/0"
    records = [
        encode_checkpoint("news.raw", 0, 5, {"news.clean/0": 3}, {}, NOW),
        (b"r-1", legacy_entry_value("r-1", 1e9)),
        (old_key, legacy_entry_value("__checkpoint__/news.raw/0", 1e9 + 1)),
        (b"__checkpoint__/x", legacy_entry_value("__checkpoint__/x", 1e9 + 2)),
        (b"__checkpoint__/x", None),  # that article's tombstone, as main wrote it
    ]
    state = replay(records)
    assert state.skipped == 0
    assert list(state.entries) == ["r-1", "__checkpoint__/news.raw/0"]
    assert state.checkpoints[("news.raw", 0)].next_offset == 5
    index = DedupIndex(D)
    loaded, evicted = rebuild_index(state, index, FP)
    assert (loaded, evicted) == (2, [])
    # A tombstone written now (escaped key) removes the entry read from the old key.
    state.apply(article_key("__checkpoint__/news.raw/0"), None)
    assert list(state.entries) == ["r-1"]


def test_a_record_that_cannot_be_read_is_skipped_and_counted() -> None:
    bad = [
        (b"r-2", b"not json"),
        (b"r-3", b'{"id": "r-3"}'),
        (CHECKPOINT_PREFIX + b"news.raw/1", b'{"topic": "news.raw"}'),
        (CHECKPOINT_PREFIX + b"news.raw/2", b"\x00\x01"),
        (None, b"{}"),
        (b"\xffbad utf-8 \xfe", b"{}"),
    ]
    checkpoint = encode_checkpoint("news.raw", 0, 7, {}, {}, NOW)
    broken_outputs = encode_checkpoint("news.raw", 3, 9, {"no-partition": 1}, {}, NOW)
    negative = encode_checkpoint("news.raw", 4, -9, {}, {}, NOW)
    state = replay([entry_record("r-1"), *bad, broken_outputs, negative, checkpoint])
    assert state.records_read == len(bad) + 4
    assert state.skipped == len(bad) + 2
    assert len(state.problems) == len(bad) + 2
    assert "ValidationError" in state.problems[0]
    assert list(state.entries) == ["r-1"]
    assert list(state.checkpoints) == [("news.raw", 0)]


def test_problems_kept_are_bounded() -> None:
    state = replay((f"r-{n}".encode(), b"garbage") for n in range(1000))
    assert state.skipped == 1000
    assert len(state.problems) == journal.MAX_PROBLEMS_KEPT


def test_an_entry_that_cannot_be_loaded_is_skipped_and_tombstoned() -> None:
    bad = []
    for n, change in enumerate(
        [
            {"shingles_b64": "AAA="},  # three bytes: not whole uint32 values
            {"n_tokens": -1},
            {"ts": "Infinity"},
        ]
    ):
        key, value = entry_record(f"r-bad{n}")
        bad.append((key, json.dumps({**json.loads(value), **change}).encode()))
    state = replay([entry_record("r-1"), *bad, entry_record("r-2")])
    assert state.skipped == 0  # they parse; they cannot be loaded
    index = DedupIndex(D)
    loaded, evicted = rebuild_index(state, index, FP)
    assert loaded == 2 and evicted == ["r-bad0", "r-bad1", "r-bad2"]
    assert state.skipped == 3 and "r-bad0" in state.problems[0]
    assert [e.id for e in index.entries()] == ["r-1", "r-2"]


def test_an_old_entry_stamped_in_the_future_is_not_loaded() -> None:
    """A journal poisoned before this fix (CreateTime 2100, no date) heals on the next start."""
    t2100 = datetime(2100, 1, 1, tzinfo=UTC).timestamp()
    now = NOW.timestamp()
    records = [
        (b"r-1", legacy_entry_value("r-1", now - 60)),
        (b"poison", legacy_entry_value("poison", t2100)),
        encode_checkpoint("news.raw", 0, 2, {}, {}, NOW),
    ]
    state = replay(records)
    index = DedupIndex(D)
    loaded, evicted = rebuild_index(state, index, FP)
    assert (loaded, evicted) == (1, ["poison"])
    assert index.watermark == now - 60
    # A new entry carries its date_fallback member: its time was checked when it was
    # prepared, and the rebuild believes it as the live index did.
    dated = encode_entry(make("late", OTHER_STORY, ts=t2100), Outcome.CLEAN, None, None)
    state = replay([*records, dated])
    index = DedupIndex(D)
    assert rebuild_index(state, index, FP)[1] == ["poison", "r-1"]
    assert index.watermark == t2100


def test_output_position_is_spliced_into_the_body() -> None:
    entry = make("r-1")
    coords = Coordinates(topic="news.raw", partition=2, offset=7)
    out = Coordinates(topic="t" * 249, partition=2**31 - 1, offset=2**63 - 1)
    body = journal.entry_body(entry, Outcome.DUPLICATE, coords, "missing")
    value = journal.with_output(body, out)
    assert len(value) - len(body) <= journal.OUTPUT_POSITION_BYTES
    state = replay([(article_key("r-1"), value)])
    got = state.entries["r-1"]
    assert (got.input, got.output, got.date_fallback) == (coords, out, "missing")
    assert got.outcome is Outcome.DUPLICATE
    assert value == encode_entry(entry, Outcome.DUPLICATE, coords, out, "missing")[1]
