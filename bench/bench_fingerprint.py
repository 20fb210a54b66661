"""Fingerprinting: our numpy Fingerprinter against datasketch's naive MinHash.update loop.

Both sides get the same token lists (from ``normalize_content``, made before any
timing) and the same shingle hash function (``Fingerprinter.shingle_hash``), so
their signatures must be identical; every text is checked.
"""

from __future__ import annotations

import numpy as np
from datasketch import MinHash

from bench.bench_common import load_stories, median_rate
from streamer.text.content import normalize_content
from streamer.text.fingerprint import Fingerprinter

NUM_PERM, SEED, K = 128, 1, 3


def corpus_tokens(limit: int | None) -> list[list[str]]:
    """The tokens the pipeline fingerprints: fp_title + fp_body of the normalized story."""
    out = []
    for s in load_stories(limit):
        norm = normalize_content(title=s.get("title"), body=s["body"], html=None)
        out.append((norm.fp_title + " " + norm.fp_body).split())
    return out


def shingle_tuples(tokens: list[str], k: int = K) -> list[tuple[str, ...]]:
    if not tokens:
        return []
    k = min(k, len(tokens))
    return [tuple(tokens[i : i + k]) for i in range(len(tokens) - k + 1)]


def naive_signatures(texts: list[list[tuple[str, ...]]], hashfunc: object) -> list[np.ndarray]:
    out = []
    for shingles in texts:
        m = MinHash(num_perm=NUM_PERM, seed=SEED, hashfunc=hashfunc, scheme="affine32")
        for s in shingles:
            m.update(s)
        out.append(m.hashvalues)
    return out


def ours_signatures(fp: Fingerprinter, texts: list[list[str]]) -> list[np.ndarray]:
    return [fp.signature(fp.shingles(tokens)) for tokens in texts]


def run(limit: int | None = 2000, rounds: int = 3) -> dict[str, float]:
    tokens = corpus_tokens(limit)
    shingled = [shingle_tuples(t) for t in tokens]
    hasher = Fingerprinter(NUM_PERM, SEED, K)  # its shingle_hash is the naive loop's hashfunc
    ours = Fingerprinter(NUM_PERM, SEED, K)
    # Warm both token caches the same way (a long-running service has them warm).
    naive_sigs = naive_signatures(shingled, hasher.shingle_hash)
    our_sigs = ours_signatures(ours, tokens)
    mismatches = sum(not np.array_equal(a, b) for a, b in zip(naive_sigs, our_sigs, strict=True))
    naive_rate, _ = median_rate(
        len(tokens), lambda: naive_signatures(shingled, hasher.shingle_hash), rounds
    )
    ours_rate, _ = median_rate(len(tokens), lambda: ours_signatures(ours, tokens), rounds)
    return {
        "texts": len(tokens),
        "naive_per_s": naive_rate,
        "ours_per_s": ours_rate,
        "speedup": ours_rate / naive_rate,
        "mismatches": mismatches,
    }


if __name__ == "__main__":
    print(run())
