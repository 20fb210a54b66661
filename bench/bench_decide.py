"""The dedup decision alone: candidate retrieval, verification, guards, add and eviction.

Articles are prepared (validated, normalized, fingerprinted) before any timing;
then only the index's ``decide`` + ``add`` run, on one core, over a fresh index
per round, in wire order, with the protocol of ``pipeline.Decider``.
"""

from __future__ import annotations

import json
import statistics
import time
from dataclasses import replace
from typing import Any

from bench.bench_common import input_record, load_stories, median_rate
from streamer.config import Settings
from streamer.dedup.entry import IndexEntry
from streamer.dedup.index import DedupIndex
from streamer.pipeline import Decider, Preparer
from streamer.records import InputRecord, Prepared


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
    """What ``Decider.decide`` does with the index: decide, place in the cluster, add."""
    index = DedupIndex(settings.dedup)
    dups = 0
    for entry in entries:
        decision = index.decide(entry)
        if decision.is_duplicate:
            dups += 1
        if decision.indexed:
            index.add(entry.in_cluster(decision.cluster_id))
    return dups, index


def split_pass(settings: Settings, entries: list[IndexEntry]) -> tuple[float, float]:
    """Seconds spent in ``decide`` (candidate retrieval and verification) and in ``add``
    (insertion and the evictions it triggers) over one pass: where the writer's time goes."""
    index = DedupIndex(settings.dedup)
    clock = time.perf_counter
    in_decide = in_add = 0.0
    for entry in entries:
        t0 = clock()
        decision = index.decide(entry)
        t1 = clock()
        in_decide += t1 - t0
        if decision.indexed:
            index.add(entry.in_cluster(decision.cluster_id))
            in_add += clock() - t1
    return in_decide, in_add


def decider_pass(settings: Settings, prepared: list[Prepared]) -> None:
    decider = Decider(settings)
    for p in prepared:
        decider.decide(p)


def run(limit: int | None = 20_000, rounds: int = 5) -> dict[str, Any]:
    """Median rates of ``rounds`` passes over the entries as the Preparer produces them
    (``Derived`` worked out there, in the stateless stage): what the one ordered writer pays.

    Entries are immutable and the index keeps nothing on them, so every round
    runs on the same ones. ``decide_only_per_s``: the ``decide`` calls alone
    (retrieval and verification, the issue's definition of the decision), timed
    call by call in three more passes that also add, so the index grows as it
    does in the writer. ``decide_add_cold_per_s``: one pass on entries with
    nothing derived, as the dedup role reading ``news.prepared`` gets them.
    """
    settings = Settings.model_validate({})
    prepared = prepared_articles(limit, settings)
    entries = [p.entry for p in prepared]
    n = len(entries)
    bare = [replace(e) for e in entries]  # ``replace`` leaves ``derived`` behind
    cold_t = time.perf_counter()
    dups, index = index_pass(settings, bare)
    cold = n / (time.perf_counter() - cold_t)
    index_pass(settings, entries)  # warm-up
    rates = [median_rate(n, lambda: index_pass(settings, entries), 1)[0] for _ in range(rounds)]
    splits = [split_pass(settings, entries) for _ in range(3)]
    decide_s = statistics.median(d for d, _ in splits)
    add_s = statistics.median(a for _, a in splits)
    decider_rate, _ = median_rate(len(prepared), lambda: decider_pass(settings, prepared), rounds)
    return {
        "articles": n,
        "duplicates": dups,
        "index_size_at_end": len(index),
        "decide_add_per_s": statistics.median(rates),
        "decide_add_rounds": rates,
        "decide_only_per_s": n / decide_s,
        "decide_us": decide_s / n * 1e6,
        "add_evict_us": add_s / n * 1e6,
        "decide_add_cold_per_s": cold,
        "decider_with_record_per_s": decider_rate,
    }


if __name__ == "__main__":
    print(run())
