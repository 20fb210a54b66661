"""The prepare pool: the same results as preparing in-process, each tied to its own input."""

from __future__ import annotations

import json

import numpy as np

from streamer.config import Settings
from streamer.pipeline import Preparer
from streamer.records import InputRecord, Prepared, Result
from streamer.workers import PreparePool

BODY = (
    "The central bank raised its benchmark rate by a quarter point to 4.5 pct on Tuesday, "
    "citing inflation that has stayed above target for a year."
)


def records() -> list[InputRecord]:
    values: list[bytes] = []
    for i in range(12):
        if i % 4 == 3:
            values.append(b"{not json")
        else:
            values.append(
                json.dumps(
                    {
                        "id": f"a{i}",
                        "title": f"Story {i}",
                        "body": f"{BODY} Item {i}.",
                        "published_at": "2026-11-24T08:00:00Z",
                    }
                ).encode()
            )
    return [
        InputRecord(
            value=v,
            key=f"k{i}".encode(),
            topic="news.raw",
            partition=1,
            offset=100 + i,
            timestamp_ms=1_764_000_000_000 + i,
        )
        for i, v in enumerate(values)
    ]


def test_pool_results_equal_in_process_and_keep_their_sources() -> None:
    settings = Settings()
    batch = records()
    here = [Preparer(settings).prepare_one(r) for r in batch]
    pool = PreparePool(settings, workers=2)
    try:
        there = [out for out, _ in pool.prepare(batch)]
    finally:
        pool.close()
    assert len(there) == len(batch)
    for record, a, b in zip(batch, here, there, strict=True):
        # The worker sends its result back without the input; the pool puts it back.
        assert b.source is record
        assert type(a) is type(b)
        if isinstance(a, Prepared):
            assert isinstance(b, Prepared)
            assert a.article.model_dump() == b.article.model_dump()
            assert np.array_equal(a.entry.shingles, b.entry.shingles)
            assert np.array_equal(a.entry.signature, b.entry.signature)
        else:
            assert isinstance(a, Result) and isinstance(b, Result)
            assert a.outcome == b.outcome and a.error is not None and b.error is not None
            assert a.error.type == b.error.type
            assert b.headers() == record.headers()
    assert sum(isinstance(x, Result) for x in there) == 3
