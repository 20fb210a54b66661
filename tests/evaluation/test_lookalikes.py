"""Real hard negatives: alike by their text, different by their facts."""

from __future__ import annotations

import random

from streamer.evaluation.lookalikes import find_hard_negatives
from streamer.evaluation.similarity import jaccard, shingles
from streamer.evaluation.wire import entities, numbers, title_tickers


def test_hard_negatives_differ_in_numbers_or_companies(corpus: list[dict]) -> None:
    pairs = find_hard_negatives(corpus, 60, random.Random(5))
    assert len(pairs) >= 50
    for a, b in pairs:
        assert a["newid"] != b["newid"]
        assert (a["title"], a["body"]) != (b["title"], b["body"])
        na, nb = numbers(a["body"]), numbers(b["body"])
        ea, eb = entities(a), entities(b)
        xa, xb = title_tickers(a), title_tickers(b)
        differ = (na - nb and nb - na) or (ea - eb and eb - ea) or (xa and xb and xa != xb)
        assert differ, (a["title"], b["title"])
        sim = jaccard(shingles(a["body"], 3), shingles(b["body"], 3))
        assert sim >= 0.5
