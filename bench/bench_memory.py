"""Resident memory per indexed article, at N synthetic articles in the window.

Each measurement runs in a fresh subprocess: RSS (VmRSS from /proc) after the
imports and the generator's setup, then again after N articles were added
(with a full GC both times), divided by N, for ``kind`` ``index`` (the service's
``streamer.dedup.index.DedupIndex``, the only kind).

Inputs are built one article at a time by a generator and dropped after ``add``:
the benchmark holds no reference to any article, so whatever survives is what
the index keeps. Articles are synthetic but shaped like the real ones: 100-200
random 32-bit shingle hashes each, the real Fingerprinter's signature of them,
an id like the service's, a content hash, and the facts (numbers, entities,
token count) of a real Reuters story, cycled over a pool of POOL stories, with
their strings copied per article. Timestamps are spread over 90% of the
window, so nothing is evicted.

What this does not show: the pool bounds the distinct fact strings, so the
index's vocabulary (one entry per distinct name or title word, about 100-150 B
each) stays small here; a real week of news has more distinct names. The
figure ``vocabulary_words`` is reported so that cost can be estimated.
"""

from __future__ import annotations

import gc
import hashlib
import json
import subprocess
import sys
import time
from dataclasses import replace
from typing import Any

import numpy as np

from bench.bench_common import REPO, CorpusMissing, rss_bytes
from streamer.config import Settings
from streamer.dedup.entry import IndexEntry
from streamer.dedup.index import DedupIndex
from streamer.text.fingerprint import Fingerprinter

POOL = 2000
PROBES = 2000


def _copy(words: frozenset[str]) -> frozenset[str]:
    # A fresh string object per article, as parsing each article's JSON would give.
    return frozenset((w + "\0")[:-1] for w in words)


def fact_pool() -> list[IndexEntry]:
    """Real facts from Reuters stories, or a small synthetic pool without the corpus."""
    try:
        from bench.bench_decide import prepared_articles

        return [p.entry for p in prepared_articles(POOL)]
    except CorpusMissing:
        rng = np.random.default_rng(7)
        return [
            IndexEntry(
                id="x",
                cluster_id="x",
                ts=0.0,
                content_hash="0" * 32,
                shingles=np.empty(0, np.uint32),
                signature=np.empty(0, np.uint32),
                numbers=frozenset(str(int(v)) for v in rng.integers(1, 10**6, 5)),
                entities=frozenset(f"name{int(v)}" for v in rng.integers(0, 10**5, 8)),
                n_tokens=150,
            )
            for _ in range(POOL)
        ]


def synthetic(n: int, seed: int = 1) -> Any:
    """Yield n IndexEntry, one at a time (nothing is kept but what the index keeps)."""
    settings = Settings.model_validate({})
    fp = Fingerprinter(settings.dedup.num_perm, settings.dedup.seed, settings.dedup.shingle_size)
    pool = fact_pool()
    rng = np.random.default_rng(seed)
    base = 1.7e9
    step = settings.dedup.window.total_seconds() * 0.9 / max(n, 1)
    sizes = rng.integers(100, 201, n)
    gc.collect()
    yield None  # setup done: the caller measures the baseline here
    for i in range(n):
        shingles = np.unique(rng.integers(0, 2**32, int(sizes[i]), dtype=np.uint64)).astype(
            np.uint32
        )
        t = pool[i % len(pool)]
        article_id = f"s{i:09d}"
        yield replace(
            t,
            id=article_id,
            cluster_id=article_id,
            ts=base + i * step,
            content_hash=hashlib.blake2b(article_id.encode(), digest_size=16).hexdigest(),
            shingles=shingles,
            signature=fp.signature(shingles),
            numbers=_copy(t.numbers),
            entities=_copy(t.entities),
        )  # nothing derived (``replace`` leaves it behind): ``add`` works it out
        del shingles


def child(kind: str, n: int) -> dict[str, Any]:
    settings = Settings.model_validate({})
    gen = synthetic(n)
    next(gen)
    # The baseline is taken before the index exists: arrays it fills up front count.
    before = rss_bytes()
    if kind != "index":
        raise ValueError(f"unknown kind {kind!r}: only 'index' is measured")
    index = DedupIndex(settings.dedup)
    started = time.perf_counter()
    for entry in gen:
        index.add(entry)
    seconds = time.perf_counter() - started
    entry = None
    gc.collect()
    after = rss_bytes()
    out = {
        "kind": kind,
        "n": n,
        "indexed": len(index),
        "rss_before_mb": before / 2**20,
        "rss_after_mb": after / 2**20,
        "bytes_per_article": (after - before) / n,
        "build_s": seconds,
    }
    out["vocabulary_words"] = len(index.store.vocabulary)
    out["capacity_rows"] = index.store.cap
    # How fast the full index decides: fresh articles (not added), timed after they
    # are built. Random shingles, so the walks meet only slot collisions.
    probes = [  # other ids and texts than the indexed articles of the same number
        replace(p, id="p" + p.id, content_hash="p" + p.content_hash)
        for p in list(synthetic(PROBES, seed=2))[1:]
    ]
    started = time.perf_counter()
    for p in probes:
        index.decide(p)
    out["decide_per_s_at_n"] = PROBES / (time.perf_counter() - started)
    return out


def measure(kind: str, n: int) -> dict[str, Any]:
    proc = subprocess.run(
        [sys.executable, "-m", "bench.bench_memory", kind, str(n)],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"memory child failed: {proc.stderr[-2000:]}")
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def run(n: int = 1_000_000, kinds: tuple[str, ...] = ("index",)) -> dict[str, Any]:
    return {kind: measure(kind, n) for kind in kinds}


if __name__ == "__main__":
    print(json.dumps(child(sys.argv[1], int(sys.argv[2]))))
