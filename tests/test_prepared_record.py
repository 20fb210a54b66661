"""The binary ``news.prepared`` record: what prepare writes, the dedup writer reads back."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

from streamer.config import Settings
from streamer.dedup.entry import derive, with_derived_many
from streamer.kafka.stages import DedupStage
from streamer.models import Outcome, PreparedEnvelope, SourceInfo
from streamer.pipeline import Preparer
from streamer.records import (
    PREPARED_V1,
    InputRecord,
    Prepared,
    RecordError,
    decode_prepared,
    encode_prepared,
    prepared_entry,
    to_wire,
)

SOURCE = SourceInfo(topic="news.raw", partition=0, offset=5, timestamp_ms=1_700_000_000_000)
BODIES = (
    "Loadings resumed at the Port Ellis grain terminal on Tuesday after a gale closed it.",
    "The central bank of Norland kept its main rate at 4.25 percent, as analysts expected.",
    "Harlow Mining said output at its Tarn copper mine rose 12 percent in the third quarter.",
)


def prepared(article_id: str, body: str = BODIES[0]) -> Prepared:
    value = json.dumps({"id": article_id, "title": "A title", "body": body}).encode()
    clock = lambda: datetime(2026, 1, 2, tzinfo=UTC)  # noqa: E731
    return Preparer(Settings(), clock=clock).prepare(InputRecord(value=value))


def polled(value: bytes, offset: int = 0) -> Any:
    return SimpleNamespace(
        topic="news.prepared", partition=0, offset=offset, key=b"k", value=value, timestamp=None
    )


def test_an_article_round_trips_with_its_fields_and_arrays() -> None:
    p = prepared("b1")
    value = encode_prepared(SOURCE, p)
    assert value[0] == PREPARED_V1 and b"shingles" not in value  # the arrays are raw bytes
    read = decode_prepared(value)
    assert read.source == SOURCE and read.deadletter is None and read.article is not None
    fields = type(read.article).model_fields
    assert {name: getattr(read.article, name) for name in fields} == {
        name: getattr(p.article, name) for name in fields
    }
    assert read.shingles is not None and read.signature is not None
    assert read.shingles.dtype == np.uint32 and np.array_equal(read.shingles, p.entry.shingles)
    assert np.array_equal(read.signature, p.entry.signature)


def test_the_binary_record_is_smaller_than_the_json_envelope() -> None:
    p = prepared("b2")
    legacy = PreparedEnvelope(source=SOURCE, article=to_wire(p)).model_dump_json().encode()
    assert len(encode_prepared(SOURCE, p)) < len(legacy)


def test_a_json_envelope_from_an_older_replica_is_still_read() -> None:
    p = prepared("b3")
    legacy = PreparedEnvelope(source=SOURCE, article=to_wire(p)).model_dump_json().encode()
    read = decode_prepared(legacy)
    assert read.article is not None and read.article.id == "b3"
    assert read.shingles is not None and np.array_equal(read.shingles, p.entry.shingles)


@pytest.mark.parametrize(
    ("cut", "reason"),
    [
        (lambda v: bytes([7]) + v[1:], "unsupported_version"),
        (lambda v: v[:-3], "invalid_prepared"),  # a torn signature
        (lambda v: v + b"\x00", "invalid_prepared"),  # bytes past the signature
        (lambda v: v[:9], "invalid_prepared"),  # a torn head
        (lambda v: b"", "invalid_prepared"),
    ],
)
def test_a_bad_record_is_a_record_error(cut: Any, reason: str) -> None:
    with pytest.raises(RecordError) as err:
        decode_prepared(cut(encode_prepared(SOURCE, prepared("b4"))))
    assert err.value.reason == reason


def test_the_writer_dead_letters_an_unknown_version_and_decides_the_rest() -> None:
    good = encode_prepared(SOURCE, prepared("b5"))
    newer = bytes([PREPARED_V1 + 1]) + good[1:]
    later = encode_prepared(SOURCE.model_copy(update={"offset": 6}), prepared("b6", BODIES[1]))
    letter, article = DedupStage(Settings()).process([polled(newer), polled(later, 1)], {})
    assert letter is not None and letter.error is not None
    assert letter.error.type == "unsupported_version" and "version 2" in letter.error.message
    assert article is not None and article.outcome is Outcome.CLEAN


def test_a_batch_decides_as_record_by_record() -> None:
    bodies = [*BODIES, BODIES[0], BODIES[2] + " Shares rose."]
    values = [
        encode_prepared(SOURCE.model_copy(update={"offset": i}), prepared(f"c{i}", body))
        for i, body in enumerate(bodies)
    ]
    one_stage = DedupStage(Settings())
    one_by_one = [one_stage.process([polled(v, i)], {})[0] for i, v in enumerate(values)]
    batch = DedupStage(Settings()).process([polled(v, i) for i, v in enumerate(values)], {})
    assert [r and (r.outcome, r.value, r.journal, r.evicted) for r in batch] == [
        r and (r.outcome, r.value, r.journal, r.evicted) for r in one_by_one
    ]
    assert [r.outcome for r in batch if r is not None].count(Outcome.DUPLICATE) >= 1


def test_deriving_a_batch_gives_what_deriving_each_gives() -> None:
    settings = Settings().dedup
    entries = [prepared(f"d{i}", body).entry for i, body in enumerate(BODIES)]
    short = prepared_entry(
        prepared("d9").article, np.arange(5, dtype=np.uint32), np.arange(3, dtype=np.uint32)
    )
    out = with_derived_many([*entries, short], settings)
    assert out[-1] is short  # too short a signature to derive: its decision raises
    for entry, got in zip(entries, out, strict=False):
        want, have = derive(entry, settings), got.derived
        assert have is not None
        for name in ("slots", "checks", "sketch"):
            assert np.array_equal(getattr(have, name), getattr(want, name))
            assert getattr(have, name).dtype == getattr(want, name).dtype
        assert (have.digest, have.bands, have.ranks is None) == (
            want.digest,
            want.bands,
            want.ranks is None,
        )


def test_a_timed_result_is_the_result_with_its_seconds() -> None:
    value = encode_prepared(SOURCE, prepared("t1"))
    (result,) = DedupStage(Settings()).process([polled(value)], {})
    assert result is not None
    assert result.timed(1.5) == replace(result, seconds=1.5)


def test_in_a_batch_a_replay_is_dropped_and_letters_keep_their_place() -> None:
    first = encode_prepared(SOURCE, prepared("r1"))
    replay = encode_prepared(SOURCE, prepared("r1"))  # a restarted prepare, same raw offset
    letter = PreparedEnvelope.model_validate(
        {
            "source": SOURCE.model_copy(update={"offset": 6}).model_dump(),
            "deadletter": {
                "error": {"type": "no_text", "message": "m"},
                "topic": "news.raw",
                "partition": 0,
                "offset": 6,
                "raw": "{}",
                "raw_size": 2,
                "failed_at": "2026-01-02T00:00:00Z",
            },
        }
    )
    later = encode_prepared(SOURCE.model_copy(update={"offset": 7}), prepared("r2", BODIES[1]))
    upstream: dict[str, int] = {}
    values = [first, replay, letter.model_dump_json().encode(), b"{not json", later]
    out = DedupStage(Settings()).process([polled(v, i) for i, v in enumerate(values)], upstream)
    kinds = [r and (r.outcome, r.error.type if r.error else None) for r in out]
    assert kinds == [
        (Outcome.CLEAN, None),
        None,
        (Outcome.DEADLETTER, "no_text"),
        (Outcome.DEADLETTER, "invalid_prepared"),
        (Outcome.CLEAN, None),
    ]
    assert upstream == {"news.raw/0": 7}


def test_the_decisions_query_keys_travel_in_the_record() -> None:
    # Long enough for passage windows (200 tokens or more): the writer must not work them
    # out from the text again (133 us a record in the one ordered writer).
    p = prepared("q1", " ".join(f"{b} Item {i} of the list." for i in range(30) for b in BODIES))
    assert p.entry.passages is not None and p.entry.passages[0].size > 0
    assert p.entry.token_hashes is not None
    read = decode_prepared(encode_prepared(SOURCE, p))
    assert read.query is not None
    slots, checks, hashes = read.query
    assert np.array_equal(slots, p.entry.passages[0])
    assert np.array_equal(checks, p.entry.passages[1])
    assert np.array_equal(hashes, p.entry.token_hashes)
    assert read.article is not None and read.shingles is not None and read.signature is not None
    entry = prepared_entry(read.article, read.shingles, read.signature)
    (batch,) = with_derived_many([entry.with_query((slots, checks), hashes)], Settings().dedup)
    assert batch.derived is not None and batch.token_hashes is hashes
    assert batch.passages is not None and batch.passages[0] is slots


def test_a_record_without_query_keys_is_read_and_a_torn_one_is_refused() -> None:
    p = prepared("q2")
    bare = replace(p, entry=prepared_entry(p.article, p.entry.shingles, p.entry.signature))
    assert decode_prepared(encode_prepared(SOURCE, bare)).query is None
    with pytest.raises(RecordError) as err:
        decode_prepared(encode_prepared(SOURCE, p)[:-3])
    assert err.value.reason == "invalid_prepared"
