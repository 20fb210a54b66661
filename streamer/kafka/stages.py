"""What a polled batch becomes in each deciding role: one ``Result`` per record, or None.

A stage is the only part of the batch order that differs between the ``all``
and ``dedup`` roles; the commit order, recovery and the loop are the same for
both. A stage holds the index the decisions are made against, so recovery
resets and rebuilds it through the stage.
"""

from __future__ import annotations

import time
from typing import Any, Protocol

from streamer.config import Settings
from streamer.dedup.entry import with_derived_many
from streamer.dedup.index import DedupIndex
from streamer.faults import Faults
from streamer.models import Outcome
from streamer.pipeline import Decider, Pipeline, utcnow
from streamer.records import (
    InputRecord,
    Prepared,
    PreparedValue,
    RecordError,
    Result,
    dead_letter,
    decode_prepared,
    partition_key,
    prepared_entry,
)
from streamer.text.fingerprint import Fingerprinter
from streamer.workers import PreparePool


def input_record(rec: Any) -> InputRecord:
    """A polled ``ConsumerRecord`` as the pipeline takes it (no timestamp when Kafka has none)."""
    return InputRecord(
        value=rec.value,
        key=rec.key,
        topic=rec.topic,
        partition=rec.partition,
        offset=rec.offset,
        timestamp_ms=rec.timestamp if rec.timestamp is not None and rec.timestamp >= 0 else None,
    )


class Stage(Protocol):
    """What the batch order and recovery need from a role."""

    fingerprinter: Fingerprinter

    @property
    def index(self) -> DedupIndex: ...

    def reset_index(self) -> None: ...

    def process(self, records: list[Any], upstream: dict[str, int]) -> list[Result | None]:
        """One entry per record, in order; None for a record that must not be published."""
        ...

    def close(self) -> None: ...


class AllStage:
    """``--role all``: raw input, the whole pipeline in this process (or its prepare pool)."""

    def __init__(self, settings: Settings, faults: Faults) -> None:
        self.settings = settings
        self.pool = (
            PreparePool(settings, settings.prepare_workers, faults)
            if settings.prepare_workers
            else None
        )
        self.pipeline = Pipeline(
            settings,
            prepare_many=self.pool.prepare if self.pool else None,
            preparer=faults.preparer(settings),
        )
        self.fingerprinter = self.pipeline.preparer.fingerprinter

    def close(self) -> None:
        if self.pool is not None:
            self.pool.close()

    @property
    def index(self) -> DedupIndex:
        return self.pipeline.index

    def reset_index(self) -> None:
        self.pipeline.decider.index = DedupIndex(self.settings.dedup)

    def process(self, records: list[Any], upstream: dict[str, int]) -> list[Result | None]:
        return list(self.pipeline.process(input_record(r) for r in records))


class DedupStage:
    """``--role dedup``: prepared input; only the decision runs here.

    Drops prepared records whose raw offset was already decided (``upstream``,
    advanced here): a restarted ``prepare`` replays its last uncommitted batch,
    and those copies must not become second outputs.

    A polled batch is read whole first (every value parsed, the replays dropped,
    what the index derives from the articles worked out in a few numpy calls for
    all of them: ``with_derived_many``), then decided in order. A result's
    ``seconds`` is its own reading and decision plus its share of the batch's work.
    """

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.decider = Decider(settings)
        d = settings.dedup
        self.fingerprinter = Fingerprinter(d.num_perm, d.seed, d.shingle_size)

    @property
    def index(self) -> DedupIndex:
        return self.decider.index

    def reset_index(self) -> None:
        self.decider.index = DedupIndex(self.settings.dedup)

    def close(self) -> None:
        return None

    def process(self, records: list[Any], upstream: dict[str, int]) -> list[Result | None]:
        clock = time.perf_counter
        out: list[Result | None] = []
        articles: list[tuple[int, Prepared, float]] = []  # (its place in out, it, seconds)
        for rec in records:
            started = clock()
            try:
                value = decode_prepared(rec.value)
            except Exception as exc:  # a record is data: whatever is wrong with it, a letter
                reason = exc.reason if isinstance(exc, RecordError) else "invalid_prepared"
                out.append(
                    dead_letter(input_record(rec), reason, str(exc), self.settings, utcnow())
                )
                continue
            src = value.source
            source = InputRecord(
                value=None,
                key=rec.key,
                topic=src.topic,
                partition=src.partition,
                offset=src.offset,
                timestamp_ms=src.timestamp_ms,
            )
            if src.topic is not None and src.partition is not None and src.offset is not None:
                key = partition_key(src.topic, src.partition)
                if src.offset <= upstream.get(key, -1):
                    out.append(None)
                    continue
                upstream[key] = src.offset
            prepared = self.read(value, source, rec.key)
            if isinstance(prepared, Result):
                out.append(prepared.timed(clock() - started))
            else:
                articles.append((len(out), prepared, clock() - started))
                out.append(None)  # decided below, in this place
        self.decide_all(articles, out)
        return out

    def read(
        self, value: PreparedValue, source: InputRecord, key: bytes | None
    ) -> Prepared | Result:
        """A prepared article to decide, or the one result of a record that holds none."""
        if value.deadletter is not None:
            return Result(
                source=source,
                outcome=Outcome.DEADLETTER,
                key=key,
                value=value.deadletter.model_dump_json().encode(),
                error=value.deadletter.error,
            )
        if value.article is None or value.shingles is None or value.signature is None:
            return dead_letter(
                source, "invalid_prepared", "envelope has neither", self.settings, utcnow()
            )
        entry = prepared_entry(value.article, value.shingles, value.signature)
        if value.query is not None:
            slots, checks, hashes = value.query
            entry = entry.with_query((slots, checks), hashes)
        return Prepared(source=source, article=value.article, entry=entry)

    def decide_all(
        self, articles: list[tuple[int, Prepared, float]], out: list[Result | None]
    ) -> None:
        """Each article's result into its place in ``out``, decided in order."""
        if not articles:
            return
        clock = time.perf_counter
        started = clock()
        entries = with_derived_many([p.entry for _, p, _ in articles], self.settings.dedup)
        share = (clock() - started) / len(articles)
        for (i, prepared, read_s), entry in zip(articles, entries, strict=True):
            started = clock()
            try:
                result = self.decider.decide(Prepared(prepared.source, prepared.article, entry))
            except Exception as exc:
                result = dead_letter(
                    prepared.source,
                    "processing_error",
                    f"{type(exc).__name__}: {exc}",
                    self.settings,
                    utcnow(),
                )
            out[i] = result.timed(read_s + share + clock() - started)
