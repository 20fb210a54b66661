"""Whether two versions' differing facts sit in the same place of the same sentence.

A fact one version has and the other lacks is what editing does: a paper adds an
age, a town, a rank, drops a figure, names a witness the wire left out. A
*substitution* is different news: the same sentence saying another number, name
or month ("raises copper price to 66 cts" / "... to 65.50 cts", the hog report of
another town). What tells the two apart is context: a substituted fact sits where
the other version has its own different fact, between the same words.

The index holds no text of its articles (memory is ~1 KB an article), only each
one's word 3-shingles folded to 16 bits. That is enough to align a fact: the item's
differing facts are found in its tokens, and side by side ones joined into one run
``t[i:j]`` (a name of two words, "sioux city"); the candidate reads one of its own
differing facts ``y`` in the run's place when it holds the shingles on both sides of
it, ``(t[i-2], t[i-1], y)`` on the left and ``(y', t[j], t[j+1])`` on the right (``y'``
the last word of the same or another of its facts: "john smith" for "peter jones"),
or one of them and ``(t[i-1], y, t[j])`` for a one-word ``y``. Where the text ends on
one side, the sides there are to hold count. The item's tokens are its fingerprint
tokens (what its shingles were made of), as their 64-bit hashes: the stateless stage
has them at hand and the entry carries them to the decision (not stored, not
journaled); a decision that gets an entry without them (from ``news.prepared``)
works them out from the record's text. They are looked at only when the fact guards
find facts differing on both sides of a pair that already passed on similarity: the
rare, costly case.

Why both sides: a 16-bit fold makes a spurious hit about ``n_candidate / 65536`` per
lookup (~1% for a 600-shingle article), and a pair of rewrites that differ in a few
dozen names (a paper's long feature beside the wire's report) makes hundreds of
lookups, so one side alone found a "substitution" in nearly every such pair (on
METER, ``Britain`` where the other wrote ``office``, ``who`` for ``Durban``). Two
shingles in one place make a spurious hit about that rate squared. A substitution
really made in a sentence holds on both sides, as the templated look-alikes do
("raises copper price to 66 cts" / "... to 65.50 cts"). Figures are the exception
(``both_sides=False``, see ``substituted``): they stand in runs of figures.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache

import numpy as np

from streamer.text.fact_keys import DATE_PREFIX, REPEAT_MARK
from streamer.text.facts import MONTHS
from streamer.text.fingerprint import POSITION_MULTIPLIERS, Fingerprinter
from streamer.text.tokens import fingerprint_tokens

_U64 = np.uint64
_M = POSITION_MULTIPLIERS[:3]  # the shingle hash's, position by position
# Occurrences x candidate facts looked at, at most: past it the pair is judged on what
# was looked at (a long article's hundreds of figures say nothing more).
_MAX_PAIRS = 4096

_MONTH_WORDS: dict[int, tuple[str, ...]] = {}
for _word, _n in MONTHS.items():
    _MONTH_WORDS[_n] = (*_MONTH_WORDS.get(_n, ()), _word)


@lru_cache(maxsize=8192)
def key_spellings(key: str) -> tuple[tuple[str, ...], ...]:
    """The token sequences a fact key is written with in fingerprint tokens.

    A number key is its token (the repeat mark dropped), a month its names
    (``@4``: ``april``, ``apr``), a name its fingerprint tokens.
    """
    base = key.partition(REPEAT_MARK)[0] if key[:1] != DATE_PREFIX else key
    if base[:1] == DATE_PREFIX:
        try:
            return tuple((w,) for w in _MONTH_WORDS.get(int(base[1:]), ()))
        except ValueError:
            return ()
    tokens = tuple(fingerprint_tokens(base))
    return (tokens,) if tokens else ()


class ItemTokens:
    """An item's fingerprint-token hashes, in order, and where its facts sit (each looked
    up once: a re-sent story is a candidate for every copy)."""

    def __init__(self, hashes: np.ndarray, hasher: Fingerprinter) -> None:
        self.hashes = np.asarray(hashes, dtype=_U64)
        self.hasher = hasher
        self._spans: dict[str, list[tuple[int, int]]] = {}

    def spans(self, key: str) -> list[tuple[int, int]]:
        """Where the item writes a fact key: (start, end) token spans."""
        found = self._spans.get(key)
        if found is not None:
            return found
        hashes = self.hashes
        out = []
        for spelling in key_spellings(key):
            want = self.hasher.token_hashes(spelling)
            k = len(spelling)
            for i in np.flatnonzero(hashes == want[0]).tolist():
                if k == 1 or np.array_equal(hashes[i : i + k], want):
                    out.append((i, i + k))
        self._spans[key] = out
        return out


def _fold(acc: np.ndarray) -> np.ndarray:
    """The shingle hash's finalizer (``Fingerprinter.shingles``), kept to its low 16 bits."""
    acc = acc ^ (acc >> _U64(31))
    acc = acc ^ (acc >> _U64(32))
    return (acc & _U64(0xFFFF)).astype(np.uint16)


def runs(spans: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    """Spans joined where they touch or overlap: a name of several words is one run."""
    out: list[list[int]] = []
    for i, j in sorted(set(spans)):
        if out and i <= out[-1][1]:
            out[-1][1] = max(out[-1][1], j)
        else:
            out.append([i, j])
    return [(i, j) for i, j in out]


def _held(fingerprints: np.ndarray, probes: np.ndarray) -> bool:
    """Whether the sorted ``fingerprints`` hold any of ``probes``."""
    pos = np.searchsorted(fingerprints, probes)
    np.minimum(pos, fingerprints.size - 1, out=pos)
    return bool((fingerprints[pos] == probes).any())


def substituted(
    item: ItemTokens,
    mine: Iterable[str],
    theirs: Iterable[str],
    fingerprints: np.ndarray,
    both_sides: bool = True,
) -> bool:
    """True if a run of ``mine`` (the item's facts) sits where the candidate writes one of
    ``theirs``, on both sides of it (see the module docstring).

    ``both_sides=False`` (figures): one side of one fact's place is enough. Figures stand
    in runs of figures ("gains of 4-3/4 to 9-1/4 cents" / "gains of three to 6-1/2
    cents"), so a substituted figure often shares only one side with the other
    version, and two versions differ in a few figures, not dozens of names, so the
    lookups are few and a spurious hit rare.

    ``fingerprints``: the candidate's sorted 16-bit shingle fingerprints.
    """
    if fingerprints.size == 0:
        return False
    ys = [s for key in theirs for s in key_spellings(key)]
    if not ys:
        return False
    found = [span for key in mine for span in item.spans(key)]
    spans = runs(found) if both_sides else found
    if not spans:
        return False
    spans = spans[: max(1, _MAX_PAIRS // len(ys))]
    th = item.hashes
    n = th.size
    hasher = item.hasher
    first = hasher.token_hashes([y[0] for y in ys])
    last = hasher.token_hashes([y[-1] for y in ys])
    single = np.array([len(y) == 1 for y in ys])
    with np.errstate(over="ignore"):
        for i, j in spans:
            sides = hits = 0
            if i >= 2:  # (t[i-2], t[i-1], y)
                sides += 1
                left = _fold((th[i - 2] * _M[0]) ^ (th[i - 1] * _M[1]) ^ (first * _M[2]))
                hits += _held(fingerprints, left)
            if j + 1 < n:  # (y', t[j], t[j+1])
                sides += 1
                right = _fold((last * _M[0]) ^ (th[j] * _M[1]) ^ (th[j + 1] * _M[2]))
                hits += _held(fingerprints, right)
            if hits < (min(sides, 2) if both_sides else 1) and i >= 1 and j < n and single.any():
                # (t[i-1], y, t[j]): the one-word fact between the same two words
                mid = _fold((th[i - 1] * _M[0]) ^ (first * _M[1]) ^ (th[j] * _M[2]))[single]
                sides += 1
                hits += _held(fingerprints, mid)
            if sides and hits >= (min(sides, 2) if both_sides else 1):
                return True
    return False
