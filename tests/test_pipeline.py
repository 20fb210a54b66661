"""Pipeline.process: one outcome per input, precise dead letters, stable article records."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from streamer.config import Settings
from streamer.faults import Faults
from streamer.models import Outcome, PreparedEnvelope, RawArticle, SourceInfo
from streamer.pipeline import Pipeline, Preparer
from streamer.records import (
    HEADER_OFFSET,
    HEADER_PARTITION,
    HEADER_TOPIC,
    InputRecord,
    Result,
    from_wire,
    to_wire,
)

FIXED_NOW = datetime(2024, 5, 20, 12, 0, tzinfo=UTC)

BODY_A = (
    "PORT ELLIS, May 14 - Loadings resumed at the Port Ellis grain terminal on Tuesday "
    "after a two-day halt caused by gale-force winds that damaged a conveyor gantry, the "
    "terminal operator Ellis Bulk Handling said.\n\nThree vessels waiting in the roads were "
    "expected to berth by Wednesday evening, and the operator said it would run extra shifts "
    "to clear a backlog of about 140,000 tonnes of wheat and barley.\n\nExporters said the "
    "delay had pushed some May shipments into early June, adding 2 to 3 dlrs a tonne to "
    "nearby freight offers. The port handles roughly a fifth of the region's grain exports."
)
BODY_B = (
    "NORVALE CITY, May 14 - The Norvale central bank left its benchmark lending rate "
    "unchanged at 4.25 pct on Tuesday, saying inflation was easing more slowly than it had "
    "forecast in March.\n\nGovernor Helena Marsh told reporters the board had discussed a cut "
    "of 25 basis points but judged that services prices remained too firm. Consumer prices "
    "rose 3.4 pct in the year to April, down from 3.7 pct in March.\n\nThe decision was "
    "expected by 18 of 22 economists polled last week."
)


def clock() -> datetime:
    return FIXED_NOW


def article(id_: str, body: str = BODY_A, **fields: Any) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": id_,
        "title": "Grain terminal resumes loadings after storm",
        "body": body,
        "url": f"https://wire.example/news/{id_}",
        "source": "wire.example",
        "published_at": "2024-05-14T06:05:00Z",
        "language": "en",
    }
    out.update(fields)
    return out


def rec(obj: Any, **coords: Any) -> InputRecord:
    value = obj if isinstance(obj, bytes) or obj is None else json.dumps(obj).encode()
    return InputRecord(value=value, **coords)


def run(*records: InputRecord, s: Settings | None = None) -> list[Result]:
    s = s or Settings()
    preparer = Faults(s.testing).preparer(s, clock)
    return Pipeline(s, clock=clock, preparer=preparer).process(list(records))


def one(record: InputRecord, s: Settings | None = None) -> tuple[Result, dict[str, Any]]:
    (result,) = run(record, s=s)
    return result, json.loads(result.value)


# -- the three outcomes ----------------------------------------------------------------------


def test_clean_duplicate_and_deadletter() -> None:
    results = run(
        rec(article("a1")),
        rec(article("a2", url="https://mirror.example/x")),  # exact re-send
        rec(b"{not json"),
        rec(article("b1", body=BODY_B, title="Norvale central bank holds rate")),
    )
    assert [r.outcome for r in results] == [
        Outcome.CLEAN,
        Outcome.DUPLICATE,
        Outcome.DEADLETTER,
        Outcome.CLEAN,
    ]
    dup = json.loads(results[1].value)
    assert dup["duplicate_of"] == "a1"
    assert dup["cluster_id"] == "a1"
    assert dup["similarity"] == 1.0


# -- dead letters ------------------------------------------------------------------------------

BAD_INPUTS: list[tuple[str, bytes | None, str, str]] = [
    ("empty bytes", b"", "empty_value", "empty"),
    ("none", None, "empty_value", "empty"),
    ("invalid json", b"{not json", "invalid_json", "not JSON"),
    ("truncated json", b'{"id": "x", "body": "abc', "invalid_json", "not JSON"),
    ("whitespace only", b"   ", "invalid_json", "not JSON"),
    ("list", b'[{"id": "x", "body": "y"}]', "not_an_object", "list"),
    ("string", b'"hello"', "not_an_object", "str"),
    ("number", b"42", "not_an_object", "int"),
    ("float", b"4.5", "not_an_object", "float"),
    ("null", b"null", "not_an_object", "NoneType"),
    ("missing id", b'{"body": "some text here"}', "validation_error", "id"),
    ("empty id", b'{"id": "", "body": "some text here"}', "validation_error", "id"),
    ("blank id", b'{"id": "  ", "body": "some text here"}', "validation_error", "id is blank"),
    ("int id", b'{"id": 42, "body": "some text here"}', "validation_error", "id"),
    ("int body", b'{"id": "x", "body": 42}', "validation_error", "body"),
    ("list title", b'{"id": "x", "title": [], "body": "text"}', "validation_error", "title"),
    ("int url", b'{"id": "x", "url": 5, "body": "text"}', "validation_error", "url"),
    (
        "list published_at",
        b'{"id": "x", "published_at": [1], "body": "t"}',
        "validation_error",
        "published_at",
    ),
    ("no body no html", b'{"id": "x", "title": "only a title"}', "no_text", "no text"),
    ("blank body", b'{"id": "x", "body": "  \\n\\t "}', "no_text", "no text"),
    ("blank body and html", b'{"id": "x", "body": " ", "html": " "}', "no_text", "no text"),
    ("null body", b'{"id": "x", "body": null}', "no_text", "no text"),
    (
        "markup only html",
        b'{"id": "x", "html": "<html><head><style>p{color:red}</style></head>'
        b'<body><div><br/><script>var a = 1;</script></div></body></html>"}',
        "no_text",
        "no text",
    ),
    (
        "script only html with title",
        b'{"id": "x", "title": "Headline", "html": "<script>document.write(1)</script>"}',
        "no_text",
        "no text",
    ),
]


@pytest.mark.parametrize(
    ("value", "reason", "needle"),
    [case[1:] for case in BAD_INPUTS],
    ids=[case[0] for case in BAD_INPUTS],
)
def test_bad_input_gives_precise_dead_letter(value: bytes | None, reason: str, needle: str) -> None:
    result, letter = one(rec(value, topic="news.raw", partition=2, offset=77))
    assert result.outcome is Outcome.DEADLETTER
    assert letter["error"]["type"] == reason
    assert result.error is not None and result.error.type == reason
    assert needle in letter["error"]["message"]
    assert letter["raw"] == (value or b"").decode("utf-8")
    assert letter["raw_encoding"] == "utf-8"
    assert letter["raw_size"] == len(value or b"")
    assert letter["raw_truncated"] is False


def test_not_utf8_is_base64_and_recoverable() -> None:
    value = b'{"id": "x", "body": "caf\xe9 \xff\xfe"}'
    result, letter = one(rec(value))
    assert result.outcome is Outcome.DEADLETTER
    assert letter["error"]["type"] == "not_utf8"
    assert letter["raw_encoding"] == "base64"
    assert base64.b64decode(letter["raw"]) == value
    assert letter["raw_size"] == len(value)


def test_too_large_is_truncated_to_the_dead_letter_cap() -> None:
    s = Settings()
    body = "word " * (950_000 // 5)
    value = json.dumps(article("huge", body=body)).encode()
    assert len(value) > s.limits.max_message_bytes
    _, letter = one(rec(value), s=s)
    assert letter["error"]["type"] == "too_large"
    assert letter["raw_truncated"] is True
    assert letter["raw_size"] == len(value)
    assert letter["raw_encoding"] == "utf-8"
    assert len(letter["raw"].encode()) == s.limits.deadletter_raw_bytes
    assert value.startswith(letter["raw"].encode())


def test_truncation_never_splits_a_character() -> None:
    s = Settings.model_validate({"limits": {"max_message_bytes": 100, "deadletter_raw_bytes": 21}})
    value = json.dumps({"id": "x", "body": "é" * 200}, ensure_ascii=False).encode()
    _, letter = one(rec(value), s=s)
    assert letter["error"]["type"] == "too_large"
    assert letter["raw_truncated"] is True
    raw = letter["raw"].encode()
    assert len(raw) <= 21 and value.startswith(raw)


def test_dead_letter_carries_coordinates_key_and_failed_at() -> None:
    record = InputRecord(
        value=b"[]", key=b"k-1", topic="news.raw", partition=3, offset=1234, timestamp_ms=5
    )
    result, letter = one(record)
    assert (letter["topic"], letter["partition"], letter["offset"]) == ("news.raw", 3, 1234)
    assert datetime.fromisoformat(letter["failed_at"]) == FIXED_NOW
    assert result.key == b"k-1"
    assert result.source is record
    assert letter["schema_version"] == 1


def test_dead_letter_without_coordinates_from_files() -> None:
    _, letter = one(InputRecord(value=b"null"))
    assert (letter["topic"], letter["partition"], letter["offset"]) == (None, None, None)


# -- valid input ----------------------------------------------------------------------------------


def test_unknown_fields_are_kept_and_not_rejected() -> None:
    data = article("x1", tags=["a", "b"], meta={"crawler": 7}, body=BODY_B)
    raw = RawArticle.model_validate(data)
    assert raw.extra == {"tags": ["a", "b"], "meta": {"crawler": 7}}
    assert raw.body == BODY_B
    result, _ = one(rec(data))
    assert result.outcome is Outcome.CLEAN


RECORD_FIELDS = {
    "id",
    "source",
    "url",
    "title",
    "text",
    "published_at",
    "ingested_at",
    "language",
    "content_hash",
    "cluster_id",
    "duplicate_of",
    "similarity",
    "schema_version",
}


def test_clean_record_fields() -> None:
    result, value = one(rec(article("a1"), topic="news.raw", partition=0, offset=9))
    assert result.outcome is Outcome.CLEAN
    assert set(value) >= RECORD_FIELDS
    assert value["id"] == "a1"
    assert result.key == b"a1"
    assert result.article_id == "a1"
    assert value["cluster_id"] == "a1"
    assert value["duplicate_of"] is None
    assert value["similarity"] is None
    assert value["schema_version"] == 1
    assert value["source"] == "wire.example"
    assert value["url"].startswith("https://wire.example/news/a1")
    assert value["language"] == "en"
    assert "Port Ellis grain terminal" in value["text"]
    assert value["title"]
    assert len(value["content_hash"]) == 32
    assert datetime.fromisoformat(value["published_at"]) == datetime(2024, 5, 14, 6, 5, tzinfo=UTC)
    assert value.get("date_fallback") is None


def test_duplicate_record_fields_and_key() -> None:
    near = BODY_A.replace("Three vessels", "Three large vessels") + " Nothing else changed."
    results = run(rec(article("a1")), rec(article("near-1", body=near, source="mirror")))
    assert [r.outcome for r in results] == [Outcome.CLEAN, Outcome.DUPLICATE]
    value = json.loads(results[1].value)
    assert set(value) >= RECORD_FIELDS
    assert results[1].key == b"near-1"
    assert value["id"] == "near-1"
    assert value["duplicate_of"] == "a1"
    assert value["cluster_id"] == "a1"
    assert 0.5 <= value["similarity"] < 1.0
    assert value["source"] == "mirror"


def test_cluster_id_is_first_seen_member() -> None:
    near = BODY_A.replace("Three vessels", "Three large vessels") + " Nothing else changed."
    results = run(
        rec(article("first")),
        rec(article("second", body=near)),
        rec(article("third", body=near)),  # exact copy of the second: still the first's cluster
        rec(article("fourth")),
    )
    values = [json.loads(r.value) for r in results]
    assert [v["cluster_id"] for v in values] == ["first"] * 4
    assert values[0]["duplicate_of"] is None
    assert all(v["duplicate_of"] is not None for v in values[1:])


def test_same_id_resent_is_a_duplicate_of_itself() -> None:
    results = run(rec(article("a1")), rec(article("a1", body=BODY_B)))
    assert [r.outcome for r in results] == [Outcome.CLEAN, Outcome.DUPLICATE]
    value = json.loads(results[1].value)
    assert value["duplicate_of"] == "a1"
    assert value["match"]["kind"] == "same_id"


def test_ingest_time_from_record_timestamp_is_deterministic() -> None:
    ts_ms = 1_715_670_000_123
    record = rec(article("a1"), topic="t", partition=0, offset=0, timestamp_ms=ts_ms)
    out1 = Pipeline(Settings(), clock=lambda: FIXED_NOW).process([record])
    out2 = Pipeline(Settings(), clock=lambda: FIXED_NOW + timedelta(days=3)).process([record])
    assert out1[0].value == out2[0].value
    value = json.loads(out1[0].value)
    assert datetime.fromisoformat(value["ingested_at"]) == datetime.fromtimestamp(ts_ms / 1000, UTC)


def test_ingest_time_falls_back_to_clock() -> None:
    _, value = one(rec(article("a1")))
    assert datetime.fromisoformat(value["ingested_at"]) == FIXED_NOW


def test_missing_published_at_falls_back_to_ingest_time() -> None:
    data = article("a1")
    del data["published_at"]
    ts_ms = 1_715_670_000_000
    _, value = one(rec(data, timestamp_ms=ts_ms))
    assert value["date_fallback"] == "missing"
    assert value["published_at"] == value["ingested_at"]
    assert datetime.fromisoformat(value["published_at"]) == datetime.fromtimestamp(
        ts_ms / 1000, UTC
    )


def test_unparseable_published_at_falls_back() -> None:
    _, value = one(rec(article("a1", published_at="not a date at all")))
    assert value["date_fallback"] == "unparseable"
    assert datetime.fromisoformat(value["published_at"]) == FIXED_NOW


def test_poison_record_is_processing_error_and_next_records_proceed() -> None:
    s = Settings.model_validate({"testing": {"fail_on_id": "poison"}})
    results = run(
        rec(article("a1")),
        rec(article("poison", body=BODY_B), topic="news.raw", partition=1, offset=5),
        rec(article("b1", body=BODY_B)),
        rec(article("a2")),
        s=s,
    )
    assert [r.outcome for r in results] == [
        Outcome.CLEAN,
        Outcome.DEADLETTER,
        Outcome.CLEAN,
        Outcome.DUPLICATE,
    ]
    letter = json.loads(results[1].value)
    assert letter["error"]["type"] == "processing_error"
    assert "poison" in letter["error"]["message"]
    assert (letter["topic"], letter["partition"], letter["offset"]) == ("news.raw", 1, 5)
    # the poison record was never indexed, so b1 (same text) is clean
    assert json.loads(results[2].value)["id"] == "b1"


def test_headers_name_the_input_when_topic_is_set() -> None:
    results = run(
        rec(article("a1"), topic="news.raw", partition=4, offset=99),
        rec(b"[]", topic="news.raw", partition=4, offset=100),
        rec(article("b1", body=BODY_B)),
    )
    assert results[0].headers() == [
        (HEADER_TOPIC, b"news.raw"),
        (HEADER_PARTITION, b"4"),
        (HEADER_OFFSET, b"99"),
    ]
    assert dict(results[1].headers())[HEADER_OFFSET] == b"100"
    assert results[2].headers() == []


def test_results_in_input_order_one_per_input() -> None:
    records = [
        rec(b"", offset=0),
        rec(article("a1"), offset=1),
        rec(b"[]", offset=2),
        rec(article("a2"), offset=3),
        rec(article("b1", body=BODY_B), offset=4),
        rec(None, offset=5),
    ]
    results = run(*records)
    assert len(results) == len(records)
    assert [r.source.offset for r in results] == [0, 1, 2, 3, 4, 5]
    assert [r.outcome.value for r in results] == [
        "deadletter",
        "clean",
        "deadletter",
        "duplicate",
        "clean",
        "deadletter",
    ]


# -- property: never raises, always one of three outcomes ----------------------------------------

_json_scalars = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=30)
)
_fields = st.sampled_from(["id", "title", "body", "html", "url", "source", "published_at", "x"])
_objects = st.dictionaries(_fields, _json_scalars, max_size=8).map(lambda d: json.dumps(d).encode())
_values = st.one_of(st.none(), st.binary(max_size=200), _objects)

_PIPELINE = Pipeline(Settings(), clock=clock)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_values, max_size=8))
def test_property_one_result_per_input(values: list[bytes | None]) -> None:
    records = [InputRecord(value=v, offset=i) for i, v in enumerate(values)]
    results = _PIPELINE.process(records)
    assert len(results) == len(records)
    for record, result in zip(records, results, strict=True):
        assert result.source is record
        assert result.outcome in (Outcome.CLEAN, Outcome.DUPLICATE, Outcome.DEADLETTER)
        parsed = json.loads(result.value)
        if result.outcome is Outcome.DEADLETTER:
            assert parsed["error"]["type"] != "processing_error", parsed["error"]
        else:
            assert parsed["id"] == result.article_id


def test_text_that_grows_past_the_output_limit_is_a_dead_letter_not_a_crash() -> None:
    """NFKC turns U+FDFA into 18 characters: 300 KB in would be ~3 MB out, more than
    a producer may send, and every retry would fail the same way."""
    body = "\ufdfa " * 100_000
    value = json.dumps({"id": "grows", "body": body}, ensure_ascii=False).encode()
    assert len(value) < Settings().limits.max_message_bytes
    (result,) = Pipeline(Settings()).process([InputRecord(value=value)])
    assert result.outcome is Outcome.DEADLETTER
    assert result.error is not None and result.error.type == "too_large"
    assert "output limit" in result.error.message


# -- the news.prepared wire form --------------------------------------------------------------


def test_prepared_wire_form_round_trips_arrays_as_base64() -> None:
    source = rec(article("w1"), topic="news.raw", partition=0, offset=5)
    prepared = Preparer(Settings(), clock=clock).prepare(source)
    envelope = PreparedEnvelope(
        source=SourceInfo(topic="news.raw", partition=0, offset=5), article=to_wire(prepared)
    )
    wire = json.loads(envelope.model_dump_json())
    # Base64 strings, not arrays of numbers: the ordered writer parses every record.
    assert isinstance(wire["article"]["shingles"], str)
    assert isinstance(wire["article"]["signature"], str)
    parsed = PreparedEnvelope.model_validate_json(envelope.model_dump_json())
    assert parsed.article is not None
    back = from_wire(parsed.article, source)
    assert back.entry.shingles.dtype == np.uint32 and back.entry.signature.dtype == np.uint32
    assert np.array_equal(back.entry.shingles, prepared.entry.shingles)
    assert np.array_equal(back.entry.signature, prepared.entry.signature)


def test_prepared_wire_form_still_reads_lists_from_older_replicas() -> None:
    source = rec(article("w2"), topic="news.raw", partition=0, offset=6)
    prepared = Preparer(Settings(), clock=clock).prepare(source)
    wire = json.loads(
        PreparedEnvelope(
            source=SourceInfo(topic="news.raw", partition=0, offset=6), article=to_wire(prepared)
        ).model_dump_json()
    )
    wire["article"]["shingles"] = prepared.entry.shingles.tolist()
    wire["article"]["signature"] = prepared.entry.signature.tolist()
    env = PreparedEnvelope.model_validate_json(json.dumps(wire))
    assert env.article is not None
    back = from_wire(env.article, source)
    assert np.array_equal(back.entry.shingles, prepared.entry.shingles)
    assert np.array_equal(back.entry.signature, prepared.entry.signature)


def test_prepared_wire_form_rejects_a_torn_array() -> None:
    source = rec(article("w3"), topic="news.raw", partition=0, offset=7)
    prepared = Preparer(Settings(), clock=clock).prepare(source)
    torn = to_wire(prepared).model_copy(update={"shingles": b"\x01\x02\x03"})
    with pytest.raises(ValueError, match="whole number of uint32"):
        from_wire(torn, source)
