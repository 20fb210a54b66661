"""One batch in, one outcome per record out: the only place that calls the stages in order.

The pipeline does not know where records come from. The Kafka adapter and the
file adapter both hand it ``InputRecord``s and publish the ``Result``s it
returns, which is what makes their decisions identical on the same order.

``prepare`` is a pure function of the record (safe to run anywhere, in any
number of processes); ``decide`` is the single stateful step and must see
records in input order.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterable
from dataclasses import replace
from datetime import UTC, datetime

import orjson
from pydantic import ValidationError

from streamer import SCHEMA_VERSION
from streamer.config import Settings
from streamer.deadline import Overrun, cpu_seconds, deadline, spent_past
from streamer.dedup import journal
from streamer.dedup.entry import IndexEntry
from streamer.dedup.index import DedupIndex
from streamer.dedup.passages import lead_rows, lead_size, passage_keys, with_lead
from streamer.models import (
    ArticleRecord,
    Coordinates,
    NormalizedArticle,
    Outcome,
    PreparedArticle,
    RawArticle,
    record_json,
)
from streamer.records import (
    InputRecord,
    Prepared,
    RecordError,
    Result,
    dead_letter,
    loads_json,
    record_size,
)
from streamer.text.chars import TextTooLarge
from streamer.text.content import NormalizedText, normalize_content
from streamer.text.dates import parse_published_at, record_time
from streamer.text.facts import extract_facts
from streamer.text.fingerprint import Fingerprinter, content_hash
from streamer.text.tokens import fingerprint_tokens
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


def parse_raw(value: bytes | None, max_bytes: int, max_id_bytes: int | None = None) -> RawArticle:
    """Bytes to a validated ``RawArticle`` or a ``RecordError`` naming what is wrong."""
    if not value:
        raise RecordError("empty_value", "message value is empty")
    if len(value) > max_bytes:
        raise RecordError("too_large", f"message is {len(value)} bytes; the limit is {max_bytes}")
    try:
        value.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise RecordError("not_utf8", f"value is not UTF-8: {exc}") from exc
    data = loads_json(value)
    if not isinstance(data, dict):
        raise RecordError("not_an_object", f"JSON value is a {type(data).__name__}, not an object")
    try:
        raw = RawArticle.model_validate(data)
    except ValidationError as exc:
        raise RecordError("validation_error", _validation_message(exc)) from exc
    if max_id_bytes is not None and len(raw.id.encode()) > max_id_bytes:
        raise RecordError(
            "validation_error",
            f"id: {len(raw.id.encode())} bytes; the limit is {max_id_bytes} (limits.max_id_bytes)",
        )
    if not ((raw.body and raw.body.strip()) or (raw.html and raw.html.strip())):
        raise RecordError("no_text", "no text: body and html are both missing or blank")
    return raw


# Inputs that build every lazy cache of preparing: character tables, the language model,
# trafilatura, dateutil, courlan. Built under a deadline, a cache that takes longer than
# the deadline to build would be dropped and rebuilt by every record that needs it.
_WARM_UP = (
    {
        "id": "warm-up-text",
        "title": "Ölpreis steigt",
        "body": "Der Ölpreis ist am Dienstag deutlich gestiegen, nachdem die Förderländer "
        "eine Kürzung angekündigt hatten. Händler rechnen mit weiteren Schwankungen.",
        "url": "https://Example.com/a?utm_source=x&b=1",
        "published_at": "Tue, 3 Mar 1987 09:15:00 GMT",
    },
    {
        "id": "warm-up-page",
        "html": "<html><head><title>Oil rises</title></head><body><article><p>Oil prices "
        "rose on Tuesday after producers announced a cut.</p></article></body></html>",
        "published_at": "March 3, 1987 9:15 AM EST",
    },
)
_caches_warm = False


def warm_up(preparer: Preparer) -> None:
    """Build the lazy caches of preparing outside any deadline, once per process."""
    global _caches_warm
    for data in _WARM_UP:
        # A fault hook or a bad day must not stop the service starting.
        with contextlib.suppress(Exception):
            preparer.prepare(InputRecord(value=orjson.dumps(data)))
    _caches_warm = True


class Preparer:
    """The stateless half: validate, normalize, fingerprint. Safe to run in many processes."""

    def __init__(self, settings: Settings, clock: Clock = utcnow) -> None:
        self.settings = settings
        self.clock = clock
        d = settings.dedup
        self.fingerprinter = Fingerprinter(d.num_perm, d.seed, d.shingle_size)

    def prepare_one(self, record: InputRecord) -> Prepared | Result:
        """Prepare, turning every failure into that record's dead letter.

        A record that takes more than ``limits.prepare_deadline_s`` of CPU time is
        interrupted there (see ``deadline``) and becomes a ``too_slow`` dead letter.
        """
        limit = self.settings.limits.prepare_deadline_s
        if limit > 0 and not _caches_warm:
            warm_up(self)
        started = cpu_seconds()
        try:
            with deadline(limit):
                out = self.prepare(record)
            if spent_past(started, limit):  # not interruptible here (another thread)
                raise Overrun()
            return out
        except Overrun:
            message = f"preparing took more than {limit:g} s of CPU time"
            message += " (limits.prepare_deadline_s)"
            return dead_letter(record, "too_slow", message, self.settings, self.clock())
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
        limits = self.settings.limits
        raw = parse_raw(record.value, limits.max_message_bytes, limits.max_id_bytes)
        now = self.clock()
        ingested_at = record_time(record.timestamp_ms, now=now, slack=limits.future_slack)
        norm = self.normalize(raw)
        published_at, date_fallback = parse_published_at(
            raw.published_at, now=now, slack=limits.future_slack
        )
        if date_fallback is not None:
            # No publication time to believe: the ingest time stands in until the decision
            # gives the record its time (``Decider``, ``DedupIndex.time_for_undated``).
            published_at = ingested_at
        body_tokens = norm.fp_body.split()
        tokens = norm.fp_title.split() + body_tokens  # (fp_title + " " + fp_body).split()
        fp = self.fingerprinter
        shingles = fp.shingles(tokens)
        signature = with_lead(fp.signature(shingles), lead_rows(tokens, fp, self.settings.dedup))
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
        entry = entry.with_query(
            passage_keys(tokens, fp, self.settings.dedup), fp.token_hashes(tokens)
        )
        return Prepared(source=record, article=article, entry=entry)

    def normalize(self, raw: RawArticle) -> NormalizedText:
        """The article's text, or the ``RecordError`` that says why there is none we may
        publish: nothing left, or more than the producer may send."""
        limits = self.settings.limits
        try:
            norm = normalize_content(
                title=raw.title, body=raw.body, html=raw.html, language=raw.language
            )
        except TextTooLarge as exc:
            raise RecordError(
                "too_large", f"{exc}; the output limit is {limits.max_output_bytes} bytes"
            ) from exc
        if not norm.text.strip():
            raise RecordError("no_text", "no text left after normalization (markup only?)")
        # Normalization can grow text (NFKC expands some characters up to 18-fold); an
        # output bigger than the producer may send would fail on every retry.
        out_bytes = len(orjson.dumps(norm.text)) + len(orjson.dumps(norm.title))
        if out_bytes > limits.max_output_bytes:
            raise RecordError(
                "too_large",
                f"normalized article is {out_bytes} bytes; the output limit is "
                f"{limits.max_output_bytes}",
            )
        return norm


def fingerprint_tokens_of(title: str, text: str) -> list[str]:
    """The tokens an article's shingles were made of (title, then body), from its record:
    what the guards align facts on, derived here so every role decides alike."""
    return fingerprint_tokens(title) + fingerprint_tokens(text)


class Decider:
    """The stateful half: one ordered writer of the index.

    A decision is a function of the prepared record and the index alone (the
    ``dedup`` role decides records prepared elsewhere, maybe long before): the time
    of a record without a publication time comes from the index, and the clock
    is read only for a dead letter's ``failed_at``. Each output and the journal
    entry it causes are built here, once, and checked against what the producer
    may send before anything is indexed or produced.
    """

    def __init__(
        self, settings: Settings, index: DedupIndex | None = None, clock: Clock = utcnow
    ) -> None:
        self.settings = settings
        self.index = index if index is not None else DedupIndex(settings.dedup)
        self.clock = clock
        self.limit = settings.kafka.producer_max_request_size
        d = settings.dedup
        self.fingerprinter = Fingerprinter(d.num_perm, d.seed, d.shingle_size)

    def decide(self, prepared: Prepared) -> Result:
        art = prepared.article
        entry = prepared.entry
        published_at = art.published_at
        if art.date_fallback is not None:
            ts = self.index.time_for_undated(entry.ts)
            if ts != entry.ts:
                entry = entry.at_time(ts)
                published_at = datetime.fromtimestamp(ts, UTC)
        if entry.token_hashes is None:
            # From news.prepared: what only the decision asks for, from the record's text.
            tokens = fingerprint_tokens_of(art.title, art.text)
            fp = self.fingerprinter
            keys = passage_keys(tokens, fp, self.settings.dedup)
            entry = entry.with_query(keys, fp.token_hashes(tokens))
        decision = self.index.decide(entry)
        outcome = Outcome.DUPLICATE if decision.is_duplicate else Outcome.CLEAN
        # Every field was validated on the way in (or built here from typed values),
        # so the record is assembled without a second validation pass.
        fields = {name: getattr(art, name) for name in _NORMALIZED_FIELDS}
        fields["published_at"] = published_at
        fields["cluster_id"] = decision.cluster_id
        fields["duplicate_of"] = decision.duplicate_of
        fields["similarity"] = decision.similarity
        fields["match"] = decision.match
        fields["schema_version"] = SCHEMA_VERSION
        source = prepared.source
        key, value = art.id.encode(), record_json(ArticleRecord, fields)
        size = record_size(key, value, source.headers())
        if size > self.limit:
            return self.too_large(
                source, f"the {outcome} record with its key and headers is {size} bytes"
            )
        added: IndexEntry | None = None
        body: bytes | None = None
        evicted: list[str] = []
        if decision.indexed:
            added = entry.in_cluster(decision.cluster_id)
            coords = Coordinates(
                topic=source.topic or "", partition=source.partition or 0, offset=source.offset or 0
            )
            lead = lead_size(self.settings.dedup, added.n_tokens)
            body = journal.entry_body(added, outcome, coords, art.date_fallback, lead)
            size = record_size(journal.article_key(art.id), body) + journal.OUTPUT_POSITION_BYTES
            if size > self.limit:
                return self.too_large(source, f"its journal entry with its key is {size} bytes")
            evicted = self.index.add(added, dated=art.date_fallback is None)
        return Result(
            source=source,
            outcome=outcome,
            key=key,
            value=value,
            article_id=art.id,
            decision=decision,
            entry=added,
            evicted=evicted,
            journal=body,
        )

    def too_large(self, source: InputRecord, what: str) -> Result:
        """The dead letter of a record whose output would not fit; nothing was indexed."""
        message = f"{what}; the producer's limit (kafka.producer_max_request_size) is {self.limit}"
        return dead_letter(source, "too_large", message, self.settings, self.clock())


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
        self.decider = Decider(settings, clock=clock)
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
