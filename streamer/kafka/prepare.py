"""``--role prepare``: stateless, any number of replicas, at-least-once into ``news.prepared``.

Each raw record becomes one envelope on ``news.prepared`` (one partition, so
the one dedup writer sees every prepared article in one order): the prepared
article (binary, ``records.encode_prepared``), or the dead letter to publish (a
JSON ``PreparedEnvelope``). Upgrade the dedup writer before the replicas: it reads
both forms, an older one only JSON. Replays after a crash are harmless:
the dedup writer drops every prepared record whose raw offset it has already
decided (``DedupStage``).
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from kafka.errors import KafkaError
from kafka.structs import OffsetAndMetadata, TopicPartition

from streamer.config import Settings
from streamer.faults import Faults
from streamer.kafka.commit import wait_for_acks
from streamer.kafka.observer import Observer
from streamer.kafka.service import ConsumerService
from streamer.kafka.stages import input_record
from streamer.models import DeadLetter, PreparedEnvelope, SourceInfo
from streamer.pipeline import utcnow
from streamer.records import Result, dead_letter, encode_prepared, record_size

log = logging.getLogger(__name__)


def deadletter_envelope(source: SourceInfo, letter: Result) -> bytes:
    """A dead letter travelling through ``news.prepared``, for the dedup writer to publish."""
    deadletter = DeadLetter.model_validate_json(letter.value)
    return PreparedEnvelope(source=source, deadletter=deadletter).model_dump_json().encode()


class PrepareService(ConsumerService):
    """Validate, normalize and fingerprint each raw record; publish it, then commit."""

    role = "prepare"
    stateless = True

    def __init__(
        self,
        settings: Settings,
        observer: Observer,
        stop: threading.Event,
        exit_when_idle: float | None = None,
        faults: Faults | None = None,
    ) -> None:
        super().__init__(settings, observer, stop, exit_when_idle)
        self.input_topic = settings.topics.raw
        self.preparer = (faults or Faults()).preparer(settings)
        self.positions: dict[TopicPartition, int] = {}

    def position(self, tp: TopicPartition) -> int | None:
        return self.positions.get(tp)

    def on_revoked(self, revoked: set[TopicPartition]) -> None:
        for tp in revoked:
            self.positions.pop(tp, None)

    def process_batch(self, records: list[Any]) -> None:
        """Every envelope produced and acknowledged, then the offsets committed."""
        assert self.producer is not None and self.consumer is not None
        sends = []
        for rec in records:
            key, value = self.envelope(rec)
            sends.append(
                self.producer.send(self.settings.topics.prepared, key=key, value=value, partition=0)
            )
        wait_for_acks(self.producer, sends)  # raises if a send failed: never commit past it
        offsets: dict[TopicPartition, OffsetAndMetadata] = {}
        for rec in records:
            offsets[TopicPartition(rec.topic, rec.partition)] = OffsetAndMetadata(
                rec.offset + 1, "", -1
            )
        try:
            self.consumer.commit(offsets)
            self.observer.offsets_committed()
        except KafkaError as exc:
            log.warning("commit failed; dedup drops the replay", extra={"error": str(exc)})
        for tp, committed in offsets.items():
            self.positions[tp] = committed.offset

    def envelope(self, rec: Any) -> tuple[bytes | None, bytes]:
        """(key, value) on ``news.prepared`` for one raw record."""
        record = input_record(rec)
        source = SourceInfo(
            topic=rec.topic,
            partition=rec.partition,
            offset=rec.offset,
            timestamp_ms=record.timestamp_ms,
        )
        started = time.perf_counter()
        prepared = self.preparer.prepare_one(record)
        is_article = False
        if isinstance(prepared, Result):
            key, value = prepared.key, deadletter_envelope(source, prepared)
        else:
            key = prepared.article.id.encode()
            value = encode_prepared(source, prepared)
            limit = self.settings.kafka.producer_max_request_size
            size = record_size(key, value)
            if size > limit:
                # Shingle lists of a huge article can outgrow what the producer may send.
                letter = dead_letter(
                    record,
                    "too_large",
                    f"the prepared article with its key is {size} bytes; the producer's "
                    f"limit (kafka.producer_max_request_size) is {limit}",
                    self.settings,
                    utcnow(),
                )
                key, value = letter.key, deadletter_envelope(source, letter)
            else:
                is_article = True
        self.observer.record_prepared(time.perf_counter() - started, is_article)
        return key, value
