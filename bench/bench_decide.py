"""The dedup decision alone: candidate retrieval, verification, guards, add and eviction.

Articles are prepared (validated, normalized, fingerprinted) before any timing;
then only the index's ``decide`` + ``add`` run, on one core, over a fresh index
per round, in wire order. The index as it was before the compact layout
(``bench.legacy_index``) runs in alternate rounds on the same articles, so the
two rates come from one run on one (shared, noisy) machine.
"""

from __future__ import annotations

import json
import statistics
import time
from dataclasses import replace
from typing import Any

from bench.bench_common import input_record, load_stories, median_rate
from bench.legacy_index import LegacyEntry, LegacyIndex, legacy_entry
from streamer.config import Settings
from streamer.index import DedupIndex, IndexEntry, derive
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
            entry.cluster_id = decision.cluster_id
            index.add(entry)
            in_add += clock() - t1
    return in_decide, in_add


def decider_pass(settings: Settings, prepared: list[Prepared]) -> None:
    decider = Decider(settings)
    for p in prepared:
        decider.decide(p)


def legacy_pass(settings: Settings, entries: list[LegacyEntry]) -> int:
    """The same pass on the index as it was before the compact layout (bench.legacy_index)."""
    index = LegacyIndex(settings.dedup)
    dups = 0
    for entry in entries:
        decision = index.decide(entry)
        if decision.is_duplicate:
            dups += 1
        if decision.indexed:
            entry.cluster_id = decision.cluster_id
            index.add(entry)
    return dups


def as_prepared(entry: IndexEntry, settings: Settings) -> IndexEntry:
    """A fresh copy of ``entry`` as the Preparer hands it over: ``derive`` done, and
    nothing an index caches on an entry (the guards' fact split)."""
    return derive(replace(entry, _view=None), settings.dedup)


def run(limit: int | None = 20_000, rounds: int = 5) -> dict[str, Any]:
    """Median rates of ``rounds`` passes; the new and the legacy index alternate rounds.

    Each round of the new index runs on fresh copies of the entries as the
    Preparer produces them (``derive`` done there, in the stateless stage): what
    the one ordered writer pays. The legacy index keeps its entries' derived keys
    across rounds, as it did when it was the index (its figure is the flattering
    one). ``decide_only_per_s``: the ``decide`` calls alone (retrieval and
    verification, the issue's definition of the decision), timed call by call in
    three more passes that also add, so the index grows as it does in the writer.
    ``*_cold_per_s``: one pass on entries with nothing derived, as the dedup
    role reading ``news.prepared`` gets them.
    """
    settings = Settings.model_validate({})
    prepared = prepared_articles(limit, settings)
    entries = [p.entry for p in prepared]
    legacy = [legacy_entry(e) for e in entries]
    n = len(entries)
    bare = [replace(e, _view=None) for e in entries]
    cold_t = time.perf_counter()
    dups, index = index_pass(settings, bare)
    cold = n / (time.perf_counter() - cold_t)
    cold_t = time.perf_counter()
    legacy_pass(settings, [legacy_entry(e) for e in entries])
    legacy_cold = n / (time.perf_counter() - cold_t)
    index_pass(settings, [as_prepared(e, settings) for e in entries])  # warm-up
    legacy_dups = legacy_pass(settings, legacy)
    new_rates, old_rates = [], []
    for _ in range(rounds):
        fresh = [as_prepared(e, settings) for e in entries]
        new_rates.append(median_rate(n, lambda f=fresh: index_pass(settings, f), 1)[0])
        old_rates.append(median_rate(n, lambda: legacy_pass(settings, legacy), 1)[0])
    splits = [split_pass(settings, [as_prepared(e, settings) for e in entries]) for _ in range(3)]
    decide_s = statistics.median(d for d, _ in splits)
    add_s = statistics.median(a for _, a in splits)
    decider_rate, _ = median_rate(len(prepared), lambda: decider_pass(settings, prepared), rounds)
    return {
        "articles": n,
        "duplicates": dups,
        "legacy_duplicates": legacy_dups,
        "index_size_at_end": len(index),
        "decide_add_per_s": statistics.median(new_rates),
        "legacy_decide_add_per_s": statistics.median(old_rates),
        "decide_add_rounds": new_rates,
        "legacy_decide_add_rounds": old_rates,
        "decide_only_per_s": n / decide_s,
        "decide_us": decide_s / n * 1e6,
        "add_evict_us": add_s / n * 1e6,
        "decide_add_cold_per_s": cold,
        "legacy_decide_add_cold_per_s": legacy_cold,
        "decider_with_record_per_s": decider_rate,
    }


if __name__ == "__main__":
    print(run())
