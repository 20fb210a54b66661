"""Every Prometheus metric, created once, updated from the adapters' hooks.

Pure modules never import this: the pipeline returns what happened and the
adapters report it here, through the hooks of ``streamer.kafka.observer.Observer``
that ``Metrics`` implements (which metric an event moves is decided here, and
only here). Each ``Metrics`` owns its registry so tests (and several services in
one process) do not collide on global state.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.process_collector import ProcessCollector

from streamer import __version__
from streamer.metrics_server import MetricsServer  # served with these metrics

if TYPE_CHECKING:
    from streamer.records import Result

log = logging.getLogger(__name__)

__all__ = ["DEADLETTER_REASONS", "Health", "Metrics", "MetricsServer"]

DEADLETTER_REASONS = (
    "empty_value",
    "too_large",
    "not_utf8",
    "invalid_json",
    "not_an_object",
    "validation_error",
    "no_text",
    "processing_error",
    "invalid_prepared",
    "too_slow",
)
_LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5)
_E2E_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300)


@dataclass
class Health:
    """What /readyz reports, as it is now.

    The Kafka adapter flips the flags as its lifecycle moves; ``broker_reachable``
    follows the periodic broker check (``streamer.kafka.probe``), not just the
    start; a batch in progress for longer than ``stuck_batch_seconds`` (a record
    that does not finish, a flush to a broker that does not answer) is not ready.
    """

    assigned: bool = False
    recovered: bool = False
    broker_reachable: bool = False
    stuck_batch_seconds: float = 60.0
    batch_started_at: float | None = None

    @property
    def batch_stuck(self) -> bool:
        started = self.batch_started_at
        return started is not None and time.monotonic() - started > self.stuck_batch_seconds

    @property
    def ready(self) -> bool:
        return self.assigned and self.recovered and self.broker_reachable and not self.batch_stuck

    def describe(self) -> str:
        return (
            f"assigned={self.assigned} recovered={self.recovered} "
            f"broker_reachable={self.broker_reachable} batch_stuck={self.batch_stuck}\n"
        )


class Metrics:
    def __init__(
        self, registry: CollectorRegistry | None = None, stuck_batch_seconds: float = 60.0
    ) -> None:
        """Every metric the service exports, created once, here: one table to read against the
        dashboard and the alerts. It is long because the list is; split, it would hide which
        series exist."""
        self.registry = registry if registry is not None else CollectorRegistry()
        r = self.registry
        ProcessCollector(registry=r)
        self.consumed = Counter(
            "streamer_messages_consumed", "Input messages consumed", ["topic"], registry=r
        )
        self.articles = Counter(
            "streamer_articles", "Articles published, by outcome", ["outcome"], registry=r
        )
        self.deadletters = Counter(
            "streamer_deadletters", "Dead letters, by reason", ["reason"], registry=r
        )
        self.prepared = Counter(
            "streamer_prepared", "Articles prepared and sent to the decision", registry=r
        )
        self.processing = Histogram(
            "streamer_processing_seconds",
            "Processing time of one article",
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        self.batch = Histogram(
            "streamer_batch_seconds",
            "One batch from poll to commit",
            buckets=_E2E_BUCKETS,
            registry=r,
        )
        self.end_to_end = Histogram(
            "streamer_end_to_end_seconds",
            "Input record timestamp to output acknowledged",
            buckets=_E2E_BUCKETS,
            registry=r,
        )
        self.index_size = Gauge("streamer_index_size", "Articles in the dedup window", registry=r)
        self.lag = Gauge(
            "streamer_consumer_lag",
            "Messages behind the end of the partition",
            ["topic", "partition"],
            registry=r,
        )
        self.recovery_in_progress = Gauge(
            "streamer_recovery_in_progress", "1 while the index is being rebuilt", registry=r
        )
        self.recovery_records = Counter(
            "streamer_recovery_records", "Journal records replayed into the index", registry=r
        )
        self.recovery_seconds = Gauge(
            "streamer_recovery_seconds", "Duration of the last index recovery", registry=r
        )
        self.standby_lag_records = Gauge(
            "streamer_standby_lag_records",
            "Journal records past what this instance's index has applied (a standby's lag)",
            registry=r,
        )
        self.commits = Counter("streamer_commits", "Consumer offset commits", registry=r)
        self.rebalances = Counter(
            "streamer_rebalances", "Partition assignment changes", ["event"], registry=r
        )
        self.health = Health(stuck_batch_seconds=stuck_batch_seconds)
        self.ready = Gauge("streamer_ready", "1 when the instance is ready", registry=r)
        # Read at each scrape: a stuck batch or a lost broker shows without an event.
        self.ready.set_function(lambda: 1.0 if self.health.ready else 0.0)
        self.build_info = Gauge("streamer_build_info", "Build information", ["version"], registry=r)
        self.build_info.labels(version=__version__).set(1)
        # Series that exist from the start: rate() cannot see a counter's first jump.
        for outcome in ("clean", "duplicate", "deadletter"):
            self.articles.labels(outcome=outcome)
        for reason in DEADLETTER_REASONS:
            self.deadletters.labels(reason=reason)

    def set_health(self, **flags: bool) -> None:
        for name, value in flags.items():
            setattr(self.health, name, value)

    # -- the Observer hooks (streamer.kafka.observer) ---------------------------------------------

    def service_started(self, input_topic: str, stateless: bool) -> None:
        self.consumed.labels(topic=input_topic)
        if stateless:
            self.set_health(broker_reachable=True, recovered=True)
        else:
            self.set_health(broker_reachable=True)

    def partitions_assigned(self, partitions: Collection[tuple[str, int]], stateless: bool) -> None:
        self.rebalances.labels(event="assigned").inc()
        self.set_health(assigned=bool(partitions), recovered=stateless)

    def partitions_revoked(
        self, partitions: Collection[tuple[str, int]], event: str, still_assigned: int
    ) -> None:
        self.rebalances.labels(event=event).inc()
        for topic, partition in partitions:
            with contextlib.suppress(KeyError):
                self.lag.remove(topic, str(partition))
        self.set_health(assigned=bool(still_assigned))

    def records_consumed(self, topic: str, records: int) -> None:
        self.consumed.labels(topic=topic).inc(records)

    def lag_measured(self, partition: tuple[str, int], lag: int) -> None:
        topic, number = partition
        self.lag.labels(topic, str(number)).set(lag)

    def offsets_committed(self) -> None:
        self.commits.inc()

    def batch_committed(
        self, results: Sequence[Result | None], seconds: float, index_size: int
    ) -> None:
        now_ms = time.time() * 1000
        for res in results:
            if res is None:
                continue
            self.articles.labels(outcome=res.outcome.value).inc()
            self.processing.observe(res.seconds)
            if res.error is not None:
                self.deadletters.labels(reason=res.error.type).inc()
            if res.source.timestamp_ms is not None:
                self.end_to_end.observe(max(now_ms - res.source.timestamp_ms, 0) / 1000)
        self.index_size.set(index_size)
        self.batch.observe(seconds)

    def record_prepared(self, seconds: float, is_article: bool) -> None:
        if is_article:
            self.prepared.inc()
        self.processing.observe(seconds)

    def recovery_started(self) -> None:
        self.recovery_in_progress.set(1)

    def recovery_finished(self, journal_records: int, seconds: float, index_size: int) -> None:
        self.recovery_records.inc(journal_records)
        self.recovery_seconds.set(seconds)
        self.recovery_in_progress.set(0)
        self.index_size.set(index_size)
        self.set_health(recovered=True)

    def standby_lag(self, records: int) -> None:
        self.standby_lag_records.set(records)

    def service_stopping(self) -> None:
        self.set_health(assigned=False, recovered=False)
        self.health.batch_started_at = None

    def broker_checked(self, reachable: bool) -> None:
        self.set_health(broker_reachable=reachable)

    def batch_started(self) -> None:
        self.health.batch_started_at = time.monotonic()

    def batch_ended(self) -> None:
        self.health.batch_started_at = None
