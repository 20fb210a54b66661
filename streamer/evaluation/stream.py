"""The labeled Reuters stream: originals, their rewrites and the hard negatives, in time order.

The stream contains, in publication order:

* originals: Reuters stories as input records (``id`` ``r{newid}``, source ``reuters.example``);
* rewrites of them made by :func:`~streamer.evaluation.rewrites.make_rewrite`
  (``r{newid}-rw{k}-{kind}``), published minutes to hours after their original, in
  the ways real republishers rewrite wire copy;
* both members of hard-negative pairs from
  :func:`~streamer.evaluation.lookalikes.find_hard_negatives`: real, distinct Reuters
  stories that look alike (templated dividends, price changes, money-market notes)
  but are different news.

Ground truth: each original and its rewrites form one true cluster. The corpus itself holds
real re-sends, so originals whose bodies are word-5-shingle Jaccard >= 0.9 with the same set
of numbers (this includes identical normalized bodies) are grouped into one true cluster
(unless their titles carry different tickers: a templated notice of another company), and
originals that look like an *update or correction* of another selected story (similar but
neither a re-send nor distinct templated news) are left out of the stream, so that neither
answer is wrong for them.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from streamer.evaluation.lookalikes import distinct_news, find_hard_negatives
from streamer.evaluation.rewrites import KINDS, make_rewrite, parse_time
from streamer.evaluation.scoring import Labels
from streamer.evaluation.similarity import TICKER, shingles, similar_pairs
from streamer.evaluation.wire import numbers, original_record, story_time, word_count


@dataclass(frozen=True)
class _Truth:
    """What the corpus itself says about the chosen stories, in wire order."""

    ordered: list[dict]
    roots: list[int]  # union-find root per story: re-sends of one story share it
    dropped: set[int]  # updates and corrections of an earlier chosen story
    hard_ids: list[tuple[int, int]]  # hard-negative newids, both kept, not one story


def _true_groups(stories: Sequence[dict], sh5: Sequence[frozenset[str]]) -> list[int]:
    """Union-find root (lowest index) per story: re-sends of one story share a root.

    Re-sends: body word-5-shingle Jaccard >= 0.9 and the same set of numbers, unless the
    titles name different tickers (identical templated bodies of two companies).
    """
    nums = [numbers(s.get("body") or "") for s in stories]
    parent = list(range(len(stories)))

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for (i, j), _jac in similar_pairs(sh5, 0.9).items():
        ti = frozenset(TICKER.findall(stories[i].get("title") or ""))
        tj = frozenset(TICKER.findall(stories[j].get("title") or ""))
        if ti and tj and ti != tj:
            continue  # same boilerplate body, different companies: different news
        if nums[i] == nums[j]:
            ri, rj = find(i), find(j)
            if ri != rj:
                parent[max(ri, rj)] = min(ri, rj)
    return [find(i) for i in range(len(parent))]


def _ground_truth(originals: Sequence[dict], hard: Sequence[tuple[dict, dict]]) -> _Truth:
    chosen: dict[int, dict] = {}
    for s in originals:
        chosen[s["newid"]] = s
    for a, b in hard:
        chosen.setdefault(a["newid"], a)
        chosen.setdefault(b["newid"], b)
    ordered = sorted(chosen.values(), key=lambda s: (s["date"], s["newid"]))
    sh5 = [shingles(s.get("body") or "") for s in ordered]
    roots = _true_groups(ordered, sh5)

    # Leave out stories that look like an update/correction of an earlier chosen one.
    dropped: set[int] = set()
    for (i, j), jac in sorted(similar_pairs(sh5, 0.5).items()):
        if roots[i] == roots[j] or i in dropped:
            continue
        if not distinct_news(ordered[i], ordered[j], jac):
            dropped.add(j)
    dropped_ids = {ordered[k]["newid"] for k in dropped}
    index_of = {s["newid"]: k for k, s in enumerate(ordered)}
    hard_ids = [
        (a["newid"], b["newid"])
        for a, b in hard
        if a["newid"] not in dropped_ids
        and b["newid"] not in dropped_ids
        and roots[index_of[a["newid"]]] != roots[index_of[b["newid"]]]
    ]
    return _Truth(ordered, roots, dropped, hard_ids)


def build_stream(
    stories: Sequence[dict],
    n_originals: int = 1500,
    rewrites_per_original: float = 1.5,
    n_hard_negative_pairs: int = 300,
    seed: int = 0,
) -> tuple[list[dict], Labels]:
    """A labeled input stream in publication order (see the module docstring).

    Each original gets ``floor(rewrites_per_original)`` rewrites plus one more with the
    probability of the fractional part, of distinct kinds. Deterministic for a seed.
    """
    rng = random.Random(seed)
    dated = [s for s in stories if s.get("date") and word_count(s.get("body") or "") >= 5]
    pool = [s for s in dated if word_count(s.get("body") or "") >= 30]
    hard = find_hard_negatives(dated, n_hard_negative_pairs, random.Random(seed + 1))
    originals = rng.sample(pool, min(n_originals, len(pool)))
    truth = _ground_truth(originals, hard)
    original_ids = {s["newid"] for s in originals}

    labels = Labels()
    timed: list[tuple[datetime, int, dict]] = []
    whole = int(rewrites_per_original)
    frac = rewrites_per_original - whole
    for k, story in enumerate(truth.ordered):
        if k in truth.dropped:
            continue
        rec = original_record(story)
        cluster = f"r{truth.ordered[truth.roots[k]]['newid']}"
        labels.cluster[rec["id"]] = cluster
        labels.kind[rec["id"]] = "original" if truth.roots[k] == k else "corpus_duplicate"
        when = story_time(story)
        assert when is not None
        timed.append((when, len(timed), rec))
        if story["newid"] not in original_ids:
            continue
        n_rw = whole + (1 if rng.random() < frac else 0)
        for idx, kind in enumerate(rng.sample(KINDS, min(n_rw, len(KINDS))), start=1):
            rw = make_rewrite(story, kind, rng, index=idx)
            labels.cluster[rw["id"]] = cluster
            labels.kind[rw["id"]] = kind
            timed.append((parse_time(rw["published_at"]), len(timed), rw))
    timed.sort(key=lambda t: (t[0], t[1]))
    records = [r for _, _, r in timed]
    labels.order = [r["id"] for r in records]
    _label_hard_negatives(labels, truth.hard_ids, original_ids)
    return records, labels


def _label_hard_negatives(
    labels: Labels, hard_ids: Sequence[tuple[int, int]], original_ids: set[int]
) -> None:
    """Record each pair earlier member first; a member that got no rewrites is kind
    ``hard_negative`` (it is in the stream only to be told apart)."""
    position = {rid: i for i, rid in enumerate(labels.order)}
    for a, b in hard_ids:
        ia, ib = f"r{a}", f"r{b}"
        if ia in position and ib in position:
            pair = (ia, ib) if position[ia] < position[ib] else (ib, ia)
            labels.hard_negative_pairs.append(pair)
            for rid in pair:
                if labels.kind[rid] == "original" and int(rid[1:]) not in original_ids:
                    labels.kind[rid] = "hard_negative"
