"""What verifying one candidate finds: the overlap of two shingle sets, the verdict, and
the ``MatchInfo`` a duplicate record carries (its kind, and the other clusters it
matched, ``match.also``). Pure functions and values: the index decides with them."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from streamer.models import MatchInfo


@dataclass(slots=True)
class Verdict:
    """One verified candidate: its measures, and how it stands against others."""

    row: int
    jaccard: float
    containment: float
    similarity: float  # the evidence that matched: Jaccard, or containment for a cut
    rank: float  # how good a match: containment weighed twice against Jaccard
    contained: bool = False  # matched on containment alone: a part of the other
    item_is_part: bool = False  # the item is the smaller of the two
    guards: list[str] = field(default_factory=list)


def also_clusters(chosen: str, clusters: list[str], cap: int) -> list[str]:
    """The clusters other than ``chosen`` among ``clusters`` (those of the candidates that
    passed, in candidate order), each once, at most ``cap``: ``match.also``."""
    out: list[str] = []
    for cluster in clusters:
        if len(out) >= cap:
            break
        if cluster != chosen and cluster not in out:
            out.append(cluster)
    return out


def match_info(
    jaccard: float,
    containment: float,
    guards: list[str],
    contained: bool,
    item_is_part: bool,
    also: list[str] | None = None,
) -> MatchInfo:
    """A near match's ``MatchInfo``: ``contained`` when it rests on containment alone
    (a part held in the other), saying which side is the part and its share; ``also``,
    the other clusters the item matched (output only: no decision, journal or store
    holds it)."""
    if not contained:
        return MatchInfo(
            kind="near",
            jaccard=round(jaccard, 4),
            containment=round(containment, 4),
            guards=guards,
            also=also or [],
        )
    return MatchInfo(
        kind="contained",
        jaccard=round(jaccard, 4),
        containment=round(containment, 4),
        guards=guards,
        part="this" if item_is_part else "duplicate_of",
        share=round(containment, 4),
        also=also or [],
    )


def overlap16(
    a: np.ndarray, ranks: np.ndarray | None, b: np.ndarray, n_a: int, n_b: int
) -> tuple[float, float]:
    """Jaccard and containment of two shingle sets, from their 16-bit fingerprints.

    The fingerprints are sorted multisets (two shingles of one article may fold to
    one value), counted with multiplicity so that folding loses nothing: the k-th
    copy of a value in ``a`` (``ranks``) matches if ``b`` has k+1 copies. The sizes
    are the true shingle counts. The measures are then exact unless two different
    shingles of the two articles share a fingerprint: about |a|*|b|/65536 spurious
    matches a pair, a fraction of one element for news-sized sets.
    """
    if a.size == 0 or b.size == 0:
        return 0.0, 0.0
    pos = np.searchsorted(b, a)
    if ranks is not None:
        pos += ranks
    np.minimum(pos, b.size - 1, out=pos)
    inter = min(int(np.count_nonzero(b[pos] == a)), n_a, n_b)
    return inter / (n_a + n_b - inter), inter / min(n_a, n_b)
