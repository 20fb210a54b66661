"""Passage keys: a long item finds the short earlier text it quotes."""

from __future__ import annotations

import pickle
import random
from pathlib import Path

import numpy as np
import pytest

from streamer.config import Settings
from streamer.dedup.index import DedupIndex
from streamer.dedup.passages import (
    MAX_PASSAGES,
    MIN_TOKENS,
    PASSAGE_TOKENS,
    lead_rows,
    lead_size,
    passage_keys,
    window_starts,
    with_lead,
)
from streamer.evaluation.meter import METER_FILE, load_meter, meter_records
from streamer.files_io import records_from_dicts
from streamer.pipeline import Pipeline, fingerprint_tokens_of
from streamer.records import Prepared, from_wire, to_wire
from tests.dedup.dict_index import DictIndex
from tests.dedup.test_store import decisions

WORDS = [f"w{i}" for i in range(3000)]


def _text(seed: int, n: int) -> str:
    rng = random.Random(seed)
    return " ".join(rng.choice(WORDS) for _ in range(n))


def test_windows_are_few_and_spread() -> None:
    assert window_starts(MIN_TOKENS - 1) == []
    assert window_starts(MIN_TOKENS) == [0, PASSAGE_TOKENS]
    starts = window_starts(50 * PASSAGE_TOKENS)
    assert len(starts) == MAX_PASSAGES and starts[0] == 0 and starts[-1] == 49 * PASSAGE_TOKENS


def _prepared(records: list[dict]) -> tuple[Pipeline, list[Prepared]]:
    pipeline = Pipeline(Settings())
    out = [pipeline.prepare_one(r) for r in records_from_dicts(records)]
    assert all(isinstance(p, Prepared) for p in out)
    return pipeline, [p for p in out if isinstance(p, Prepared)]


def test_a_quoted_take_is_a_candidate_of_the_long_article() -> None:
    take = _text(1, 120)
    article = f"{_text(2, 400)} {take} {_text(3, 500)}"
    pipeline, (first, second) = _prepared(
        [
            {"id": "take", "body": take, "published_at": "2000-03-01T10:00:00Z"},
            {"id": "article", "body": article, "published_at": "2000-03-02T06:00:00Z"},
        ]
    )
    assert second.entry.passages is not None and second.entry.passages[0].size
    pipeline.decider.decide(first)
    rows = [row for row, _ in pipeline.index.candidates(second.entry)]
    assert pipeline.index.store.find_id("take") in rows
    result = pipeline.decider.decide(second)
    assert result.decision is not None and result.decision.duplicate_of == "take"
    assert result.decision.match is not None and result.decision.match.kind == "contained"


def test_a_long_articles_first_bands_hold_its_lead() -> None:
    """Only a long article's signature changes, and only in its first bands' rows."""
    pipeline = Pipeline(Settings())
    fp, d = pipeline.decider.fingerprinter, pipeline.settings.dedup
    short = _text(5, MIN_TOKENS - 1).split()
    assert lead_rows(short, fp, d) is None and lead_size(d, len(short)) == 0
    long = _text(6, 3 * MIN_TOKENS).split()
    lead = lead_rows(long, fp, d)
    assert lead is not None and lead.size == lead_size(d, len(long)) == 32
    assert np.array_equal(lead, fp.signature(fp.shingles(long[:PASSAGE_TOKENS]))[:32])
    whole = fp.signature(fp.shingles(long))
    signature = with_lead(whole, lead)
    assert np.array_equal(signature[:32], lead) and np.array_equal(signature[32:], whole[32:])
    assert not np.array_equal(whole[:32], lead)  # the whole text's rows are left as they were


def test_a_brief_cut_from_the_lead_is_a_candidate_of_the_earlier_article() -> None:
    """The reverse of a quoted take: a paper's brief of the wire story's first lines,
    printed after it. Against the whole text its Jaccard is ~0.1 (rarely a band in
    common); against the stored lead it is ~0.6."""
    article = _text(7, 600)
    brief = " ".join(article.split()[:60])
    pipeline, (first, second) = _prepared(
        [
            {"id": "story", "body": article, "published_at": "2000-03-01T10:00:00Z"},
            {"id": "brief", "body": brief, "published_at": "2000-03-02T06:00:00Z"},
        ]
    )
    lead = lead_size(pipeline.settings.dedup, first.entry.n_tokens) // 2  # bands of 2 rows
    assert first.entry.derived is not None and second.entry.derived is not None
    a, b = first.entry.derived, second.entry.derived
    shared = (a.slots == b.slots) & (a.checks == b.checks)
    # 16 lead bands share more than the 48 whole-text ones (Jaccard ~0.6 against ~0.1)
    assert shared[:lead].sum() > shared[lead:].sum()
    pipeline.decider.decide(first)
    result = pipeline.decider.decide(second)
    assert result.decision is not None and result.decision.duplicate_of == "story"
    match = result.decision.match
    assert match is not None and match.kind == "contained" and match.part == "this"


def test_passages_survive_pickling_and_are_rebuilt_from_news_prepared() -> None:
    _, (prepared,) = _prepared([{"id": "a", "body": _text(4, 700)}])
    entry = pickle.loads(pickle.dumps(prepared.entry))
    assert entry.passages is not None and prepared.entry.passages is not None
    for got, want in zip(entry.passages, prepared.entry.passages, strict=True):
        assert np.array_equal(got, want)
    # news.prepared does not carry them: the writer works them out from the record's text.
    wired = from_wire(to_wire(prepared), prepared.source)
    assert wired.entry.passages is None
    pipeline = Pipeline(Settings())
    art = wired.article
    rebuilt = passage_keys(
        fingerprint_tokens_of(art.title, art.text),
        pipeline.decider.fingerprinter,
        pipeline.settings.dedup,
    )
    for got, want in zip(rebuilt, prepared.entry.passages, strict=True):
        assert np.array_equal(got, want)
    result = pipeline.decider.decide(wired)
    assert result.decision is not None and not result.decision.is_duplicate


METER = Path(__file__).resolve().parents[3] / "shared" / "data" / METER_FILE


def test_meter_decisions_equal_the_dict_index() -> None:
    """Real reuse, with passages and aligned guards at work: the compact index decides as
    the dict reference does (the same guards, passages looked up by slot and check)."""
    if not METER.is_file():
        pytest.skip(f"METER corpus not present at {METER}")
    records = meter_records(load_meter(METER))
    _, prepared = _prepared(records)
    settings = Settings().dedup
    entries = [p.entry for p in prepared]
    new = decisions(DedupIndex(settings), entries)
    old = decisions(DictIndex(settings), entries)
    assert new == old
    assert sum(1 for d in new if len(d) == 4 and d[2] == "contained") > 10
    assert sum(1 for d in new if len(d) > 1 and d[0] == "also") > 5  # takes of one story
