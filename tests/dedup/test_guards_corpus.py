"""Each guard on real Reuters pairs, through the real pipeline.

Must match: real re-sends and corrections of one story (the wire re-filed it with
another headline, a ticker added, "4" for "four"), and a lead-only cut.
Must not match: templated items that are different news: two companies' dividend
notices with word-for-word identical bodies, one price and another, two banks
raising their prime rate, April shipment against May shipment, two funds of a family.

Both records of a pair are given publication times two hours apart, so that the
decision is the guards' and never the time window's.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import pytest

from streamer.config import Settings
from streamer.dedup.index import Decision
from streamer.evaluation import wire as ev
from streamer.evaluation.corpus import load_reuters
from streamer.files_io import dedup_records, records_from_dicts
from streamer.pipeline import Pipeline
from streamer.records import Prepared
from tests.conftest import REUTERS

CORPUS_REASON = f"Reuters-21578 corpus not present at {REUTERS}"


@cache
def _stories() -> dict[int, dict[str, Any]]:
    return {s["newid"]: s for s in load_reuters(REUTERS)}


@pytest.fixture(scope="module")
def stories() -> dict[int, dict[str, Any]]:
    if not REUTERS.is_file():
        pytest.skip(CORPUS_REASON)
    return _stories()


def _records(stories: dict[int, dict[str, Any]], first: int, second: int) -> list[dict[str, Any]]:
    a, b = ev.original_record(stories[first]), ev.original_record(stories[second])
    a["published_at"] = "1987-03-10T10:00:00Z"
    b["published_at"] = "1987-03-10T12:00:00Z"
    return [a, b]


def _decide(records: list[dict[str, Any]]) -> Decision:
    results = dedup_records(records)
    assert [r.outcome.value for r in results[:1]] == ["clean"]
    decision = results[-1].decision
    assert decision is not None
    return decision


def _refusing_guard(records: list[dict[str, Any]]) -> str | None:
    """Which guard refuses the pair when the second record is compared with the first."""
    pipeline = Pipeline(Settings())
    prepared = [pipeline.prepare_one(r) for r in records_from_dicts(records)]
    assert all(isinstance(p, Prepared) for p in prepared)
    first, second = (p.entry for p in prepared if isinstance(p, Prepared))
    _, refused = pipeline.index.check_guards(second, first)
    return refused


# (earlier newid, later newid, a guard that must be among those passed)
MUST_MATCH = [
    # Re-filed dividend notice: "SETS PAYOUT" / "REGULAR DIVIDEND", "Pay" / "Payable".
    pytest.param(423, 521, "short_item_title", id="jim-walter-dividend-refiled"),
    pytest.param(4193, 4240, "tickers", id="colgate-dividend-refiled"),
    # The ticker added to the title of the re-send; the body identical.
    pytest.param(1618, 1637, "names", id="gm-car-sales-ticker-added"),
    # "FOUR MONTHS" in one headline, "4 MONTHS" in the other.
    pytest.param(2973, 3048, "numbers", id="ecuador-oil-refiled"),
    # A corrected headline typo ("HOSUING") and a reworded lead.
    pytest.param(3708, 3720, "numbers", id="housing-completions-corrected"),
]

# (earlier newid, later newid, the guard that must refuse)
MUST_NOT_MATCH = [
    # Identical bodies "Qtly div 20 cts vs 20 cts previously / Pay April 15 / Record March 23":
    # only the company in the title differs.
    pytest.param(3774, 5085, "tickers", id="quaker-vs-unibancorp-dividend"),
    pytest.param(5546, 7782, "tickers", id="kenan-vs-autoclave-dividend"),
    # Asarco lead price: 26.50 cts against 27 cts.
    pytest.param(15563, 16289, "numbers", id="asarco-lead-price-figure"),
    # "for April shipment" against "for May shipment", everything else identical.
    pytest.param(1151, 15721, "numbers", id="rapeseed-april-vs-may-shipment"),
    # Sun and Phillips each raise crude postings 50 cts: other company, other grades.
    pytest.param(4453, 4474, "names", id="sun-vs-phillips-crude-postings"),
    # Two banks raise their prime rate to the same 7-3/4 pct.
    pytest.param(11940, 12274, "names", id="marine-midland-vs-tcf-prime-rate"),
    # Two funds of one family, same monthly payout: the fund is named in a NOTE line.
    pytest.param(16470, 16472, "names", id="franklin-insured-vs-puerto-rico"),
    # Identical short bodies; the companies are named only in the titles.
    pytest.param(1326, 4380, "short_item_title", id="mds-health-vs-general-host"),
]


@pytest.mark.parametrize(("first", "second", "guard"), MUST_MATCH)
def test_real_resend_matches(
    stories: dict[int, dict[str, Any]], first: int, second: int, guard: str
) -> None:
    decision = _decide(_records(stories, first, second))
    assert decision.duplicate_of == f"r{first}"
    assert decision.cluster_id == f"r{first}"
    assert decision.match is not None and decision.match.kind == "near"
    assert guard in decision.match.guards
    assert decision.similarity is not None and decision.similarity > 0


@pytest.mark.parametrize(("first", "second", "guard"), MUST_NOT_MATCH)
def test_templated_pair_stays_distinct(
    stories: dict[int, dict[str, Any]], first: int, second: int, guard: str
) -> None:
    records = _records(stories, first, second)
    decision = _decide(records)
    assert decision.duplicate_of is None
    assert decision.cluster_id == f"r{second}"
    assert _refusing_guard(records) == guard


def test_lead_only_cut_matches_by_containment(stories: dict[int, dict[str, Any]]) -> None:
    """A portal that runs only the first paragraphs of a long story (r4: BankAmerica)."""
    full = ev.original_record(stories[4])
    paragraphs = full["body"].split("\n    ")
    lead = dict(full, id="r4-lead", body="\n    ".join(paragraphs[:3]))
    lead["published_at"] = "1987-02-26T18:00:00Z"
    full["published_at"] = "1987-02-26T16:00:00Z"
    decision = _decide([full, lead])
    assert decision.duplicate_of == "r4"
    assert decision.match is not None
    assert decision.match.containment is not None and decision.match.containment >= 0.95
    assert decision.match.jaccard is not None and decision.match.jaccard < 0.5


def test_same_notice_in_a_busy_window_stays_distinct(stories: dict[int, dict[str, Any]]) -> None:
    """The Quaker/Unibancorp notices among a day of other dividend notices."""
    notices = [
        s
        for s in _stories().values()
        if "QTLY DIV" in (s.get("title") or "") and (s.get("body") or "").strip()
    ][:200]
    records = [ev.original_record(s) for s in notices]
    for rec in records:
        rec["published_at"] = "1987-03-10T09:00:00Z"
    records += _records(stories, 3774, 5085)
    results = dedup_records(records)
    assert results[-1].decision is not None
    assert results[-1].decision.duplicate_of is None
