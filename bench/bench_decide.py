"""The dedup decision alone: candidate retrieval, verification, guards, add and eviction.

Articles are prepared (validated, normalized, fingerprinted) before any timing;
then only the index's ``decide`` + ``add`` run, on one core, over a fresh index
per round, in wire order.
"""

from __future__ import annotations

import json
from typing import Any

from bench.bench_common import input_record, load_stories, median_rate
from streamer.config import Settings
from streamer.index import DedupIndex, IndexEntry
from streamer.pipeline import Decider, InputRecord, Prepared, Preparer


def prepared_articles(limit: int | None, settings: Settings | None = None) -> list[Prepared]:
    settings = settings or Settings.model_validate({})
    preparer = Preparer(settings)
    out = []
    for i, story in enumerate(load_stories(limit)):
        value = json.dumps(input_record(story)).encode()
        rec = InputRecord(value=value, topic="news.raw", partition=0, offset=i)
        out.append(preparer.prepare(rec))
    return out


def index_pass(settings: Settings, entries: list[IndexEntry]) -> tuple[int, DedupIndex]:
    index = DedupIndex(settings.dedup)
    dups = 0
    for entry in entries:
        decision = index.decide(entry)
        if decision.is_duplicate:
            dups += 1
        if decision.indexed:
            entry.cluster_id = decision.cluster_id
            index.add(entry)
    return dups, index


def decider_pass(settings: Settings, prepared: list[Prepared]) -> None:
    decider = Decider(settings)
    for p in prepared:
        decider.decide(p)


def compact_figures(settings: Settings, entries: list[IndexEntry], rounds: int) -> dict[str, Any]:
    """The compact-index prototype on the same articles (see bench_compact_index)."""
    from bench.bench_compact_index import CompactIndex, Item

    window = settings.dedup.window.total_seconds()
    deriver = CompactIndex(1 << 15, window)

    def derive() -> list[Item]:
        return [
            deriver.item(
                e.id,
                e.ts,
                e.content_hash,
                e.shingles,
                e.signature,
                e.numbers,
                e.entities,
                e.n_tokens,
            )
            for e in entries
        ]

    items = derive()

    def decide_all() -> int:
        index = CompactIndex(1 << 15, window)
        dups = 0
        for it in items:
            dup, cluster, _ = index.decide(it)
            if dup is not None:
                dups += 1
            if dup != it.id:
                index.add(it, cluster)
        return dups

    dups = decide_all()
    rate, _ = median_rate(len(items), decide_all, rounds)
    item_rate, _ = median_rate(len(items), derive, rounds)
    return {
        "compact_decide_add_per_s": rate,
        "compact_item_per_s": item_rate,
        "compact_duplicates": dups,
    }


def run(limit: int | None = 20_000, rounds: int = 5) -> dict[str, Any]:
    settings = Settings.model_validate({})
    prepared = prepared_articles(limit, settings)
    entries = [p.entry for p in prepared]
    dups, index = index_pass(settings, entries)  # warm-up, and the figures below
    rate, _ = median_rate(len(entries), lambda: index_pass(settings, entries), rounds)
    decider_rate, _ = median_rate(len(prepared), lambda: decider_pass(settings, prepared), rounds)
    compact = compact_figures(settings, entries, rounds)
    return {
        **compact,
        "articles": len(entries),
        "duplicates": dups,
        "index_size_at_end": len(index),
        "decide_add_per_s": rate,
        "decider_with_record_per_s": decider_rate,
    }


if __name__ == "__main__":
    print(run())
