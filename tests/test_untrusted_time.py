"""Untrusted time through the pipeline: which time each record is given, and what it moves.

The cases of the record contract's time rules: a live stream, a backfill of old
stories (with its first story undated), a record from the future, a Kafka
timestamp in the future or missing, the dedup role deciding records prepared
elsewhere, and a rebuild from the journal deciding as the live index did.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from streamer.config import Settings
from streamer.dedup import journal
from streamer.dedup.index import DedupIndex
from streamer.models import Outcome, PreparedEnvelope, SourceInfo
from streamer.pipeline import Decider, Pipeline, Preparer
from streamer.records import InputRecord, Prepared, Result, from_wire, to_wire
from streamer.text.fingerprint import Fingerprinter
from tests.conftest import reuters_record

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
NOW_MS = int(NOW.timestamp() * 1000)
T1987 = datetime(1987, 3, 2, 9, 0, tzinfo=UTC)

BODY = (
    "PORT ELLIS, May 14 - Loadings resumed at the Port Ellis grain terminal on Tuesday "
    "after a two-day halt caused by gale-force winds that damaged a conveyor gantry, the "
    "terminal operator Ellis Bulk Handling said. Three vessels waiting in the roads were "
    "expected to berth by Wednesday evening, and the operator said it would run extra shifts "
    "to clear a backlog of about 140,000 tonnes of wheat and barley."
)
OTHER = (
    "NORVALE CITY, May 14 - The Norvale central bank left its benchmark lending rate "
    "unchanged at 4.25 pct on Tuesday, saying inflation was easing more slowly than it had "
    "forecast in March. Governor Helena Marsh told reporters the board had discussed a cut "
    "of 25 basis points but judged that services prices remained too firm."
)
THIRD = (
    "KARLSBERG, May 14 - Karlsberg Motor Works said first-quarter vehicle deliveries fell "
    "12 pct to 41,300 units as a parts shortage at its Wendel assembly plant cut output, "
    "and it kept its full-year forecast of 180,000 units. Chief executive Anton Rieger said "
    "the shortage of wiring harnesses had eased in April and the plant ran two shifts again."
)


def clock() -> datetime:
    return NOW


def article(id_: str, body: str = BODY, published_at: Any = None, **fields: Any) -> bytes:
    obj: dict[str, Any] = {"id": id_, "title": "Storm halts a port", "body": body, **fields}
    if published_at is not None:
        obj["published_at"] = published_at
    return json.dumps(obj).encode()


def rec(value: bytes, offset: int = 0, timestamp_ms: int | None = NOW_MS) -> InputRecord:
    return InputRecord(
        value=value, topic="news.raw", partition=0, offset=offset, timestamp_ms=timestamp_ms
    )


def values(results: list[Result]) -> list[dict[str, Any]]:
    return [json.loads(r.value) for r in results]


def published(value: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(value["published_at"])


# -- the cases of the contract, one by one -----------------------------------------------------


def test_live_stream_publication_times_drive_the_window() -> None:
    pipe = Pipeline(Settings(), clock=clock)
    minute = timedelta(minutes=1)
    out = values(
        pipe.process(
            [
                rec(article("a", published_at=(NOW - 5 * minute).isoformat())),
                rec(article("b", OTHER, published_at=(NOW - 2 * minute).isoformat()), 1),
                rec(article("c", published_at=(NOW - minute).isoformat()), 2),
            ]
        )
    )
    assert [v["date_fallback"] for v in out] == [None, None, None]
    assert pipe.index.watermark == (NOW - minute).timestamp()
    assert out[2]["duplicate_of"] == "a"


def test_a_backfill_whose_first_story_is_undated_keeps_dedup_on() -> None:
    """Item 0: the undated first story gets its ingest time; the 1987 stories a window."""
    pipe = Pipeline(Settings(), clock=clock)
    day = timedelta(days=1)
    out = values(
        pipe.process(
            [
                rec(article("r-17192", THIRD)),  # no date, ingested now (2026)
                rec(article("r-1", published_at=T1987.isoformat()), 1),
                rec(article("r-2", OTHER, published_at=(T1987 + day).isoformat()), 2),
                rec(article("r-3", published_at=(T1987 + 2 * day).isoformat()), 3),
                rec(article("r-4", OTHER), 4),  # undated again, mid-stream
                rec(article("r-5", THIRD, published_at=(T1987 + 2 * day).isoformat()), 5),
            ]
        )
    )
    first = out[0]
    assert first["date_fallback"] == "missing"
    assert published(first) == NOW  # the ingest time: nothing else is known yet
    assert out[3]["duplicate_of"] == "r-1"  # dedup is on: r-1 was not evicted by 2026
    assert out[4]["date_fallback"] == "missing"
    assert published(out[4]) == T1987 + 2 * day  # the stream's clock, not 2026
    assert out[4]["duplicate_of"] == "r-2"
    # The undated first story was ahead of the 1987 clock by decades: dropped, not kept
    # forever, so its later dated copy is clean.
    assert out[5]["duplicate_of"] is None
    assert pipe.index.watermark == (T1987 + 2 * day).timestamp()
    assert [e.id for e in pipe.index.entries()] == ["r-1", "r-2", "r-3", "r-4", "r-5"]


@pytest.mark.parametrize(
    "published_at",
    ["2100-01-01T00:00:00Z", (NOW + timedelta(hours=23)).isoformat(), 4102444800],
)
def test_a_record_from_the_future_moves_no_window(published_at: Any) -> None:
    pipe = Pipeline(Settings(), clock=clock)
    dated = (NOW - timedelta(minutes=3)).isoformat()
    out = values(
        pipe.process(
            [
                rec(article("a", published_at=dated)),
                rec(article("future", OTHER, published_at=published_at), 1),
                rec(article("a-copy", published_at=dated), 2),
                rec(article("future-copy", OTHER, published_at=dated), 3),
            ]
        )
    )
    assert out[1]["date_fallback"] == "future"
    assert published(out[1]) == NOW - timedelta(minutes=3)  # given the stream's clock
    assert pipe.index.watermark == (NOW - timedelta(minutes=3)).timestamp()
    assert out[2]["duplicate_of"] == "a"
    assert out[3]["duplicate_of"] == "future"


def test_a_publication_time_within_the_slack_is_believed() -> None:
    pipe = Pipeline(Settings(), clock=clock)
    ahead = NOW + timedelta(minutes=10)
    (value,) = values(pipe.process([rec(article("a", published_at=ahead.isoformat()))]))
    assert value["date_fallback"] is None
    assert pipe.index.watermark == ahead.timestamp()


@pytest.mark.parametrize("timestamp_ms", [4_102_444_800_000, None, -1, 0])
def test_a_kafka_timestamp_in_the_future_or_missing_is_the_wall_clock(
    timestamp_ms: int | None,
) -> None:
    pipe = Pipeline(Settings(), clock=clock)
    (value,) = values(pipe.process([rec(article("a"), timestamp_ms=timestamp_ms)]))
    assert datetime.fromisoformat(value["ingested_at"]) == NOW
    assert value["date_fallback"] == "missing"
    assert published(value) == NOW
    assert pipe.index.watermark == NOW.timestamp()


def test_an_undated_record_stamped_2100_does_not_shut_the_window() -> None:
    """Item 2 as reported: CreateTime 2100, no published_at; exact copies still found."""
    pipe = Pipeline(Settings(), clock=clock)
    dated = (NOW - timedelta(minutes=3)).isoformat()
    out = values(
        pipe.process(
            [
                rec(article("a", published_at=dated)),
                rec(article("poison", OTHER), 1, timestamp_ms=4_102_444_800_000),
                rec(article("a-copy", published_at=dated), 2),
            ]
        )
    )
    assert datetime.fromisoformat(out[1]["ingested_at"]) == NOW
    assert published(out[1]) == NOW - timedelta(minutes=3)
    assert out[2]["duplicate_of"] == "a"
    assert pipe.index.watermark == (NOW - timedelta(minutes=3)).timestamp()
    assert len(pipe.index) == 3


def test_epoch_minus_one_falls_back_with_its_reason() -> None:
    (value,) = values(
        Pipeline(Settings(), clock=clock).process([rec(article("a", published_at=-1))])
    )
    assert value["date_fallback"] == "epoch_not_positive"
    assert published(value) == NOW


# -- the decision is a function of the prepared record and the index ----------------------------


def stream() -> list[InputRecord]:
    day = timedelta(days=1)
    items = [
        article("u0", THIRD),
        article("r-1", published_at=T1987.isoformat()),
        article("r-2", OTHER, published_at=(T1987 + day).isoformat()),
        article("u1", BODY),
        article("f1", THIRD, published_at="2100-01-01"),
        article("r-3", THIRD, published_at=(T1987 + 9 * day).isoformat()),
        article("u2", OTHER),
        article("r-4", BODY, published_at=(T1987 + 10 * day).isoformat()),
    ]
    return [rec(v, n) for n, v in enumerate(items)]


def through_prepared_topic(p: Prepared) -> Prepared:
    """What the dedup role gets: the envelope's JSON, parsed back."""
    source = SourceInfo(topic="news.raw", partition=0, offset=p.source.offset)
    wire = PreparedEnvelope(source=source, article=to_wire(p)).model_dump_json()
    env = PreparedEnvelope.model_validate_json(wire)
    assert env.article is not None
    return from_wire(env.article, p.source)


def test_the_dedup_role_gives_the_same_times_and_decisions_days_later() -> None:
    s = Settings()
    in_process = Pipeline(s, clock=clock).process(stream())
    preparer = Preparer(s, clock=clock)
    later = Decider(s, clock=lambda: NOW + timedelta(days=30))
    elsewhere = []
    for record in stream():
        prepared = preparer.prepare_one(record)
        assert isinstance(prepared, Prepared)
        elsewhere.append(later.decide(through_prepared_topic(prepared)))
    assert [r.value for r in elsewhere] == [r.value for r in in_process]
    assert [r.journal for r in elsewhere] == [r.journal for r in in_process]


def journal_of(results: list[Result]) -> journal.JournalState:
    """The journal as the batch order writes it: entries, then their tombstones."""
    state = journal.JournalState()
    for r in results:
        if r.entry is not None:
            assert r.journal is not None
            state.apply(journal.article_key(r.entry.id), journal.with_output(r.journal, None))
        for gone in r.evicted:
            state.apply(journal.article_key(gone), None)
    return state


def test_a_rebuilt_index_gives_the_same_times_and_decisions() -> None:
    s = Settings()
    pipe = Pipeline(s, clock=clock)
    results = pipe.process(stream())
    state = journal_of(results)
    assert state.skipped == 0
    given = [r.journal for r in results if r.journal and b'"date_fallback":"future"' in r.journal]
    assert len(given) == 1  # f1, given the clock of 1987, since evicted by r-3
    assert {e.date_fallback for e in state.entries.values()} == {None, "missing"}

    fresh = DedupIndex(s.dedup)
    d = s.dedup
    loaded, evicted = journal.rebuild_index(
        state, fresh, Fingerprinter(d.num_perm, d.seed, d.shingle_size)
    )
    assert (loaded, evicted) == (len(state.entries), [])
    assert (fresh.watermark, fresh.on_publication_time) == (pipe.index.watermark, True)
    assert [(e.id, e.ts) for e in fresh.entries()] == [(e.id, e.ts) for e in pipe.index.entries()]
    probes = [
        article("p-undated", BODY),
        article("p-future", OTHER, published_at="2099-01-01"),
        article("p-dated", THIRD, published_at=(T1987 + 10 * timedelta(days=1)).isoformat()),
        article("p-new", "Entirely different words about nothing in particular at all today."),
    ]
    live = Decider(s, index=pipe.index)
    rebuilt = Decider(s, index=fresh)
    preparer = Preparer(s, clock=lambda: NOW + timedelta(days=400))  # recovery a year on
    for n, value in enumerate(probes):
        prepared = preparer.prepare_one(rec(value, 100 + n))
        assert isinstance(prepared, Prepared)
        a, b = live.decide(prepared), rebuilt.decide(prepared)
        assert (a.outcome, a.value, a.journal, a.evicted) == (
            b.outcome,
            b.value,
            b.journal,
            b.evicted,
        )
    assert fresh.watermark == pipe.index.watermark


def test_the_reuters_stream_in_wire_order_keeps_its_window(
    reuters_stories: list[dict[str, Any]],
) -> None:
    """The corpus begins with newid 17192, undated; dedup must stay on for all of it."""
    stories = reuters_stories[:600]
    assert stories[0]["newid"] == 17192 and not stories[0].get("date")
    pipe = Pipeline(Settings(), clock=clock)
    records = []
    for n, story in enumerate(stories):
        obj = reuters_record(story)
        if obj["published_at"] is None:
            del obj["published_at"]
        records.append(rec(json.dumps(obj).encode(), n))
    results = pipe.process(records)
    first = json.loads(results[0].value)
    assert first["date_fallback"] == "missing" and published(first) == NOW
    assert datetime.fromtimestamp(pipe.index.watermark, UTC).year == 1987
    assert len(pipe.index) > 100  # not 1: the window holds the 1987 stories
    assert sum(r.outcome is Outcome.DUPLICATE for r in results) > 0
