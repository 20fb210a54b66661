"""Every record that crosses a topic or a file boundary, as a pydantic model.

Input validation is strict on purpose: a crawler that sends ``"body": 42`` has a
bug, and coercing it to ``"42"`` would hide it. Unknown input fields are kept in
``extra`` rather than rejected, because feeds grow fields faster than we do.
"""

from __future__ import annotations

import re
from datetime import datetime
from enum import StrEnum
from typing import Any, Literal

import orjson
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictFloat,
    StrictInt,
    StrictStr,
    field_validator,
    model_validator,
)

from streamer import SCHEMA_VERSION

# What pydantic's JSON does, in orjson's terms: UTC as ``Z``, numpy floats (the index's
# measures) as floats. Checked byte for byte against ``model_dump_json`` in the tests.
_JSON_OPTIONS = orjson.OPT_UTC_Z | orjson.OPT_SERIALIZE_NUMPY


def _nested(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return value.model_dump()
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def record_json(
    model: type[BaseModel], values: dict[str, Any], exclude: frozenset[str] = frozenset()
) -> bytes:
    """``model.model_construct(**values).model_dump_json(exclude=exclude)``, byte for byte.

    The one ordered writer writes an output record and a journal entry for every
    article; built as a model and dumped by pydantic they cost it more than
    building a dict and dumping it with orjson (x3.5 measured on the record). The
    values are trusted, typed already (as for ``model_construct``): this only
    serializes, in the model's field order, nested models by their fields. A field
    left out is a KeyError, not a record without it.
    """
    fields = {name: values[name] for name in model.model_fields if name not in exclude}
    return orjson.dumps(fields, default=_nested, option=_JSON_OPTIONS)


class Outcome(StrEnum):
    CLEAN = "clean"
    DUPLICATE = "duplicate"
    DEADLETTER = "deadletter"


# C0, DEL and C1: in an id or a source label they break keys, logs and consumers, and an
# id that differs from another only by an invisible NUL is not a distinct article.
_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def _no_control(name: str, value: str | None) -> None:
    if value is None:
        return
    found = _CONTROL_RE.search(value)
    if found is not None:
        raise ValueError(
            f"{name} contains control character U+{ord(found.group()):04X} at {found.start()}"
        )


class RawArticle(BaseModel):
    """An article as producers send it to ``news.raw``.

    ``id`` and ``source`` are labels, kept as sent: they may hold no control
    characters (rejected, not stripped: a changed id would be another article).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: StrictStr = Field(min_length=1)
    title: StrictStr | None = None
    body: StrictStr | None = None
    html: StrictStr | None = None
    url: StrictStr | None = None
    source: StrictStr | None = None
    published_at: StrictStr | StrictInt | StrictFloat | None = None
    language: StrictStr | None = None
    extra: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _collect_extra(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        known = set(cls.model_fields) - {"extra"}
        extra = {k: v for k, v in data.items() if k not in known}
        if not extra:
            return data
        kept = {k: v for k, v in data.items() if k in known}
        kept["extra"] = extra
        return kept

    @field_validator("id")
    @classmethod
    def _id_is_a_label(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("id is blank")
        _no_control("id", value)
        return value

    @field_validator("source")
    @classmethod
    def _source_is_a_label(cls, value: str | None) -> str | None:
        _no_control("source", value)
        return value


class MatchInfo(BaseModel):
    """Why a record was judged a duplicate; downstream users audit merges with it."""

    model_config = ConfigDict(frozen=True)

    kind: Literal["exact", "near", "contained", "same_id"]
    jaccard: float | None = None
    containment: float | None = None
    guards: list[str] = Field(default_factory=list)
    # kind "contained" (a partial reuse, matched on containment alone): which article is
    # the part held in the other ("this" record, or its "duplicate_of"), and the share of
    # the part's shingles found in the whole.
    part: Literal["this", "duplicate_of"] | None = None
    share: float | None = None
    # kinds "near" and "contained": the cluster ids of other indexed articles this record
    # also matched (similar, and passing the guards) that sit in clusters other than its
    # ``cluster_id``, in candidate order (most shared LSH bands first), at most 4. A wire
    # story sent in takes makes one cluster per take; an article stitched from several
    # joins one and names the others here. Output only: it changes no decision, and no
    # cluster_id is ever rewritten.
    also: list[str] = Field(default_factory=list)


class NormalizedArticle(BaseModel):
    """The article as normalization leaves it: what every later record repeats."""

    model_config = ConfigDict(frozen=True)

    id: str
    source: str | None
    url: str | None
    title: str
    text: str
    published_at: datetime
    ingested_at: datetime
    date_fallback: str | None = None
    language: str | None
    content_hash: str


class ArticleRecord(NormalizedArticle):
    """The value written to ``news.clean`` and ``news.duplicates`` (key: ``id``)."""

    cluster_id: str
    duplicate_of: str | None = None
    similarity: float | None = None
    match: MatchInfo | None = None
    schema_version: int = SCHEMA_VERSION


class ErrorInfo(BaseModel):
    model_config = ConfigDict(frozen=True)

    type: str
    message: str


class DeadLetter(BaseModel):
    """The value written to ``news.deadletter`` (key: the input's key).

    ``raw`` keeps the input so that it can be fixed and replayed; inputs larger
    than the dead-letter cap are truncated (``raw_truncated``) because a
    dead letter bigger than the broker's message limit would itself be lost.
    """

    model_config = ConfigDict(frozen=True)

    error: ErrorInfo
    topic: str | None
    partition: int | None
    offset: int | None
    raw: str
    raw_encoding: Literal["utf-8", "base64"] = "utf-8"
    raw_size: int
    raw_truncated: bool = False
    # The key is the input's (untrusted) key; cut only when the whole letter would not
    # fit the producer's limit otherwise.
    key_truncated: bool = False
    failed_at: datetime
    schema_version: int = SCHEMA_VERSION


class Facts(BaseModel):
    """What must agree between two texts before they may be merged."""

    model_config = ConfigDict(frozen=True)

    numbers: list[str] = Field(default_factory=list)
    entities: list[str] = Field(default_factory=list)


class PreparedFields(NormalizedArticle):
    """A prepared article's fields but its arrays: the head of a binary ``news.prepared``
    record (``PreparedHead``), whose arrays follow it as raw bytes."""

    n_tokens: int
    facts: Facts
    schema_version: int = SCHEMA_VERSION


class PreparedArticle(PreparedFields):
    """A validated, normalized and fingerprinted article: all the stateless work done.

    It is what ``prepare`` publishes to ``news.prepared`` and what the dedup
    decision consumes, so that the expensive part can run on many machines while
    the decision stays with one ordered writer. On the topic it now travels as a
    binary record (``records.encode_prepared``); this JSON form, in a
    ``PreparedEnvelope``, is what older prepare replicas sent and is still read.
    """

    # Shingle hashes and signature as little-endian uint32 bytes, base64 in JSON:
    # the one ordered writer parses every prepared record, and a 300-number JSON
    # array cost it more than the decision itself (66 us against 18 us an article,
    # and a quarter more bytes). Lists are still read, from older prepare replicas.
    model_config = ConfigDict(ser_json_bytes="base64", val_json_bytes="base64")

    shingles: bytes | list[int]
    signature: bytes | list[int]


class Coordinates(BaseModel):
    """Where a record sits in Kafka."""

    model_config = ConfigDict(frozen=True)

    topic: str
    partition: int
    offset: int


class JournalEntry(BaseModel):
    """One indexed article in the changelog (key: article id; a tombstone evicts it).

    It carries what the index needs to rebuild itself (the shingle set; the
    signature is recomputed from it) and where the input and output were, so a
    recovery never republishes what a journaled batch already published.
    """

    model_config = ConfigDict(frozen=True)

    id: str
    cluster_id: str
    ts: float
    content_hash: str
    n_tokens: int
    shingles_b64: str
    numbers: list[str]
    entities: list[str]
    outcome: Outcome
    input: Coordinates | None = None
    output: Coordinates | None = None
    # Set when ``ts`` is not the article's publication time but the time the decision
    # gave it (``date_fallback`` of the output): such a time never moves the window's
    # clock, on replay as live. Absent in entries written before it existed.
    date_fallback: str | None = None
    # A long article's lead window rows (``dedup.passages.with_lead``), little-endian
    # uint32 in base64: the first rows of its signature, which the shingle set alone
    # cannot give back. Absent for short articles and in entries written before it.
    lead_b64: str | None = None
    schema_version: int = SCHEMA_VERSION


class Checkpoint(BaseModel):
    """Progress of one input partition, written after each batch's entries.

    Kafka orders a partition, so a checkpoint in the journal proves every entry
    before it is there too. ``outputs`` are the next offsets past what this
    instance had published when it wrote the checkpoint: a recovery scans the
    output topics only from there (the one batch that may be published but not
    journaled). ``upstream`` is, for the ``dedup`` role, the highest raw offset
    decided per raw partition, so replays by a restarted ``prepare`` are dropped.
    """

    model_config = ConfigDict(frozen=True)

    topic: str
    partition: int
    next_offset: int
    outputs: dict[str, int] = Field(default_factory=dict)
    upstream: dict[str, int] = Field(default_factory=dict)
    written_at: datetime
    schema_version: int = SCHEMA_VERSION


class SourceInfo(BaseModel):
    """The raw input a prepared record came from (for headers and dead letters)."""

    model_config = ConfigDict(frozen=True)

    topic: str | None
    partition: int | None
    offset: int | None
    timestamp_ms: int | None = None


class PreparedHead(BaseModel):
    """The JSON head of a binary ``news.prepared`` record (``records.encode_prepared``):
    where the article came from and its fields; its arrays follow as raw bytes."""

    model_config = ConfigDict(frozen=True)

    source: SourceInfo
    article: PreparedFields


class PreparedEnvelope(BaseModel):
    """A ``news.prepared`` record: either a prepared article or a dead letter to publish.

    Dead letters travel through ``news.prepared`` too, so every output is
    emitted by the one ``dedup`` writer and so exactly once, even when a
    ``prepare`` replica is restarted and replays its last batch.
    """

    model_config = ConfigDict(frozen=True)

    source: SourceInfo
    article: PreparedArticle | None = None
    deadletter: DeadLetter | None = None
