"""Untrusted ids, sizes and JSON: every record gets an outcome that can be produced.

No output (a clean or duplicate record with its key and headers, the journal
entry it causes, a dead letter) may exceed what the producer sends: it would fail
on every retry and stop the partition for good.
"""

from __future__ import annotations

import json
import random
import string
from datetime import UTC, datetime
from typing import Any

import pytest

from streamer.config import Settings
from streamer.dedup import journal
from streamer.models import Outcome
from streamer.pipeline import Pipeline
from streamer.records import InputRecord, Result, dead_letter, loads_json, record_size

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
BODY = (
    "PORT ELLIS, May 14 - Loadings resumed at the Port Ellis grain terminal on Tuesday "
    "after a two-day halt caused by gale-force winds that damaged a conveyor gantry."
)


def settings(**limits: Any) -> Settings:
    kafka = {k: limits.pop(k) for k in list(limits) if k.startswith("producer_")}
    return Settings.model_validate({"limits": limits, "kafka": kafka})


def rec(value: bytes | None, key: bytes | None = None, offset: int = 0) -> InputRecord:
    return InputRecord(value=value, key=key, topic="news.raw", partition=0, offset=offset)


def run(s: Settings, *records: InputRecord) -> list[Result]:
    return Pipeline(s, clock=lambda: NOW).process(list(records))


def fits(result: Result, s: Settings) -> bool:
    return record_size(result.key, result.value, result.headers()) <= (
        s.kafka.producer_max_request_size
    )


def error_of(result: Result) -> tuple[str, str]:
    assert result.outcome is Outcome.DEADLETTER and result.error is not None
    return result.error.type, result.error.message


# -- ids ----------------------------------------------------------------------------------------


def test_an_id_over_its_limit_is_a_validation_error_naming_it() -> None:
    s = Settings()
    long_id = "x" * 360_000  # the report's 360 KB id: input under the message limit
    (result,) = run(s, rec(json.dumps({"id": long_id, "body": BODY}).encode()))
    reason, message = error_of(result)
    assert reason == "validation_error"
    assert message.startswith("id: 360000 bytes; the limit is 1024 (limits.max_id_bytes)")
    assert fits(result, s)
    ok_id = "é" * 512  # 1,024 bytes: at the limit
    (result,) = run(s, rec(json.dumps({"id": ok_id, "body": BODY}).encode()))
    assert result.outcome is Outcome.CLEAN


@pytest.mark.parametrize(
    ("field", "value", "char"),
    [
        ("id", "abc\x00def", "U+0000"),
        ("id", "line\nbreak", "U+000A"),
        ("id", "del\x7f", "U+007F"),
        ("id", "c1\x85", "U+0085"),
        ("source", "wire\x00.example", "U+0000"),
        ("source", "tab\tsource", "U+0009"),
    ],
)
def test_control_characters_in_id_or_source_are_validation_errors(
    field: str, value: str, char: str
) -> None:
    obj = {"id": "a1", "body": BODY, field: value}
    (result,) = run(Settings(), rec(json.dumps(obj).encode()))
    reason, message = error_of(result)
    assert reason == "validation_error"
    assert message.startswith(f"{field}: ") and char in message


def test_ids_with_other_unicode_are_kept_as_sent() -> None:
    article_id = "ünïcode-ид-記事 with spaces"
    (result,) = run(Settings(), rec(json.dumps({"id": article_id, "body": BODY}).encode()))
    assert result.outcome is Outcome.CLEAN and result.key == article_id.encode()


# -- outputs the producer would refuse -------------------------------------------------------


def distinct_words(n: int, seed: int = 7) -> str:
    """``n`` two-letter words in random order: nearly every 3-shingle distinct."""
    rng = random.Random(seed)
    letters = string.ascii_lowercase
    return " ".join(rng.choice(letters) + rng.choice(letters) for _ in range(n))


def test_a_record_too_large_for_the_producer_is_a_dead_letter_and_not_indexed() -> None:
    s = settings(producer_max_request_size=64 * 1024, max_message_bytes=200_000)
    big = {"id": "big", "title": "t", "body": "word " * 20_000}  # 100 KB of text
    results = run(s, rec(json.dumps(big).encode()), rec(json.dumps(big).encode(), offset=1))
    for result in results:
        reason, message = error_of(result)
        assert reason == "too_large"
        assert "the clean record with its key and headers is" in message
        assert "(kafka.producer_max_request_size) is 65536" in message
        assert fits(result, s)


def test_a_journal_entry_too_large_for_the_producer_is_a_dead_letter() -> None:
    """Text of distinct shingles: the record fits, its journal entry (the shingles) does not."""
    s = settings(producer_max_request_size=130_000, max_message_bytes=200_000)
    obj = {"id": "shingles", "body": distinct_words(30_000)}  # 90 KB; 160 KB of shingles
    pipe = Pipeline(s, clock=lambda: NOW)
    (result,) = pipe.process([rec(json.dumps(obj).encode())])
    reason, message = error_of(result)
    assert reason == "too_large" and "its journal entry with its key is" in message
    assert len(pipe.index) == 0  # nothing was indexed: a replay decides it the same way
    (ok,) = pipe.process([rec(json.dumps({"id": "ok", "body": BODY}).encode(), offset=1)])
    assert ok.outcome is Outcome.CLEAN and ok.journal is not None
    size = record_size(journal.article_key("ok"), ok.journal) + journal.OUTPUT_POSITION_BYTES
    assert size <= s.kafka.producer_max_request_size


def distinct_numbers(n: int) -> str:
    """``n`` distinct numbers: each a shingle and a fact, both in the journal entry."""
    return " ".join(str(100_000 + 7 * i) for i in range(n))


def test_at_default_limits_a_journal_entry_over_the_limit_is_a_dead_letter() -> None:
    """An input under the message limit whose journal entry (shingles and the numbers the
    guards compare) outgrows the producer's: it failed at the journal step, every restart."""
    s = Settings()
    value = json.dumps({"id": "numbers", "body": distinct_numbers(74_500)}).encode()
    assert len(value) < s.limits.max_message_bytes
    (result,) = run(s, rec(value))
    reason, message = error_of(result)
    assert reason == "too_large" and "its journal entry with its key is" in message
    assert fits(result, s)
    (smaller,) = run(s, rec(json.dumps({"id": "n", "body": distinct_numbers(60_000)}).encode()))
    assert smaller.outcome is Outcome.CLEAN and smaller.journal is not None
    assert record_size(b"n", smaller.journal) + journal.OUTPUT_POSITION_BYTES <= (
        s.kafka.producer_max_request_size
    )


def test_a_dead_letter_cuts_its_key_then_its_raw_input_to_fit() -> None:
    s = settings(producer_max_request_size=100_000, deadletter_raw_bytes=400_000)
    raw = b'{"id": "' + b"\x01" * 300_000 + b'"'  # not JSON; control bytes escape 6-fold
    letter = dead_letter(rec(raw, key=b"k" * 500_000), "invalid_json", "x", s, NOW)
    assert fits(letter, s)
    value = json.loads(letter.value)
    assert value["key_truncated"] is True and letter.key == b"k" * 1024
    assert value["raw_truncated"] is True and value["raw_size"] == len(raw)
    assert 0 < len(value["raw"]) < 20_000
    small = dead_letter(rec(b"{bad", key=b"key-1"), "invalid_json", "x", s, NOW)
    assert json.loads(small.value)["key_truncated"] is False and small.key == b"key-1"
    assert json.loads(small.value)["raw"] == "{bad"


def test_a_dead_letter_for_a_huge_key_and_value_fits_at_default_limits() -> None:
    s = Settings()
    (result,) = run(s, rec(b"[" + b"1," * 200_000 + b"1]", key=b"\xff" * 900_000))
    assert error_of(result)[0] == "not_an_object"
    assert fits(result, s)


# -- JSON numbers -----------------------------------------------------------------------------


def test_a_huge_number_in_an_unknown_field_is_kept_as_its_digits() -> None:
    digits = "1" * 100_000
    value = b'{"id": "a1", "body": "' + BODY.encode() + b'", "views": ' + digits.encode() + b"}"
    (result,) = run(Settings(), rec(value))
    assert result.outcome is Outcome.CLEAN
    data = loads_json(value)
    assert data["views"] == digits


def test_numbers_read_as_orjson_reads_them_on_the_slow_path() -> None:
    value = b'{"a": 1e400, "b": 12, "c": 18446744073709551615, "d": 2.5, "e": -7, "f": 1e3}'
    data = loads_json(value)
    assert data == {"a": "1e400", "b": 12, "c": 18446744073709551615, "d": 2.5, "e": -7, "f": 1e3}


def test_a_huge_number_as_published_at_is_unparseable() -> None:
    value = b'{"id": "a1", "body": "' + BODY.encode() + b'", "published_at": 1' + b"0" * 400 + b"}"
    (result,) = run(Settings(), rec(value))
    assert json.loads(result.value)["date_fallback"] == "unparseable"


@pytest.mark.parametrize(
    "value",
    [
        b'{"id": "a", "n": 1e400, "body": "\\ud800"}',  # a lone surrogate behind the number
        b'{"id": "a", "n": 1e400, "body": NaN}',
        b'{"id": "a", "n": 1e400, "body": "x"',
        b'{"id": "a", "n": 1e400, "x": ' + b"[" * 5000 + b"]" * 5000 + b"}",
    ],
)
def test_what_orjson_refuses_for_other_reasons_stays_invalid_json(value: bytes) -> None:
    (result,) = run(Settings(), rec(value))
    reason, message = error_of(result)
    assert reason == "invalid_json" and message.startswith("value is not JSON: number is infinity")
