"""METER (real editorial reuse): pairs that must link, with why the old guards refused
them, and the day's other court cases that must stay apart. Skips without the data."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import pytest

from streamer.config import Settings
from streamer.evaluation.meter import (
    METER_FILE,
    MeterText,
    load_meter,
    meter_pairs,
    meter_records,
    score_meter,
    wire_time,
)
from streamer.evaluation.systems import naive_clusters, published_clusters, streamer_clusters
from streamer.files_io import dedup_records, records_from_dicts
from streamer.models import ArticleRecord
from streamer.pipeline import Pipeline
from streamer.records import Prepared

METER = Path(__file__).resolve().parents[3] / "shared" / "data" / METER_FILE
REASON = f"METER corpus not present at {METER}"


@cache
def _texts() -> dict[str, MeterText]:
    return {t.id: t for t in load_meter(METER)}


@pytest.fixture(scope="module")
def texts() -> dict[str, MeterText]:
    if not METER.is_file():
        pytest.skip(REASON)
    return _texts()


def _records(texts: dict[str, MeterText], *ids: str) -> list[dict]:
    by_id = {r["id"]: r for r in meter_records([texts[i] for i in ids])}
    return [by_id[i] for i in ids]


def _strict_refusal(records: list[dict]) -> str | None:
    """The guard the strict rule (any fact differing on both sides) refuses the pair with."""
    pipeline = Pipeline(Settings())
    prepared = [pipeline.prepare_one(r) for r in records_from_dicts(records)]
    first, second = (p.entry for p in prepared if isinstance(p, Prepared))
    return pipeline.index.check_guards(second, first)[1]


# (earlier, later, the guard the strict rule refused with, the kind the match is now)
MUST_LINK = [
    # A paper's rewrite of the wire: adds ranks and towns, drops others.
    pytest.param(
        "courts/26.01.00/irving/irving1",
        "courts/26.01.00/irving/irving687_telegraph",
        "names",
        "near",
        id="irving-wire-vs-telegraph",
    ),
    # Two papers on one wire story, each with details of its own.
    pytest.param(
        "courts/26.01.00/irving/irving687_telegraph",
        "courts/26.01.00/irving/irving690_guardian",
        "names",
        "near",
        id="irving-telegraph-vs-guardian",
    ),
    # A wire take reused inside a paper's longer article: a part held in a whole.
    pytest.param(
        "courts/22.11.99/guscott/guscott2ld",
        "courts/22.11.99/guscott/guscott634_times",
        "names",
        "contained",
        id="guscott-take-in-times",
    ),
    # A paper's rewrite differing in a dozen names: a one-sided context hit (a 16-bit
    # collision, or "British Lions" where the wire writes "Crown Court") refused it as
    # a substitution until both sides of a name's place had to hold.
    pytest.param(
        "courts/22.11.99/guscott/guscott1nl",
        "courts/22.11.99/guscott/guscott649_guardian",
        "numbers",
        "near",
        id="guscott-nightlead-vs-guardian",
    ),
    pytest.param(
        "courts/22.11.99/hamilton/hamilton5sub",
        "courts/22.11.99/hamilton/hamilton660_express",
        "names",
        "contained",
        id="hamilton-wire-in-express-feature",
    ),
    # "Who" opening a quote in single quotes was read as a name.
    pytest.param(
        "courts/22.11.99/guscott/guscott2ld",
        "courts/22.11.99/guscott/guscott616_mirror",
        "names",
        "contained",
        id="guscott-take-in-mirror",
    ),
    # The night lead rewrites the take with new figures beside the old ones.
    pytest.param(
        "courts/18.02.00/shampoo/shampoo1",
        "courts/18.02.00/shampoo/shampoo1nl",
        "numbers",
        "near",
        id="shampoo-take-vs-nightlead",
    ),
]


@pytest.mark.parametrize(("first", "second", "strict", "kind"), MUST_LINK)
def test_real_reuse_links(
    texts: dict[str, MeterText], first: str, second: str, strict: str, kind: str
) -> None:
    records = _records(texts, first, second)
    assert _strict_refusal(records) == strict
    results = dedup_records(records)
    decision = results[1].decision
    assert decision is not None and decision.duplicate_of == first
    assert decision.match is not None and decision.match.kind == kind
    if kind == "contained":
        assert decision.match.part == "duplicate_of"  # the earlier take is the part
        assert decision.match.share is not None and decision.match.share >= 0.6


def test_the_days_other_cases_stay_apart(texts: dict[str, MeterText]) -> None:
    """The whole dev stream in wire order: no two different stories of one day and beat
    in one cluster, and more real reuse linked than the naive pipeline links."""
    ordered = list(texts.values())
    pairs = meter_pairs(ordered)
    records = meter_records(ordered)
    system = score_meter(streamer_clusters(Settings())(records), pairs)
    naive = score_meter(naive_clusters(records), pairs)
    assert system.negatives > 9000
    assert system.false_merges == 0
    assert system.story_false_merges == 0  # ``match.also`` names no other case either
    assert system.linked_50 > 3 * naive.linked_50
    assert system.story_50 > system.linked_50  # takes named beside the one joined


def test_wire_time_reads_the_slug() -> None:
    slug = "  ----\n        15:51 01/03/00: Page 1 (HHH) COURTS Diver\n  ----\nDIVER<\n"
    assert wire_time("pa", "01.03.00", slug).isoformat() == "2000-03-01T15:51:00+00:00"
    assert wire_time("np", "01.03.00", "text").isoformat() == "2000-03-02T06:00:00+00:00"


def test_a_night_lead_stitched_from_takes_names_every_take(texts: dict[str, MeterText]) -> None:
    """PA sends the breeder story in four takes, each its own cluster (they share little);
    the night lead is cut from all four and joins one: it names the other three in
    ``match.also``, so (take, night lead) is linked at story level, not strictly."""
    takes = [f"courts/03.04.00/breeder/breeder{n}ld" for n in range(1, 5)]
    night = "courts/03.04.00/breeder/breeder1nl"
    results = dedup_records(_records(texts, *takes, night))
    clusters = published_clusters(results)
    assert [clusters.cluster[t] for t in takes] == takes  # one cluster per take
    decision = results[-1].decision
    assert decision is not None and decision.match is not None
    assert decision.cluster_id in takes
    assert sorted([decision.cluster_id, *decision.match.also]) == takes
    for take in takes:  # each shares 50-75% of its 5-grams with the night lead
        if take != decision.cluster_id:
            assert not clusters.linked(take, night) and clusters.story_linked(take, night)
    # The value produced to news.duplicates carries it, as pydantic writes the record.
    value = results[-1].value
    assert value is not None
    record = ArticleRecord.model_validate_json(value)
    assert record.match is not None and record.match.also == decision.match.also
    assert record.model_dump_json().encode() == value


def test_a_brief_printed_after_the_wire_story_is_found_by_its_lead(
    texts: dict[str, MeterText],
) -> None:
    """The Guardian's 65-word brief of a 548-word PA story (84% of its 5-grams are the
    wire's, from the story's first lines): against the whole story its Jaccard is ~0.1,
    so no whole-text band found it; the story's lead bands do."""
    wire, brief = (
        "courts/12.08.99/traveller/traveller1",
        "courts/12.08.99/traveller/traveller195_guardian",
    )
    results = dedup_records(_records(texts, wire, brief))
    decision = results[1].decision
    assert decision is not None and decision.duplicate_of == wire
    assert decision.match is not None and decision.match.kind == "contained"
    assert decision.match.part == "this"


def test_a_sub_joins_the_snap_it_holds_whole(texts: dict[str, MeterText]) -> None:
    """PA's 305-word sub repeats its 48-word snap whole (84% of the snap's 5-grams) and
    shares 79% of itself with the morning story: it joins the snap it holds, and names
    the story's cluster in ``also``."""
    story, snap, sub = (f"courts/14.07.99/ba/{n}" for n in ("ba1", "ba1snap", "ba1sub"))
    results = dedup_records(_records(texts, story, snap, sub))
    decision = results[2].decision
    assert decision is not None and decision.duplicate_of == snap
    assert decision.match is not None and decision.match.kind == "contained"
    assert decision.match.part == "duplicate_of" and decision.match.also == [story]
