"""How alike two texts are, by the evaluation's own yardstick, not the product's.

Ground truth must not be computed with the code it grades: these word shingles
(lower-case, ticker tags kept as words) and the exact all-pairs search are
independent of ``streamer``'s normalization and MinHash index.
"""

from __future__ import annotations

import math
import re
from collections import defaultdict
from collections.abc import Sequence

_TOKEN = re.compile(r"[a-z0-9]+(?:[.,'/-][a-z0-9]+)*")
TICKER = re.compile(r"<([^<>]+)>")


def norm_tokens(text: str) -> list[str]:
    """Lower-case words; figures keep their inner punctuation (``1.5``, ``3/4``)."""
    return _TOKEN.findall(text.lower())


def shingles(text: str, k: int = 5) -> frozenset[str]:
    """Word ``k``-shingles; a text of ``k`` words or fewer is one shingle."""
    words = norm_tokens(TICKER.sub(r" \1 ", text))
    if len(words) <= k:
        return frozenset([" ".join(words)]) if words else frozenset()
    return frozenset(" ".join(words[i : i + k]) for i in range(len(words) - k + 1))


def jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    if not a and not b:
        return 1.0
    inter = len(a & b)
    return inter / (len(a) + len(b) - inter)


def similar_pairs(sets: Sequence[frozenset[str]], threshold: float) -> dict[tuple[int, int], float]:
    """Exact all-pairs Jaccard >= threshold via prefix filtering (rarest tokens first).

    Keys are ``(earlier index, later index)``; exact, unlike LSH, because labels
    built from a sample of the pairs would make the scores depend on the sample.
    """
    freq: dict[str, int] = defaultdict(int)
    for s in sets:
        for t in s:
            freq[t] += 1
    index: dict[str, list[int]] = defaultdict(list)
    out: dict[tuple[int, int], float] = {}
    for i, s in enumerate(sets):
        if not s:
            continue
        ordered = sorted(s, key=lambda t: (freq[t], t))
        prefix = len(s) - math.ceil(threshold * len(s)) + 1
        candidates: set[int] = set()
        for t in ordered[:prefix]:
            candidates.update(index[t])
            index[t].append(i)
        for j in candidates:
            other = sets[j]
            small, large = sorted((len(s), len(other)))
            if small < threshold * large:
                continue
            jac = jaccard(s, other)
            if jac >= threshold:
                out[(j, i)] = jac
    return out
