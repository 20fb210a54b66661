"""The systems an evaluation runs: the one module of the package that calls the product.

A system takes the stream's input records and returns, for every record it
published (dead letters are left out), the id it was marked a duplicate of, or
None. Every data set scores the same systems, each in its own way.
"""

from __future__ import annotations

from collections.abc import Callable

from streamer.config import Settings
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


def streamer_system(settings: Settings) -> System:
    """The real pipeline (``files_io.dedup_records``, as ``streamer dedup`` runs it)."""

    def system(records: list[dict]) -> dict[str, str | None]:
        return published_links(dedup_records(records, settings))

    return system
