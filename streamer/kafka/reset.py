"""Noticing that the broker lost what the service wrote: a reset broker, a recreated topic.

A broker restarted empty (the embedded broker keeps nothing; a Kafka whose
volume was wiped) takes the journal, the outputs and the committed offsets
with it, and the running service learns it only sideways: the idempotent
producer's id is unknown (``UnknownProducerIdError`` while writing
checkpoints), or the group quietly assigns nothing because the input topic is
gone, or the consumer, finding its position past the new end, resets it by
``auto_offset_reset`` and hands back records the index already holds. None of
that says what happened, so the service looks for the evidence itself:

* a polled record below the position the service holds in its partition (the
  consumer went back on its own: only a reset or truncation does that);
* a watched partition (the journal, or ``news.prepared`` for ``prepare``)
  whose end, by ``ListOffsets``, is below the highest end seen before: compaction
  and retention never lower an end, deleting or recreating the topic does
  (compared with ends of the same request only: the embedded broker's
  ``ListOffsets`` can lag the true end, but it never goes down);
* a watched topic that no longer exists.

On any of them the loop raises ``BrokerReset`` and the service goes on as a
restarted process would (``ConsumerService.recover_from``): a new producer,
recovery from an empty journal into an empty index, each partition from
``auto_offset_reset``. An error from the loop is checked against the same
evidence first; a producer id the broker no longer knows (``PRODUCER_STATE_LOST``)
re-creates the producer even without it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from typing import Any

from kafka import KafkaConsumer
from kafka.errors import (
    InvalidProducerEpochError,
    KafkaError,
    OutOfOrderSequenceNumberError,
    UnknownProducerIdError,
)
from kafka.structs import TopicPartition

from streamer.config import Settings
from streamer.kafka.clients import missing_topics

log = logging.getLogger(__name__)

# Errors that mean the broker no longer knows the idempotent producer: it reached us
# because kafka-python could not re-register it, so only a new producer goes on.
PRODUCER_STATE_LOST = (
    UnknownProducerIdError,
    OutOfOrderSequenceNumberError,
    InvalidProducerEpochError,
)
# The keys of ``detected`` that are evidence of lost data, not only of a lost producer id.
_LOSS = ("input_went_back", "end_went_down", "topics_missing")


class BrokerReset(Exception):
    """The broker lost what this service wrote or read; ``detected`` says how we know."""

    def __init__(self, detected: dict[str, Any]) -> None:
        super().__init__(f"the broker was reset: {detected}")
        self.detected = detected

    @property
    def lost(self) -> bool:
        """Data is gone (the journal, inputs), not only the producer's registration."""
        return any(key in self.detected for key in _LOSS)


def records_went_back(
    records: Iterable[Any], position: Callable[[TopicPartition], int | None]
) -> dict[str, Any] | None:
    """Partitions where a polled record lies below the position the service holds there."""
    lowest: dict[TopicPartition, int] = {}
    for rec in records:
        tp = TopicPartition(rec.topic, rec.partition)
        lowest[tp] = min(rec.offset, lowest.get(tp, rec.offset))
    back = {}
    for tp, first in lowest.items():
        held = position(tp)
        if held is not None and first < held:
            back[str(tp)] = {"position": held, "polled_from": first}
    return {"input_went_back": back} if back else None


class EndWatch:
    """The highest end seen of each watched partition, checked every ``interval_s``."""

    def __init__(
        self,
        consumer: KafkaConsumer,
        watched: list[TopicPartition],
        interval_s: float,
        timeout_s: float,
        missing_topics: Callable[[list[str]], list[str] | None],
    ) -> None:
        self.consumer = consumer
        self.watched = watched
        self.interval_s = interval_s
        self.timeout_s = timeout_s
        self.missing_topics = missing_topics
        self.highest: dict[TopicPartition, int] = {}
        self.next_at = time.monotonic()

    def due(self) -> bool:
        return time.monotonic() >= self.next_at

    def check(self) -> dict[str, Any] | None:
        """What was lost since the last check, or None (also when the broker cannot tell now)."""
        self.next_at = time.monotonic() + self.interval_s
        if not self.watched:
            return None
        try:
            ends = self.consumer.end_offsets(self.watched, timeout_ms=int(self.timeout_s * 1000))
        except (KafkaError, KeyError) as exc:
            # A partition without a leader in the metadata: gone, or the broker away for now.
            gone = self.missing_topics(sorted({tp.topic for tp in self.watched}))
            if gone:
                return {"topics_missing": gone}
            log.debug("end check inconclusive", extra={"error": f"{type(exc).__name__}: {exc}"})
            return None
        lower = {}
        for tp, end in ends.items():
            had = self.highest.get(tp)
            if had is not None and end < had:
                lower[str(tp)] = {"had": had, "now": end}
            self.highest[tp] = max(end, had or 0)
        return {"end_went_down": lower} if lower else None


def journal_watch(settings: Settings, consumer: KafkaConsumer, stateless: bool) -> EndWatch:
    """Deciding roles watch the journal they write; ``prepare`` watches news.prepared."""
    t = settings.topics
    k = settings.kafka
    written = t.prepared if stateless else t.journal
    # Short: while the broker does not answer, the loop waits on this check.
    timeout_s = min(k.probe_timeout_ms / 1000, 5.0)
    return EndWatch(
        consumer,
        [TopicPartition(written, 0)],
        k.reset_check_interval_ms / 1000,
        timeout_s,
        lambda topics: missing_topics(settings, topics, timeout_s),
    )
