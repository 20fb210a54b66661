"""What a polled batch becomes in each deciding role: one ``Result`` per record, or None.

A stage is the only part of the batch order that differs between the ``all``
and ``dedup`` roles; the commit order, recovery and the loop are the same for
both. A stage holds the index the decisions are made against, so recovery
resets and rebuilds it through the stage.
"""

from __future__ import annotations

import time
from dataclasses import replace
from typing import Any, Protocol

from streamer.config import Settings
from streamer.dedup.index import DedupIndex
from streamer.faults import Faults
from streamer.models import Outcome, PreparedEnvelope
from streamer.pipeline import Decider, Pipeline, utcnow
from streamer.records import InputRecord, Result, dead_letter, from_wire, partition_key
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
        out: list[Result | None] = []
        for rec in records:
            started = time.perf_counter()
            try:
                env = PreparedEnvelope.model_validate_json(rec.value)
            except Exception as exc:
                out.append(
                    dead_letter(
                        input_record(rec), "invalid_prepared", str(exc), self.settings, utcnow()
                    )
                )
                continue
            src = env.source
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
            result = self.decide(env, source, rec.key)
            out.append(replace(result, seconds=time.perf_counter() - started))
        return out

    def decide(self, env: PreparedEnvelope, source: InputRecord, key: bytes | None) -> Result:
        """The one result of a prepared record that is not a replay."""
        if env.deadletter is not None:
            return Result(
                source=source,
                outcome=Outcome.DEADLETTER,
                key=key,
                value=env.deadletter.model_dump_json().encode(),
                error=env.deadletter.error,
            )
        if env.article is None:
            return dead_letter(
                source, "invalid_prepared", "envelope has neither", self.settings, utcnow()
            )
        try:
            return self.decider.decide(from_wire(env.article, source))
        except Exception as exc:
            return dead_letter(
                source, "processing_error", f"{type(exc).__name__}: {exc}", self.settings, utcnow()
            )
