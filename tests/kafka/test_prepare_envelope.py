"""The prepare role's envelope: checked whole against the producer's limit before it is sent."""

from __future__ import annotations

import json
import threading
from types import SimpleNamespace
from typing import Any, cast

from streamer.config import Settings
from streamer.kafka.observer import Observer
from streamer.kafka.prepare import PrepareService
from streamer.kafka.stages import DedupStage
from streamer.models import PreparedEnvelope
from streamer.records import PREPARED_V1, decode_prepared, record_size


class _Counts:
    def __init__(self) -> None:
        self.prepared: list[bool] = []

    def record_prepared(self, seconds: float, is_article: bool) -> None:
        self.prepared.append(is_article)


def service(s: Settings) -> tuple[PrepareService, _Counts]:
    counts = _Counts()
    return PrepareService(s, cast(Observer, counts), threading.Event()), counts


def raw(value: bytes, key: bytes | None = None, offset: int = 0) -> Any:
    """What a poll returns, with the fields the envelope reads."""
    return SimpleNamespace(
        topic="news.raw", partition=0, offset=offset, key=key, value=value, timestamp=None
    )


def test_an_envelope_over_the_producer_limit_becomes_a_too_large_dead_letter() -> None:
    s = Settings.model_validate({"kafka": {"producer_max_request_size": 150_000}})
    body = " ".join(str(100_000 + 7 * i) for i in range(14_000))  # ~100 KB, fits alone
    prepare, counts = service(s)
    key, value = prepare.envelope(raw(json.dumps({"id": "n", "body": body}).encode(), b"k"))
    assert record_size(key, value) <= s.kafka.producer_max_request_size
    env = PreparedEnvelope.model_validate_json(value)
    assert env.article is None and env.deadletter is not None
    assert env.deadletter.error.type == "too_large"
    assert "(kafka.producer_max_request_size) is 150000" in env.deadletter.error.message
    assert counts.prepared == [False]
    # The dedup writer publishes that dead letter as it is.
    (result,) = DedupStage(s).process([raw(value, key, offset=5)], {})
    assert result is not None and result.error is not None
    assert result.error.type == "too_large"
    assert record_size(result.key, result.value, result.headers()) <= 150_000


def test_a_dead_letter_envelope_cuts_a_huge_key() -> None:
    s = Settings.model_validate({"kafka": {"producer_max_request_size": 200_000}})
    prepare, _ = service(s)
    key, value = prepare.envelope(raw(b"{not json", key=b"k" * 500_000))
    assert key == b"k" * s.limits.max_id_bytes
    assert record_size(key, value) <= 200_000
    env = PreparedEnvelope.model_validate_json(value)
    assert env.deadletter is not None and env.deadletter.key_truncated


def test_an_ordinary_article_travels_as_an_article() -> None:
    prepare, counts = service(Settings())
    body = "Loadings resumed at the Port Ellis grain terminal on Tuesday after a gale."
    key, value = prepare.envelope(raw(json.dumps({"id": "a1", "body": body}).encode()))
    assert key == b"a1" and value[0] == PREPARED_V1  # binary, not the JSON envelope
    read = decode_prepared(value)
    assert read.article is not None and read.article.id == "a1"
    assert read.shingles is not None and read.shingles.size > 0
    assert counts.prepared == [True]
