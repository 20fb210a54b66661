"""Real hard negatives: Reuters stories that look alike but are different news.

A wire sends many templated items (dividends, earnings, price changes, money-market
notes) whose text differs only in the company, the figures or the dates. A system
that merges them loses news; these pairs, found in the corpus rather than made up,
measure that. The criteria are written out in :func:`find_hard_negatives`.
"""

from __future__ import annotations

import math
import random
from collections import defaultdict
from collections.abc import Sequence
from datetime import UTC, datetime
from itertools import combinations

from streamer.evaluation.similarity import TICKER, jaccard, norm_tokens, shingles
from streamer.evaluation.wire import (
    city,
    entities,
    numbers,
    story_time,
    title_tickers,
    title_words,
)


def _is_substitution(a: frozenset[str], b: frozenset[str]) -> bool:
    return bool(a - b) and bool(b - a)


def _looks_like_update(a: dict, b: dict, jac5: float) -> bool:
    """True if b may be an update/correction/re-titled re-send of a (same story)."""
    ta, tb = title_words(a), title_words(b)
    title_j = len(ta & tb) / max(1, len(ta | tb))
    same_title = (
        " ".join((a.get("title") or "").split()).upper()
        == " ".join((b.get("title") or "").split()).upper()
    )
    da, db = story_time(a), story_time(b)
    gap = abs((da - db).total_seconds()) if da is not None and db is not None else math.inf
    if same_title and (jac5 >= 0.9 or gap < 7 * 86400):
        return True
    same_city = bool(city(a)) and city(a) == city(b)
    return gap < 86400 and (title_j >= 0.4 or same_city)


def distinct_news(a: dict, b: dict, jac5: float) -> bool:
    """Templated look-alikes that are different news (the hard-negative criteria)."""
    na, nb = numbers(a.get("body") or ""), numbers(b.get("body") or "")
    ea, eb = entities(a), entities(b)
    xa, xb = title_tickers(a), title_tickers(b)
    if not (_is_substitution(na, nb) or _is_substitution(ea, eb) or (xa and xb and xa != xb)):
        return False
    return not _looks_like_update(a, b, jac5)


def find_hard_negatives(
    stories: Sequence[dict], n: int, rng: random.Random
) -> list[tuple[dict, dict]]:
    """Pairs of real, distinct Reuters stories that look alike but are different news.

    Criteria (all must hold):

    1. Candidates come from buckets: same first three title words (tickers removed), same
       first four body words with numbers masked (templates such as ``Qtly div # cts``),
       same first topic; all pairs inside a bucket (chunks of 500) are compared exactly.
    2. Look-alike: Jaccard of the bodies' word 3-shingle sets (lower-case, tickers kept as
       words) >= 0.5.
    3. Different news: the two bodies *substitute* slot values: each has a number the other
       lacks, or each has a company/entity token (capitalized word that is not
       sentence-initial; ticker tags do not count, wires add and drop them) the other lacks;
       or both titles carry tickers and they differ. One-sided additions do not count:
       those are updates that add detail.
    4. Not a re-send, correction or update of one story: excluded are pairs with the same
       title that are 5-shingle Jaccard >= 0.9 or published within 7 days of each other,
       and pairs published within 24 hours of each other whose title words (tickers and
       numbers removed) have Jaccard >= 0.4 or whose datelines name the same city.

    Returns up to ``n`` pairs (earlier story first), sampled with ``rng``; fewer if the
    corpus holds fewer.
    """
    lst = [s for s in stories if (s.get("body") or "").strip()]
    sh3 = [shingles(s.get("body") or "", 3) for s in lst]
    buckets: dict[str, list[int]] = defaultdict(list)
    for i, s in enumerate(lst):
        title = TICKER.sub(" ", s.get("title") or "").split()
        buckets["T:" + " ".join(title[:3]).upper()].append(i)
        words = norm_tokens(s.get("body") or "")[:4]
        masked = ["#" if any(c.isdigit() for c in w) else w for w in words]
        buckets["B:" + " ".join(masked)].append(i)
        for topic in (s.get("topics") or [])[:1]:
            buckets["P:" + topic].append(i)
    found: dict[tuple[int, int], float] = {}
    for members in buckets.values():
        for start in range(0, len(members), 500):
            for i, j in combinations(members[start : start + 500], 2):
                key = (min(i, j), max(i, j))
                if key in found:
                    continue
                jac = jaccard(sh3[i], sh3[j])
                if jac >= 0.5:
                    found[key] = jac
    pairs: list[tuple[dict, dict]] = []
    for i, j in sorted(found):
        a, b = lst[i], lst[j]
        jac5 = jaccard(shingles(a.get("body") or ""), shingles(b.get("body") or ""))
        if distinct_news(a, b, jac5):
            ta = story_time(a) or datetime.min.replace(tzinfo=UTC)
            tb = story_time(b) or datetime.min.replace(tzinfo=UTC)
            pairs.append((a, b) if ta <= tb else (b, a))
    rng.shuffle(pairs)
    return pairs[:n]
