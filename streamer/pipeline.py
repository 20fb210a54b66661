"""One batch in, one outcome per record out: the only place that calls the stages in order.

The pipeline does not know where records come from. The Kafka adapter and the
file adapter both hand it ``InputRecord``s and publish the ``Result``s it
returns, which is what makes their decisions identical on the same order.

``prepare`` is a pure function of the record (safe to run anywhere, in any
number of processes); ``decide`` is the single stateful step and must see
records in input order.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import replace
from datetime import UTC, datetime

import orjson
from pydantic import ValidationError

from streamer import SCHEMA_VERSION
from streamer.config import Settings
from streamer.dedup.entry import IndexEntry
from streamer.dedup.index import DedupIndex
from streamer.models import (
    ArticleRecord,
    NormalizedArticle,
    Outcome,
    PreparedArticle,
    RawArticle,
)
from streamer.records import InputRecord, Prepared, RecordError, Result, dead_letter
from streamer.text.content import normalize_content
from streamer.text.dates import parse_published_at
from streamer.text.facts import extract_facts
from streamer.text.fingerprint import Fingerprinter, content_hash
from streamer.text.urls import canonical_url

Clock = Callable[[], datetime]

_NORMALIZED_FIELDS = tuple(NormalizedArticle.model_fields)


def utcnow() -> datetime:
    return datetime.now(UTC)


def _validation_message(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors(include_url=False):
        loc = ".".join(str(p) for p in err["loc"]) or "record"
        parts.append(f"{loc}: {err['msg']}")
    return "; ".join(parts)


def parse_raw(value: bytes | None, max_bytes: int) -> RawArticle:
    """Bytes to a validated ``RawArticle`` or a ``RecordError`` naming what is wrong."""
    if not value:
        raise RecordError("empty_value", "message value is empty")
    if len(value) > max_bytes:
        raise RecordError("too_large", f"message is {len(value)} bytes; the limit is {max_bytes}")
    try:
        value.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise RecordError("not_utf8", f"value is not UTF-8: {exc}") from exc
    try:
        data = orjson.loads(value)
    except orjson.JSONDecodeError as exc:
        raise RecordError("invalid_json", f"value is not JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise RecordError("not_an_object", f"JSON value is a {type(data).__name__}, not an object")
    try:
        raw = RawArticle.model_validate(data)
    except ValidationError as exc:
        raise RecordError("validation_error", _validation_message(exc)) from exc
    if not ((raw.body and raw.body.strip()) or (raw.html and raw.html.strip())):
        raise RecordError("no_text", "no text: body and html are both missing or blank")
    return raw


class Preparer:
    """The stateless half: validate, normalize, fingerprint. Safe to run in many processes."""

    def __init__(self, settings: Settings, clock: Clock = utcnow) -> None:
        self.settings = settings
        self.clock = clock
        d = settings.dedup
        self.fingerprinter = Fingerprinter(d.num_perm, d.seed, d.shingle_size)

    def prepare_one(self, record: InputRecord) -> Prepared | Result:
        """Prepare, turning every failure into that record's dead letter."""
        try:
            return self.prepare(record)
        except RecordError as exc:
            return dead_letter(record, exc.reason, str(exc), self.settings, self.clock())
        except Exception as exc:  # a poison record must not stop the partition
            return dead_letter(
                record,
                "processing_error",
                f"{type(exc).__name__}: {exc}",
                self.settings,
                self.clock(),
            )

    def prepare(self, record: InputRecord) -> Prepared:
        """Raises ``RecordError`` for bad input; any other exception is a poison record."""
        raw = parse_raw(record.value, self.settings.limits.max_message_bytes)
        now = self.clock()
        ingested_at = (
            datetime.fromtimestamp(record.timestamp_ms / 1000, UTC)
            if record.timestamp_ms is not None and record.timestamp_ms >= 0
            else now
        )
        norm = normalize_content(
            title=raw.title, body=raw.body, html=raw.html, language=raw.language
        )
        if not norm.text.strip():
            raise RecordError("no_text", "no text left after normalization (markup only?)")
        # Normalization can grow text (NFKC expands some characters up to 18-fold); an
        # output bigger than the producer may send would fail on every retry.
        out_bytes = len(orjson.dumps(norm.text)) + len(orjson.dumps(norm.title))
        if out_bytes > self.settings.limits.max_output_bytes:
            raise RecordError(
                "too_large",
                f"normalized article is {out_bytes} bytes; the output limit is "
                f"{self.settings.limits.max_output_bytes}",
            )
        published_at, date_fallback = parse_published_at(raw.published_at, now=ingested_at)
        body_tokens = norm.fp_body.split()
        tokens = norm.fp_title.split() + body_tokens  # (fp_title + " " + fp_body).split()
        shingles = self.fingerprinter.shingles(tokens)
        signature = self.fingerprinter.signature(shingles)
        facts = extract_facts(norm.title, norm.text, body_tokens)
        chash = content_hash(norm.fp_title + "\n" + norm.fp_body)
        article = PreparedArticle.model_construct(
            id=raw.id,
            source=raw.source,
            url=canonical_url(raw.url),
            title=norm.title,
            text=norm.text,
            published_at=published_at,
            ingested_at=ingested_at,
            date_fallback=date_fallback,
            language=norm.language,
            content_hash=chash,
            n_tokens=len(tokens),
            shingles=[],
            signature=[],
            facts=facts,
            schema_version=SCHEMA_VERSION,
        )
        entry = IndexEntry(
            id=raw.id,
            cluster_id=raw.id,
            ts=published_at.timestamp(),
            content_hash=chash,
            shingles=shingles,
            signature=signature,
            numbers=frozenset(facts.numbers),
            entities=frozenset(facts.entities),
            n_tokens=len(tokens),
        )
        entry = entry.with_derived(self.settings.dedup)  # here, not in the ordered writer
        return Prepared(source=record, article=article, entry=entry)


class Decider:
    """The stateful half: one ordered writer of the index."""

    def __init__(self, settings: Settings, index: DedupIndex | None = None) -> None:
        self.settings = settings
        self.index = index if index is not None else DedupIndex(settings.dedup)

    def decide(self, prepared: Prepared) -> Result:
        entry = prepared.entry
        decision = self.index.decide(entry)
        added: IndexEntry | None = None
        evicted: list[str] = []
        if decision.indexed:
            added = entry.in_cluster(decision.cluster_id)
            evicted = self.index.add(added)
        art = prepared.article
        # Every field was validated on the way in (or built here from typed values),
        # so the record is assembled without a second validation pass.
        record = ArticleRecord.model_construct(
            **{name: getattr(art, name) for name in _NORMALIZED_FIELDS},
            cluster_id=decision.cluster_id,
            duplicate_of=decision.duplicate_of,
            similarity=decision.similarity,
            match=decision.match,
            schema_version=SCHEMA_VERSION,
        )
        return Result(
            source=prepared.source,
            outcome=Outcome.DUPLICATE if decision.is_duplicate else Outcome.CLEAN,
            key=art.id.encode(),
            value=record.model_dump_json().encode(),
            article_id=art.id,
            decision=decision,
            entry=added,
            evicted=evicted,
        )


PrepareMany = Callable[[list[InputRecord]], Iterable[tuple[Prepared | Result, float]]]


class Pipeline:
    """Both halves in one process (the ``all`` role and ``streamer dedup``).

    ``prepare_many``, when given, prepares a whole batch elsewhere (worker
    processes) and returns it in input order; the decisions stay here, in order.
    """

    def __init__(
        self,
        settings: Settings,
        clock: Clock = utcnow,
        prepare_many: PrepareMany | None = None,
        preparer: Preparer | None = None,
    ) -> None:
        self.settings = settings
        self.clock = clock
        self.preparer = preparer if preparer is not None else Preparer(settings, clock)
        self.decider = Decider(settings)
        self.prepare_many = prepare_many

    @property
    def index(self) -> DedupIndex:
        return self.decider.index

    def prepare_one(self, record: InputRecord) -> Prepared | Result:
        return self.preparer.prepare_one(record)

    def decide_one(self, prepared: Prepared) -> Result:
        try:
            return self.decider.decide(prepared)
        except Exception as exc:
            return dead_letter(
                prepared.source,
                "processing_error",
                f"{type(exc).__name__}: {exc}",
                self.settings,
                self.clock(),
            )

    def _prepare_here(self, record: InputRecord) -> tuple[Prepared | Result, float]:
        started = time.perf_counter()
        out = self.prepare_one(record)
        return out, time.perf_counter() - started

    def process(self, records: Iterable[InputRecord]) -> list[Result]:
        """One result per record, in input order."""
        batch = list(records)
        prepared: Iterable[tuple[Prepared | Result, float]]
        if self.prepare_many is not None and len(batch) > 1:
            prepared = self.prepare_many(batch)
        else:
            prepared = map(self._prepare_here, batch)
        results = []
        for item, prepare_s in prepared:
            started = time.perf_counter()
            result = item if isinstance(item, Result) else self.decide_one(item)
            results.append(replace(result, seconds=prepare_s + time.perf_counter() - started))
        return results
