"""Kafka in and out: clients, the batch loop, its commit order, rebalances, recovery.

Exactly once in effect, on any Kafka-compatible broker, without transactions
(the embedded broker does not isolate them). Per batch, in this order:

1. poll a batch and decide every record (the pipeline);
2. produce every output and wait for the acks;
3. produce the journal: one entry per indexed article, tombstones for evicted
   ones, then a checkpoint per assigned partition; wait for the acks;
4. commit the consumer offsets.

A crash after (2) leaves one batch published but not journaled; after (3) one
batch journaled but not committed. Recovery (on every assignment) replays the
journal into the index, starts each partition at the later of its committed
offset and its checkpoint, and scans the output topics only past the
checkpoint's recorded output positions to find what that one batch already
published. Re-deciding that batch gives the same decisions (the index is as it
was), and outputs found in the tail are not produced again.
"""

from __future__ import annotations

import contextlib
import gc
import logging
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from kafka import ConsumerRebalanceListener, KafkaConsumer, KafkaProducer
from kafka.admin import KafkaAdminClient, NewTopic
from kafka.errors import KafkaConnectionError, KafkaError, TopicAlreadyExistsError
from kafka.structs import OffsetAndMetadata, TopicPartition

from streamer.config import Settings
from streamer.dedup import journal
from streamer.dedup.index import DedupIndex
from streamer.faults import Faults
from streamer.fingerprint import Fingerprinter
from streamer.metrics import Metrics
from streamer.models import Coordinates, DeadLetter, Outcome, PreparedEnvelope, SourceInfo
from streamer.pipeline import Decider, Pipeline, utcnow
from streamer.records import (
    InputRecord,
    Result,
    dead_letter,
    from_wire,
    parse_headers,
    parse_partition_key,
    partition_key,
    to_wire,
)
from streamer.workers import PreparePool

log = logging.getLogger(__name__)

# -- clients ------------------------------------------------------------------------------------


def make_producer(settings: Settings) -> KafkaProducer:
    k = settings.kafka
    return KafkaProducer(
        **k.client_kwargs(),
        acks="all",
        linger_ms=k.producer_linger_ms,
        batch_size=k.producer_batch_size,
        max_request_size=k.producer_max_request_size,
        compression_type=k.compression_type,
        enable_idempotence=True,
    )


def make_consumer(settings: Settings, group_id: str | None, **extra: Any) -> KafkaConsumer:
    k = settings.kafka
    kwargs: dict[str, Any] = {
        **k.client_kwargs(),
        "group_id": group_id,
        "enable_auto_commit": False,
        "auto_offset_reset": k.auto_offset_reset,
        "fetch_max_bytes": k.fetch_max_bytes,
        "max_partition_fetch_bytes": k.max_partition_fetch_bytes,
        "max_poll_records": k.max_poll_records,
    }
    if group_id is not None:
        kwargs.update(
            session_timeout_ms=k.session_timeout_ms,
            heartbeat_interval_ms=k.heartbeat_interval_ms,
            max_poll_interval_ms=k.max_poll_interval_ms,
        )
    kwargs.update(extra)
    return KafkaConsumer(**kwargs)


def _any_reachable(bootstrap_servers: str, timeout_s: float = 1.0) -> bool:
    for server in bootstrap_servers.split(","):
        host, _, port = server.strip().rpartition(":")
        try:
            with socket.create_connection((host.strip("[]") or "localhost", int(port)), timeout_s):
                return True
        except (OSError, ValueError):
            continue
    return False


def ensure_topics(
    settings: Settings, timeout_s: float = 30.0, stop: threading.Event | None = None
) -> bool:
    """Create missing topics; the journal is compacted and, like news.prepared, has one partition.

    One journal partition keeps every index change in one order, which is what
    the single writer of an index needs; news.prepared has one partition so
    that one dedup instance sees every prepared article in one order. Returns
    False when ``stop`` was set while waiting for the broker.
    """
    if not settings.kafka.create_topics:
        return True
    t = settings.topics
    k = settings.kafka
    wanted = {
        t.raw: (k.topic_partitions, {}),
        t.clean: (k.topic_partitions, {}),
        t.duplicates: (k.topic_partitions, {}),
        t.deadletter: (1, {}),
        t.prepared: (1, {}),
        t.journal: (1, {"cleanup.policy": "compact"}),
    }
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            # A plain TCP probe first: the admin client's own bootstrap blocks with
            # growing backoff and would not let SIGTERM through while Kafka is down.
            if not _any_reachable(k.bootstrap_servers):
                raise KafkaConnectionError("no bootstrap server accepts connections")
            admin = KafkaAdminClient(**k.client_kwargs())
            break
        except KafkaError as exc:
            if time.monotonic() > deadline:
                raise RuntimeError(f"cannot reach Kafka at {k.bootstrap_servers}: {exc}") from exc
            log.warning("waiting for Kafka", extra={"bootstrap": k.bootstrap_servers})
            if stop is not None and stop.wait(1):
                return False
    try:
        existing = set(admin.list_topics())
        new = [
            NewTopic(name, parts, k.replication_factor, topic_configs=cfg)
            for name, (parts, cfg) in wanted.items()
            if name not in existing
        ]
        if new:
            with contextlib.suppress(TopicAlreadyExistsError):
                admin.create_topics(new)
            log.info("topics created", extra={"topics": [n.name for n in new]})
        # Metadata propagates asynchronously; wait until every topic is visible.
        while not set(wanted) <= set(admin.list_topics()):
            if time.monotonic() > deadline:
                raise RuntimeError("topics did not appear in metadata in time")
            time.sleep(0.2)
    finally:
        admin.close()
    return True


def end_offsets(
    consumer: KafkaConsumer, tps: list[TopicPartition], timeout_s: float = 30.0
) -> dict[TopicPartition, int]:
    """The true end of each partition, from the high watermark of a fetch.

    Not ``consumer.end_offsets``: the embedded broker answers ListOffsets with
    the base offset of the last record batch plus one, which is short of the end
    whenever a batch holds more than one record (measured: 8 records in two
    batches of 3 and 5 gave 4). A fetch response's high watermark is right on
    every broker we tried, so we fetch once from the listed end and take that.
    """
    if not tps:
        return {}
    listed = consumer.end_offsets(tps)
    consumer.assign(tps)
    for tp in tps:
        consumer.seek(tp, listed[tp])
    deadline = time.monotonic() + timeout_s
    while True:
        consumer.poll(timeout_ms=200)
        marks = {tp: consumer.highwater(tp) for tp in tps}
        if all(m is not None for m in marks.values()):
            return {tp: max(int(m), listed[tp]) for tp, m in marks.items() if m is not None}
        if time.monotonic() > deadline:
            raise RuntimeError(
                f"no fetch response for {[tp for tp, m in marks.items() if m is None]}"
            )


def read_to_end(
    consumer: KafkaConsumer,
    starts: dict[TopicPartition, int],
    on_progress: Callable[[int], None] | None = None,
    ends: dict[TopicPartition, int] | None = None,
) -> Iterator[Any]:
    """Every record of ``starts`` partitions from the given offsets to their end, once.

    The end is fixed when the read begins, so a topic that keeps growing does
    not make recovery chase it forever.
    """
    if not starts:
        return
    tps = list(starts)
    if ends is None:
        ends = end_offsets(consumer, tps)
    consumer.assign(tps)
    pending = {}
    for tp, start in starts.items():
        if start < ends[tp]:
            consumer.seek(tp, start)
            pending[tp] = ends[tp]
    if not pending:
        return
    consumer.pause(*[tp for tp in tps if tp not in pending])
    seen = 0
    idle_since = time.monotonic()
    while pending:
        batch = consumer.poll(timeout_ms=500, max_records=5000)
        if not batch:
            if time.monotonic() - idle_since > 60:
                raise RuntimeError(f"reading {list(pending)} to end stalled")
            continue
        idle_since = time.monotonic()
        for tp, records in batch.items():
            end = pending.get(tp)
            if end is None:
                continue
            for rec in records:
                if rec.offset >= end:
                    break
                yield rec
                seen += 1
            if consumer.position(tp) >= end:
                pending.pop(tp, None)
                consumer.pause(tp)
        if on_progress is not None:
            on_progress(seen)


# -- stages -------------------------------------------------------------------------------------


class AllStage:
    """``--role all``: raw input, the whole pipeline in this process."""

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
        return list(self.pipeline.process(_input_record(r) for r in records))


class DedupStage:
    """``--role dedup``: prepared input; only the decision runs here.

    Drops prepared records whose raw offset was already decided (``upstream``):
    a restarted ``prepare`` replays its last uncommitted batch, and those
    copies must not become second outputs.
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
                        _input_record(rec), "invalid_prepared", str(exc), self.settings, utcnow()
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
            if env.deadletter is not None:
                result = Result(
                    source=source,
                    outcome=Outcome.DEADLETTER,
                    key=rec.key,
                    value=env.deadletter.model_dump_json().encode(),
                    error=env.deadletter.error,
                )
            elif env.article is not None:
                try:
                    result = self.decider.decide(from_wire(env.article, source))
                except Exception as exc:
                    result = dead_letter(
                        source,
                        "processing_error",
                        f"{type(exc).__name__}: {exc}",
                        self.settings,
                        utcnow(),
                    )
            else:
                result = dead_letter(
                    source, "invalid_prepared", "envelope has neither", self.settings, utcnow()
                )
            out.append(replace(result, seconds=time.perf_counter() - started))
        return out


def _input_record(rec: Any) -> InputRecord:
    return InputRecord(
        value=rec.value,
        key=rec.key,
        topic=rec.topic,
        partition=rec.partition,
        offset=rec.offset,
        timestamp_ms=rec.timestamp if rec.timestamp is not None and rec.timestamp >= 0 else None,
    )


# -- the decide loop ----------------------------------------------------------------------------


class _Listener(ConsumerRebalanceListener):
    """Rebalance callbacks run inside ``poll``, so no batch is ever in flight here."""

    def __init__(self, service: DecideService) -> None:
        self.service = service

    def on_partitions_revoked(self, revoked: list[TopicPartition]) -> None:
        self.service.on_revoked(set(revoked), lost=False)

    def on_partitions_lost(self, lost: list[TopicPartition]) -> None:
        self.service.on_revoked(set(lost), lost=True)

    def on_partitions_assigned(self, assigned: list[TopicPartition]) -> None:
        self.service.on_assigned(set(assigned))


class _Service:
    """What both loops share: settings, metrics, the stop event and the idle exit."""

    def __init__(
        self,
        settings: Settings,
        metrics: Metrics,
        stop: threading.Event,
        exit_when_idle: float | None = None,
    ) -> None:
        self.settings = settings
        self.metrics = metrics
        self.stop = stop
        self.exit_when_idle = exit_when_idle
        self.assigned: set[TopicPartition] = set()

    def idle_expired(self, last_data: float) -> bool:
        """``--exit-when-idle``: partitions held and nothing arrived for that long."""
        return (
            self.exit_when_idle is not None
            and bool(self.assigned)
            and time.monotonic() - last_data >= self.exit_when_idle
        )


class DecideService(_Service):
    """The ``all`` and ``dedup`` roles: the single ordered writer of an index."""

    def __init__(
        self,
        settings: Settings,
        metrics: Metrics,
        stop: threading.Event,
        exit_when_idle: float | None = None,
        faults: Faults | None = None,
    ) -> None:
        super().__init__(settings, metrics, stop, exit_when_idle)
        self.faults = faults or Faults()
        self.role = settings.role
        if self.role == "dedup":
            self.stage: AllStage | DedupStage = DedupStage(settings)
            self.input_topic = settings.topics.prepared
        else:
            self.stage = AllStage(settings, self.faults)
            self.input_topic = settings.topics.raw
        t = settings.topics
        self.output_topic = {
            Outcome.CLEAN: t.clean,
            Outcome.DUPLICATE: t.duplicates,
            Outcome.DEADLETTER: t.deadletter,
        }
        self.journal_tp = TopicPartition(t.journal, 0)
        self.needs_recovery = False
        self.next_offset: dict[TopicPartition, int] = {}
        self.output_positions: dict[str, int] = {}
        self.upstream: dict[str, int] = {}
        self.published_tail: dict[Coordinates, Coordinates] = {}
        self.batches = 0

    # rebalance hooks (called inside poll)
    def on_assigned(self, assigned: set[TopicPartition]) -> None:
        self.metrics.rebalances.labels(event="assigned").inc()
        self.assigned = set(assigned)
        self.needs_recovery = bool(assigned)
        self.metrics.set_health(assigned=bool(assigned), recovered=False)
        log.info("partitions assigned", extra={"partitions": sorted(map(str, assigned))})

    def on_revoked(self, revoked: set[TopicPartition], lost: bool) -> None:
        event = "lost" if lost else "revoked"
        self.metrics.rebalances.labels(event=event).inc()
        self.assigned -= revoked
        for tp in revoked:
            self.next_offset.pop(tp, None)
            with contextlib.suppress(KeyError):
                self.metrics.lag.remove(tp.topic, str(tp.partition))
        self.metrics.set_health(assigned=bool(self.assigned))
        log.info(f"partitions {event}", extra={"partitions": sorted(map(str, revoked))})

    # main loop
    def run(self) -> int:
        if not ensure_topics(self.settings, stop=self.stop):
            log.info("service stopped before Kafka was reachable", extra={"role": self.role})
            return 0
        self.producer = make_producer(self.settings)
        self.consumer = make_consumer(self.settings, self.settings.kafka.group_id)
        # The reader only serves recovery; a short fetch wait keeps empty reads quick.
        self.reader = make_consumer(self.settings, None, fetch_max_wait_ms=50)
        self.metrics.set_health(broker_reachable=True)
        self.consumer.subscribe([self.input_topic], listener=_Listener(self))
        self.metrics.consumed.labels(topic=self.input_topic)
        log.info(
            "service started",
            extra={
                "role": self.role,
                "input": self.input_topic,
                "group": self.settings.kafka.group_id,
            },
        )
        last_data = time.monotonic()
        try:
            while not self.stop.is_set():
                batch = self.consumer.poll(
                    timeout_ms=self.settings.kafka.poll_timeout_ms,
                    max_records=self.settings.kafka.max_poll_records,
                )
                if self.needs_recovery:
                    # Records polled with the assignment may start before the checkpoint:
                    # drop them; recovery seeks every partition to where it must start.
                    self.recover()
                    last_data = time.monotonic()
                    continue
                records = [rec for tp, recs in batch.items() if tp in self.assigned for rec in recs]
                if records:
                    self.process_batch(records)
                    last_data = time.monotonic()
                elif self.idle_expired(last_data):
                    log.info("idle, exiting", extra={"idle_s": self.exit_when_idle})
                    break
                self._update_lag()
        finally:
            self.close()
        return 0

    def close(self) -> None:
        self.metrics.set_health(assigned=False, recovered=False)
        for client in ("consumer", "reader"):
            c = getattr(self, client, None)
            if c is not None:
                try:
                    c.close()
                except Exception:
                    log.warning("error closing consumer", exc_info=True)
        p = getattr(self, "producer", None)
        if p is not None:
            p.close(timeout=10)
        self.stage.close()
        log.info("service stopped", extra={"batches": self.batches})

    def _update_lag(self) -> None:
        for tp in self.assigned:
            hw = self.consumer.highwater(tp)
            pos = self.next_offset.get(tp)
            if hw is not None and pos is not None:
                self.metrics.lag.labels(tp.topic, str(tp.partition)).set(max(hw - pos, 0))

    # recovery
    def recover(self) -> None:
        """Rebuild the index and find where each partition starts; see the module docstring.

        The cyclic garbage collector is paused while the index is rebuilt (it
        would rescan every new long-lived object, again and again) and the
        rebuilt index is then frozen out of later collections.
        """
        gc_was_enabled = gc.isenabled()
        gc.disable()
        try:
            self._recover()
        finally:
            gc.freeze()
            if gc_was_enabled:
                gc.enable()

    def _recover(self) -> None:
        started = time.monotonic()
        self.metrics.recovery_in_progress.set(1)
        self.needs_recovery = False
        assigned = set(self.assigned)
        log.info("recovery started", extra={"partitions": sorted(map(str, assigned))})

        def progress(n: int) -> None:
            if n and n % 50_000 < 5000:
                log.info("recovery progress", extra={"journal_records": n})

        state = journal.JournalState()
        for rec in read_to_end(self.reader, {self.journal_tp: 0}, progress):
            state.apply(rec.key, rec.value)
        self.metrics.recovery_records.inc(state.records_read)
        self.stage.reset_index()
        loaded, evicted = journal.rebuild_index(state, self.stage.index, self.stage.fingerprinter)
        if evicted:
            for article_id in evicted:
                self.producer.send(
                    self.journal_tp.topic, key=article_id.encode(), value=None, partition=0
                )
            self.producer.flush()

        out_tps = self._output_partitions()
        ends = end_offsets(self.reader, out_tps)
        committed = {tp: self.consumer.committed(tp) for tp in assigned}
        scan_from: dict[TopicPartition, int] = {}
        self.upstream = {}
        for tp in assigned:
            cp = state.checkpoints.get((tp.topic, tp.partition))
            c = committed.get(tp)
            if cp is None:
                self.next_offset[tp] = c if c is not None else self._reset_offset(tp)
                continue
            self.next_offset[tp] = max(cp.next_offset, c or 0)
            self.upstream.update(
                {k: max(v, self.upstream.get(k, -1)) for k, v in cp.upstream.items()}
            )
            for key, pos in cp.outputs.items():
                otp = TopicPartition(*parse_partition_key(key))
                scan_from[otp] = min(pos, scan_from.get(otp, pos))
        for tp in assigned:
            self.consumer.seek(tp, self.next_offset[tp])

        self.published_tail = {}
        scanned = 0
        for rec in read_to_end(self.reader, scan_from, ends=ends):
            coords = parse_headers(rec.headers)
            scanned += 1
            if coords is not None:
                self.published_tail[coords] = Coordinates(
                    topic=rec.topic, partition=rec.partition, offset=rec.offset
                )
        self.output_positions = {
            partition_key(tp.topic, tp.partition): end for tp, end in ends.items()
        }
        # A first checkpoint for partitions that had none, so that even a crash in the
        # very first batch leaves a bounded tail to scan.
        fresh = [tp for tp in assigned if (tp.topic, tp.partition) not in state.checkpoints]
        if fresh:
            futures = self._write_checkpoints(fresh)
            self.producer.flush()
            for fut in futures:
                fut.get(timeout=0)  # without it, a crash in the first batch has no bound
        seconds = time.monotonic() - started
        self.metrics.recovery_seconds.set(seconds)
        self.metrics.recovery_in_progress.set(0)
        self.metrics.index_size.set(len(self.stage.index))
        self.metrics.set_health(recovered=True)
        log.info(
            "recovered",
            extra={
                "journal_records": state.records_read,
                "indexed": loaded,
                "evicted": len(evicted),
                "tail_scanned": scanned,
                "already_published": len(self.published_tail),
                "starts": {str(tp): off for tp, off in self.next_offset.items()},
                "seconds": round(seconds, 3),
            },
        )

    def _reset_offset(self, tp: TopicPartition) -> int:
        # Not consumer.position(): the poll that brought the assignment may have moved it.
        if self.settings.kafka.auto_offset_reset == "earliest":
            return int(self.reader.beginning_offsets([tp])[tp])
        return end_offsets(self.reader, [tp])[tp]

    def _output_partitions(self) -> list[TopicPartition]:
        tps: list[TopicPartition] = []
        for topic in set(self.output_topic.values()):
            parts = self.reader.partitions_for_topic(topic) or {0}
            tps.extend(TopicPartition(topic, p) for p in sorted(parts))
        return tps

    def _write_checkpoints(self, tps: list[TopicPartition]) -> list[Any]:
        now = datetime.now(UTC)
        futures = []
        for tp in tps:
            key, value = journal.encode_checkpoint(
                tp.topic,
                tp.partition,
                self.next_offset[tp],
                dict(self.output_positions),
                dict(self.upstream),
                now,
            )
            futures.append(
                self.producer.send(self.journal_tp.topic, key=key, value=value, partition=0)
            )
        return futures

    # one batch
    def process_batch(self, records: list[Any]) -> None:
        started = time.monotonic()
        topic_counts: dict[str, int] = {}
        for rec in records:
            topic_counts[rec.topic] = topic_counts.get(rec.topic, 0) + 1
        for topic, n in topic_counts.items():
            self.metrics.consumed.labels(topic=topic).inc(n)

        results = self.stage.process(records, self.upstream)

        # 2. outputs, acknowledged
        sends = []
        outputs: dict[int, Coordinates] = {}
        for i, res in enumerate(results):
            if res is None:
                continue
            coords = res.source.coordinates()
            found = None if coords is None else self.published_tail.pop(coords, None)
            if found is not None:
                outputs[i] = found
                continue
            fut = self.producer.send(
                self.output_topic[res.outcome], key=res.key, value=res.value, headers=res.headers()
            )
            sends.append((i, fut))
        self.producer.flush()
        for i, fut in sends:
            md = fut.get(timeout=0)
            outputs[i] = Coordinates(topic=md.topic, partition=md.partition, offset=md.offset)
            key = partition_key(md.topic, md.partition)
            self.output_positions[key] = max(self.output_positions.get(key, 0), md.offset + 1)
        self.faults.crash("after_outputs")

        # 3. journal, acknowledged
        jsends = []
        for i, res in enumerate(results):
            if res is None:
                continue
            if res.entry is not None:
                jkey, jvalue = journal.encode_entry(
                    res.entry,
                    res.outcome,
                    Coordinates(
                        topic=res.source.topic or "",
                        partition=res.source.partition or 0,
                        offset=res.source.offset or 0,
                    ),
                    outputs.get(i),
                )
                jsends.append(
                    self.producer.send(self.journal_tp.topic, key=jkey, value=jvalue, partition=0)
                )
            for article_id in res.evicted:
                jsends.append(
                    self.producer.send(
                        self.journal_tp.topic, key=article_id.encode(), value=None, partition=0
                    )
                )
        for rec in records:
            tp = TopicPartition(rec.topic, rec.partition)
            self.next_offset[tp] = max(self.next_offset.get(tp, 0), rec.offset + 1)
        jsends.extend(self._write_checkpoints(sorted(self.assigned, key=str)))
        self.producer.flush()
        for fut in jsends:
            fut.get(timeout=0)  # raises if the journal write failed: never commit past it
        self.faults.crash("after_journal")

        # 4. commit
        offsets = {
            tp: OffsetAndMetadata(self.next_offset[tp], "", -1)
            for tp in self.assigned
            if tp in self.next_offset
        }
        try:
            self.consumer.commit(offsets)
            self.metrics.commits.inc()
        except KafkaError as exc:
            # The checkpoint already records this batch; whoever owns the partition
            # next starts past it, so a failed commit costs nothing but a warning.
            log.warning(
                "commit failed; the journal checkpoint covers it", extra={"error": str(exc)}
            )
        self.batches += 1
        self.faults.batch_done()
        self.faults.crash("after_commit")

        # metrics
        now_ms = time.time() * 1000
        for res in results:
            if res is None:
                continue
            self.metrics.articles.labels(outcome=res.outcome.value).inc()
            self.metrics.processing.observe(res.seconds)
            if res.error is not None:
                self.metrics.deadletters.labels(reason=res.error.type).inc()
            if res.source.timestamp_ms is not None:
                self.metrics.end_to_end.observe(max(now_ms - res.source.timestamp_ms, 0) / 1000)
        self.metrics.index_size.set(len(self.stage.index))
        self.metrics.batch.observe(time.monotonic() - started)
        log.info("batch committed", extra={"records": len(records)})


# -- the prepare loop ---------------------------------------------------------------------------


class PrepareService(_Service):
    """``--role prepare``: stateless, any number of replicas, at-least-once into news.prepared.

    Replays after a crash are harmless: the dedup writer drops every prepared
    record whose raw offset it has already decided.
    """

    def __init__(
        self,
        settings: Settings,
        metrics: Metrics,
        stop: threading.Event,
        exit_when_idle: float | None = None,
        faults: Faults | None = None,
    ) -> None:
        super().__init__(settings, metrics, stop, exit_when_idle)
        self.preparer = (faults or Faults()).preparer(settings)

    def run(self) -> int:
        if not ensure_topics(self.settings, stop=self.stop):
            log.info("service stopped before Kafka was reachable", extra={"role": "prepare"})
            return 0
        producer = make_producer(self.settings)
        consumer = make_consumer(self.settings, self.settings.kafka.group_id)
        service = self

        class Listener(ConsumerRebalanceListener):
            def on_partitions_revoked(self, revoked: list[TopicPartition]) -> None:
                service.assigned -= set(revoked)
                service.metrics.rebalances.labels(event="revoked").inc()
                log.info("partitions revoked", extra={"partitions": sorted(map(str, revoked))})

            def on_partitions_assigned(self, assigned: list[TopicPartition]) -> None:
                service.assigned = set(assigned)
                service.metrics.rebalances.labels(event="assigned").inc()
                service.metrics.set_health(assigned=bool(assigned), recovered=True)
                log.info("partitions assigned", extra={"partitions": sorted(map(str, assigned))})

        consumer.subscribe([self.settings.topics.raw], listener=Listener())
        self.metrics.consumed.labels(topic=self.settings.topics.raw)
        self.metrics.set_health(broker_reachable=True, recovered=True)
        log.info("service started", extra={"role": "prepare", "input": self.settings.topics.raw})
        last_data = time.monotonic()
        try:
            while not self.stop.is_set():
                batch = consumer.poll(
                    timeout_ms=self.settings.kafka.poll_timeout_ms,
                    max_records=self.settings.kafka.max_poll_records,
                )
                records = [r for tp, recs in batch.items() if tp in self.assigned for r in recs]
                if not records:
                    if self.idle_expired(last_data):
                        log.info("idle, exiting", extra={"idle_s": self.exit_when_idle})
                        break
                    continue
                last_data = time.monotonic()
                sends = []
                for rec in records:
                    self.metrics.consumed.labels(topic=rec.topic).inc()
                    key, value = self.envelope(rec)
                    sends.append(
                        producer.send(
                            self.settings.topics.prepared, key=key, value=value, partition=0
                        )
                    )
                producer.flush()
                for fut in sends:
                    fut.get(timeout=0)  # raises if a send failed: never commit past it
                offsets: dict[TopicPartition, OffsetAndMetadata] = {}
                for rec in records:
                    offsets[TopicPartition(rec.topic, rec.partition)] = OffsetAndMetadata(
                        rec.offset + 1, "", -1
                    )
                try:
                    consumer.commit(offsets)
                    self.metrics.commits.inc()
                except KafkaError as exc:
                    log.warning("commit failed; dedup drops the replay", extra={"error": str(exc)})
        finally:
            consumer.close()
            producer.close(timeout=10)
            self.metrics.set_health(assigned=False)
            log.info("service stopped", extra={"role": "prepare"})
        return 0

    def envelope(self, rec: Any) -> tuple[bytes | None, bytes]:
        record = _input_record(rec)
        source = SourceInfo(
            topic=rec.topic,
            partition=rec.partition,
            offset=rec.offset,
            timestamp_ms=record.timestamp_ms,
        )
        started = time.perf_counter()
        prepared = self.preparer.prepare_one(record)
        if isinstance(prepared, Result):
            key, value = rec.key, self._deadletter_envelope(source, prepared)
        else:
            key = prepared.article.id.encode()
            env = PreparedEnvelope(source=source, article=to_wire(prepared))
            value = env.model_dump_json().encode()
            limit = self.settings.kafka.producer_max_request_size - 16_384
            if len(value) > limit:
                # Shingle lists of a huge article can outgrow what the producer may send.
                letter = dead_letter(
                    record,
                    "too_large",
                    f"prepared article is {len(value)} bytes; the limit is {limit}",
                    self.settings,
                    utcnow(),
                )
                key, value = rec.key, self._deadletter_envelope(source, letter)
            else:
                self.metrics.prepared.inc()
        self.metrics.processing.observe(time.perf_counter() - started)
        return key, value

    @staticmethod
    def _deadletter_envelope(source: SourceInfo, letter: Result) -> bytes:
        deadletter = DeadLetter.model_validate_json(letter.value)
        return PreparedEnvelope(source=source, deadletter=deadletter).model_dump_json().encode()
