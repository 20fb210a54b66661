"""What travels with a record between the stages: one shape for each idea.

A record's position, the headers that name its input on every output, the
"topic/partition" keys of checkpoints and the uint32 arrays of prepared records
and journal entries each have exactly one encoding, and it is written and read
here. The adapters (Kafka, files) build ``InputRecord``s; the pipeline returns
one ``Result`` per input. Nothing here does I/O. (A little over 400 lines: every
encoding lives here, the binary ``news.prepared`` record with the rest.)
"""

from __future__ import annotations

import base64
import json
import math
import struct
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np
import orjson

from streamer.config import Settings
from streamer.dedup.entry import IndexEntry
from streamer.dedup.index import Decision
from streamer.models import (
    Coordinates,
    DeadLetter,
    ErrorInfo,
    Outcome,
    PreparedArticle,
    PreparedEnvelope,
    PreparedFields,
    PreparedHead,
    SourceInfo,
)

HEADER_TOPIC = "input-topic"
HEADER_PARTITION = "input-partition"
HEADER_OFFSET = "input-offset"

Headers = list[tuple[str, bytes]]


# -- positions and headers ----------------------------------------------------------------------


def encode_headers(topic: str | None, partition: int | None, offset: int | None) -> Headers:
    """Headers that name an input on each of its outputs, so a tail scan can find it.

    Inputs without a position (files, memory) get none.
    """
    if topic is None:
        return []
    return [
        (HEADER_TOPIC, topic.encode()),
        (HEADER_PARTITION, str(partition).encode()),
        (HEADER_OFFSET, str(offset).encode()),
    ]


def parse_headers(headers: Headers | None) -> Coordinates | None:
    """The input an output names in its headers, or None if they do not name one."""
    found: dict[str, str] = {}
    for key, value in headers or ():
        if key in (HEADER_TOPIC, HEADER_PARTITION, HEADER_OFFSET) and key not in found:
            found[key] = value.decode("utf-8", errors="replace")
    if len(found) < 3:
        return None
    try:
        return Coordinates(
            topic=found[HEADER_TOPIC],
            partition=int(found[HEADER_PARTITION]),
            offset=int(found[HEADER_OFFSET]),
        )
    except ValueError:
        return None


def partition_key(topic: str, partition: int) -> str:
    """``topic/partition``: how checkpoints name a partition in their maps."""
    return f"{topic}/{partition}"


def parse_partition_key(key: str) -> tuple[str, int]:
    topic, _, part = key.rpartition("/")
    return topic, int(part)


# -- sizes and JSON -----------------------------------------------------------------------------

# What kafka-python's producer holds against ``max_request_size`` for one record is
# ``DefaultRecordBatchBuilder.estimate_size_in_bytes``: a 61-byte batch header, 21 bytes of
# record overhead, and the key, the value and each header after a varint length. Counting
# every varint at its widest (5 bytes) makes ``record_size`` an upper bound of it (and of
# the older formats' estimates, which are smaller).
_RECORD_OVERHEAD = 61 + 21
_VARINT = 5


def record_size(
    key: bytes | None, value: bytes | None, headers: Iterable[tuple[str, bytes]] = ()
) -> int:
    """At least what the producer will count for this record against its request limit."""
    size = _RECORD_OVERHEAD + 3 * _VARINT + len(key or b"") + len(value or b"")
    for name, data in headers:
        size += 2 * _VARINT + len(name.encode()) + len(data)
    return size


def _number(text: str) -> int | float | str:
    """A JSON number as orjson reads it (a 64-bit integer, else a double), or its text when
    no double holds it."""
    if len(text) <= 20 and "." not in text and "e" not in text and "E" not in text:
        value = int(text)
        if -(1 << 63) <= value < (1 << 64):
            return value
    number = float(text)
    return number if math.isfinite(number) else text


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def loads_json(value: bytes) -> Any:
    """A JSON document as Python values, or ``RecordError("invalid_json")``.

    orjson reads it, except where it refuses valid JSON: a number beyond a double's
    range ("number is infinity"). The record contract keeps unknown fields rather
    than rejecting them, so an article must not be lost to a 100,000-digit number
    in a field nothing reads; such a document is read again by the standard library,
    every number as orjson would have made it or, when no double holds it, as its
    digits (a string: a known field holding one then fails its own check, as
    ``published_at`` does with ``unparseable``). The standard library lets lone
    surrogates through, which orjson refuses and no later step could encode:
    ``orjson.dumps`` of the result refuses them again. The cost is linear in the
    input, and only invalid documents pay it.
    """
    try:
        return orjson.loads(value)
    except orjson.JSONDecodeError as exc:
        refused = exc
    try:
        data = json.loads(
            value.decode("utf-8"),
            parse_int=_number,
            parse_float=_number,
            parse_constant=_no_constant,
        )
        orjson.dumps(data)
    except (ValueError, TypeError, RecursionError, orjson.JSONEncodeError):
        raise RecordError("invalid_json", f"value is not JSON: {refused}") from refused
    return data


# -- uint32 arrays ------------------------------------------------------------------------------

_LE_U32 = np.dtype("<u4")


def u32_bytes(values: np.ndarray) -> bytes:
    """Little-endian uint32 bytes: the one wire form of shingle sets and signatures."""
    return np.asarray(values).astype(_LE_U32).tobytes()


def u32_array(value: bytes | list[int]) -> np.ndarray:
    """Back from ``u32_bytes`` (or a plain list of numbers, as older prepare replicas sent)."""
    if isinstance(value, bytes):
        if len(value) % 4:
            raise ValueError(f"{len(value)} bytes is not a whole number of uint32 values")
        return np.frombuffer(value, dtype=_LE_U32).astype(np.uint32)
    return np.asarray(value, dtype=np.uint32)


def u32_b64(values: np.ndarray) -> str:
    """``u32_bytes`` as base64 text, for JSON fields that are strings."""
    return base64.b64encode(u32_bytes(values)).decode("ascii")


def u32_from_b64(text: str) -> np.ndarray:
    return u32_array(base64.b64decode(text))


# -- records ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class InputRecord:
    """One input message, wherever it came from; coordinates are None for files."""

    value: bytes | None
    key: bytes | None = None
    topic: str | None = None
    partition: int | None = None
    offset: int | None = None
    timestamp_ms: int | None = None

    def headers(self) -> Headers:
        return encode_headers(self.topic, self.partition, self.offset)

    def coordinates(self) -> Coordinates | None:
        if self.topic is None or self.partition is None or self.offset is None:
            return None
        return Coordinates(topic=self.topic, partition=self.partition, offset=self.offset)


class RecordError(Exception):
    """Bad input with a stable machine-readable reason (the dead letter's ``error.type``)."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Prepared:
    """The stateless half's output: an article ready for the decision."""

    source: InputRecord
    article: PreparedFields
    entry: IndexEntry


@dataclass(frozen=True, slots=True)
class Result:
    """The one outcome of one input record."""

    source: InputRecord
    outcome: Outcome
    key: bytes | None
    value: bytes
    article_id: str | None = None
    decision: Decision | None = None
    error: ErrorInfo | None = None
    entry: IndexEntry | None = None
    evicted: list[str] = field(default_factory=list)
    seconds: float = 0.0
    # The journal value of ``entry`` but for its output position (``journal.entry_body``):
    # built and size-checked at the decision, completed when the output is acknowledged.
    journal: bytes | None = None

    def headers(self) -> Headers:
        return self.source.headers()

    def timed(self, seconds: float) -> Result:
        """This result taking ``seconds`` (``dataclasses.replace``, at a third of its cost)."""
        return Result(
            self.source, self.outcome, self.key, self.value, self.article_id, self.decision,
            self.error, self.entry, self.evicted, seconds, self.journal,
        )  # fmt: skip


# Kept free in a dead letter for what may wrap it: the ``news.prepared`` envelope's source
# and braces (a topic name of at most 249 characters and three numbers).
DEADLETTER_ROOM = 1024


def dead_letter(
    record: InputRecord, reason: str, message: str, settings: Settings, now: datetime
) -> Result:
    """A dead letter that keeps the input (capped) so it can be fixed and replayed.

    A dead letter the producer refuses would stop the partition for good, so the
    letter with its key and headers is kept within the producer's limit less
    ``DEADLETTER_ROOM``: the raw input is capped at ``limits.deadletter_raw_bytes``;
    when that is not enough, the (untrusted) key is cut to ``limits.max_id_bytes``,
    then the raw input halved until it fits.
    """
    raw = record.value or b""
    try:
        raw.decode("utf-8")
        is_text = True
    except UnicodeDecodeError:
        is_text = False
    error = ErrorInfo(type=reason, message=message[:2000])
    limit = settings.kafka.producer_max_request_size - DEADLETTER_ROOM
    headers = record.headers()
    key = record.key
    cap = settings.limits.deadletter_raw_bytes
    while True:
        kept = raw[:cap]
        if is_text:
            # A cut may split a multi-byte character at the end; drop only that.
            text, encoding = kept.decode("utf-8", errors="ignore"), "utf-8"
        else:
            text, encoding = base64.b64encode(kept).decode("ascii"), "base64"
        letter = DeadLetter(
            error=error,
            topic=record.topic,
            partition=record.partition,
            offset=record.offset,
            raw=text,
            raw_encoding=encoding,  # type: ignore[arg-type]
            raw_size=len(raw),
            raw_truncated=len(raw) > cap,
            key_truncated=key is not record.key,
            failed_at=now,
        )
        value = letter.model_dump_json().encode()
        if record_size(key, value, headers) <= limit:
            break
        if key is not None and len(key) > settings.limits.max_id_bytes:
            key = key[: settings.limits.max_id_bytes]
        elif cap > 0 and kept:
            cap = min(cap, len(kept)) // 2
        else:
            break  # nothing left to cut: the rest is bounded (a 2,000-character message)
    return Result(
        source=record,
        outcome=Outcome.DEADLETTER,
        key=key,
        value=value,
        error=error,
    )


# -- the news.prepared record -------------------------------------------------------------------

# A prepared article travels as a binary record: the version byte, the JSON head
# (``PreparedHead``: the source and every field but the arrays) after its uint32 length,
# then the shingles and the signature, each a uint32 count and that many little-endian
# uint32s, then the decision's query keys (``IndexEntry.with_query``: passage slots int64,
# checks uint16, token hashes uint64), each a uint32 byte count and its bytes; without them
# the one writer works them out from the text (133 us a record). The one ordered writer
# reads every record: arrays in JSON cost it more than a decision, raw runs a frombuffer.
# Dead letters (rare, all text) still travel as the JSON ``PreparedEnvelope``, as older
# replicas' articles did: JSON starts with ``{`` or blank, no version byte, so both read.
PREPARED_V1 = 1
_LENGTH = struct.Struct("<I")
_QUERY_DTYPES: tuple[np.dtype[Any], ...] = (np.dtype("<i8"), np.dtype("<u2"), np.dtype("<u8"))
_JSON_START = frozenset(b"{ \t\r\n")


@dataclass(frozen=True, slots=True)
class PreparedValue:
    """A ``news.prepared`` value read back: an article with its arrays, or a dead letter."""

    source: SourceInfo
    article: PreparedFields | None
    shingles: np.ndarray | None = None
    signature: np.ndarray | None = None
    deadletter: DeadLetter | None = None
    query: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None  # slots, checks, hashes


def encode_prepared(source: SourceInfo, prepared: Prepared) -> bytes:
    """The binary ``news.prepared`` value of a prepared article (see above).

    The head is serialized as ``PreparedFields``: pydantic writes a subclass in a
    field by the field's type, so a ``PreparedArticle``'s own arrays are not in it.
    """
    head = PreparedHead(source=source, article=prepared.article).model_dump_json().encode()
    parts = [bytes((PREPARED_V1,)), _LENGTH.pack(len(head)), head]
    entry = prepared.entry
    for run in (u32_bytes(entry.shingles), u32_bytes(entry.signature)):
        parts += (_LENGTH.pack(len(run) // 4), run)
    if entry.passages is not None and entry.token_hashes is not None:
        for array, dtype in zip((*entry.passages, entry.token_hashes), _QUERY_DTYPES, strict=True):
            raw = np.ascontiguousarray(array, dtype=dtype).tobytes()
            parts += (_LENGTH.pack(len(raw)), raw)
    return b"".join(parts)


def _u32_run(value: bytes, at: int) -> tuple[np.ndarray, int]:
    (count,) = _LENGTH.unpack_from(value, at)
    start, end = at + 4, at + 4 + 4 * count
    if end > len(value):
        raise ValueError(f"a run of {count} values past the end of the record")
    return np.frombuffer(value, dtype=_LE_U32, count=count, offset=start), end


def _query_runs(value: bytes, at: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    runs = []  # torn or padded runs are invalid_prepared, as a torn signature is
    for dtype in _QUERY_DTYPES:
        (size,) = _LENGTH.unpack_from(value, at)
        start, at = at + 4, at + 4 + size
        if at > len(value) or size % dtype.itemsize:
            raise ValueError(f"a query run of {size} bytes does not fit the record")
        runs.append(np.frombuffer(value, dtype=dtype, count=size // dtype.itemsize, offset=start))
    if at != len(value):
        raise ValueError(f"{len(value) - at} bytes past the query runs")
    return runs[0], runs[1], runs[2]


def decode_prepared(value: bytes | None) -> PreparedValue:
    """A ``news.prepared`` value, binary or JSON, or ``RecordError``: ``invalid_prepared``,
    or ``unsupported_version`` for a version byte this writer does not know (a newer
    prepare replica: the letter keeps the record, to replay once the writer reads it).

    The arrays come back read-only, over the value's own bytes.
    """
    if not value:
        raise RecordError("invalid_prepared", "empty news.prepared value")
    try:
        if value[0] == PREPARED_V1:
            (size,) = _LENGTH.unpack_from(value, 1)
            head = PreparedHead.model_validate_json(value[5 : 5 + size])
            shingles, at = _u32_run(value, 5 + size)
            signature, at = _u32_run(value, at)
            query = _query_runs(value, at) if at < len(value) else None
            return PreparedValue(head.source, head.article, shingles, signature, query=query)
        if value[0] in _JSON_START:
            env = PreparedEnvelope.model_validate_json(value)
            art = env.article
            if art is None:
                return PreparedValue(env.source, None, deadletter=env.deadletter)
            return PreparedValue(env.source, art, u32_array(art.shingles), u32_array(art.signature))
    except (ValueError, struct.error) as exc:  # pydantic's ValidationError is a ValueError
        raise RecordError("invalid_prepared", str(exc)) from exc
    raise RecordError(
        "unsupported_version",
        f"news.prepared record version {value[0]}: this writer reads version {PREPARED_V1} "
        "and JSON envelopes",
    )


def prepared_entry(
    article: PreparedFields, shingles: np.ndarray, signature: np.ndarray
) -> IndexEntry:
    """What the decision takes of a prepared article read from ``news.prepared``."""
    return IndexEntry(
        id=article.id,
        cluster_id=article.id,
        ts=article.published_at.timestamp(),
        content_hash=article.content_hash,
        shingles=shingles,
        signature=signature,
        numbers=frozenset(article.facts.numbers),
        entities=frozenset(article.facts.entities),
        n_tokens=article.n_tokens,
    )


def to_wire(prepared: Prepared) -> PreparedArticle:
    """The JSON form older replicas sent (``PreparedEnvelope.article``): arrays as bytes."""
    fields = {name: getattr(prepared.article, name) for name in PreparedFields.model_fields}
    return PreparedArticle.model_construct(
        **fields,
        shingles=u32_bytes(prepared.entry.shingles),
        signature=u32_bytes(prepared.entry.signature),
    )


def from_wire(article: PreparedArticle, source: InputRecord) -> Prepared:
    """A JSON ``news.prepared`` article back to what the decision takes."""
    entry = prepared_entry(article, u32_array(article.shingles), u32_array(article.signature))
    return Prepared(source=source, article=article, entry=entry)
