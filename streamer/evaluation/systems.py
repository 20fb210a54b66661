"""The systems an evaluation runs: the one module of the package that calls the product.

A system takes the stream's input records and returns, for every record it
published (dead letters are left out), the id it was marked a duplicate of, or
None. Every data set scores the same systems, each in its own way.
"""

from __future__ import annotations

from collections.abc import Callable

from streamer.config import Settings
from streamer.evaluation.baseline import naive_decisions
from streamer.evaluation.meter import Clusters, ClusterSystem
from streamer.files_io import dedup_records
from streamer.models import Outcome
from streamer.records import Result

System = Callable[[list[dict]], dict[str, str | None]]


def published_links(results: list[Result]) -> dict[str, str | None]:
    """Article id -> ``duplicate_of`` of every clean or duplicate result."""
    out: dict[str, str | None] = {}
    for result in results:
        if result.outcome is Outcome.DEADLETTER:
            continue
        if result.article_id is None or result.decision is None:
            raise ValueError(f"a published result without its decision: {result.outcome}")
        out[result.article_id] = result.decision.duplicate_of
    return out


def published_clusters(results: list[Result]) -> Clusters:
    """Article id -> ``cluster_id`` of every clean or duplicate result, and -> the other
    clusters its ``match.also`` names (duplicates that name any)."""
    cluster: dict[str, str] = {}
    also: dict[str, tuple[str, ...]] = {}
    for result in results:
        decision = result.decision
        if result.outcome is Outcome.DEADLETTER or result.article_id is None or decision is None:
            continue
        cluster[result.article_id] = decision.cluster_id
        if decision.match is not None and decision.match.also:
            also[result.article_id] = tuple(decision.match.also)
    return Clusters(cluster, also)


def streamer_clusters(settings: Settings) -> ClusterSystem:
    """The real pipeline's clusters (``files_io.dedup_records``, as ``streamer dedup``)."""

    def system(records: list[dict]) -> Clusters:
        return published_clusters(dedup_records(records, settings))

    return system


def naive_clusters(records: list[dict]) -> Clusters:
    """The naive baseline's clusters: a duplicate joins its root's, a clean record is its own."""
    return Clusters({rid: root or rid for rid, root in naive_decisions(records).items()})


def streamer_system(settings: Settings) -> System:
    """The real pipeline (``files_io.dedup_records``, as ``streamer dedup`` runs it)."""

    def system(records: list[dict]) -> dict[str, str | None]:
        return published_links(dedup_records(records, settings))

    return system
