"""``models.record_json``: the writer's outputs and journal entries, byte for byte as pydantic
wrote them, for every shape a decision produces (clean, near, exact, same id, undated)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from streamer import SCHEMA_VERSION
from streamer.config import Settings
from streamer.dedup.entry import IndexEntry
from streamer.dedup.journal import entry_body, with_output
from streamer.models import (
    ArticleRecord,
    Coordinates,
    JournalEntry,
    MatchInfo,
    Outcome,
    record_json,
)
from streamer.pipeline import Pipeline
from streamer.records import InputRecord, u32_b64

FEED = Path(__file__).resolve().parents[1] / "streamer" / "samples" / "feed.jsonl"
NOW = datetime(2024, 5, 20, tzinfo=UTC)


def feed_results() -> list[Any]:
    lines = [line for line in FEED.read_bytes().splitlines() if line.strip()]
    undated = json.dumps({"id": "u1", "body": "A story that came without any date at all."})
    again = json.dumps({"id": "u1", "body": "A story that came without any date at all."})
    lines += [undated.encode(), again.encode()]
    pipeline = Pipeline(Settings(), clock=lambda: NOW)
    return pipeline.process(
        InputRecord(value=v, topic="news.raw", partition=0, offset=i) for i, v in enumerate(lines)
    )


def test_output_records_are_what_pydantic_writes() -> None:
    seen = set()
    for res in feed_results():
        if res.outcome is Outcome.DEADLETTER:
            continue
        record = ArticleRecord.model_validate_json(res.value)
        assert res.value == record.model_dump_json().encode()
        seen.add(record.match.kind if record.match else "clean")
    assert {"clean", "near", "exact", "same_id"} <= seen


def test_journal_entries_are_what_pydantic_writes() -> None:
    results = [r for r in feed_results() if r.entry is not None]
    assert results
    for res in results:
        output = Coordinates(topic="news.clean", partition=0, offset=7)
        entry = JournalEntry.model_validate_json(with_output(res.journal, output))
        assert entry.output == output
        assert res.journal == entry.model_dump_json(exclude={"output"}).encode()
        suffix = b',"output":' + output.model_dump_json().encode() + b"}"
        assert with_output(res.journal, output) == res.journal[:-1] + suffix


@pytest.mark.parametrize("ts", [0.0, -0.0, 1e16, 5e-324, 541_947_600.123456, 2.0**53 + 1])
def test_edge_values_are_what_pydantic_writes(ts: float) -> None:
    entry = IndexEntry(
        id="é\u2028\x00</script>",
        cluster_id="c😀",
        ts=ts,
        content_hash="h",
        shingles=np.array([0, 2**32 - 1], dtype=np.uint32),
        signature=np.zeros(4, dtype=np.uint32),
        numbers=frozenset({"1", "2.5"}),
        entities=frozenset(),
        n_tokens=3,
    )
    coords = Coordinates(topic="t", partition=1, offset=2**62)
    want = JournalEntry(
        id=entry.id,
        cluster_id=entry.cluster_id,
        ts=ts,
        content_hash="h",
        n_tokens=3,
        shingles_b64=u32_b64(entry.shingles),
        numbers=["1", "2.5"],
        entities=[],
        outcome=Outcome.DUPLICATE,
        input=coords,
        date_fallback="no_date",
        schema_version=SCHEMA_VERSION,
    )
    body = entry_body(entry, Outcome.DUPLICATE, coords, "no_date")
    assert body == want.model_dump_json(exclude={"output"}).encode()
    match = MatchInfo(kind="near", jaccard=np.float64(2) / 3, containment=1.0, guards=["g"])
    fields = dict(
        id=entry.id, source=None, url=None, title="", text="t", published_at=NOW,
        ingested_at=datetime.fromtimestamp(ts, UTC) if abs(ts) < 1e10 else NOW,
        date_fallback=None, language=None, content_hash="h", cluster_id="c",
        duplicate_of="d", similarity=np.float64(0.8123), match=match, schema_version=1,
    )  # fmt: skip
    assert record_json(ArticleRecord, fields) == (
        ArticleRecord.model_construct(**fields).model_dump_json().encode()
    )
