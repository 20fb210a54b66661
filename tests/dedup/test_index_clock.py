"""The window's one clock: publication times move it; a time the index gives moves nothing."""

from __future__ import annotations

from streamer.dedup.index import DedupIndex
from tests.dedup.articles import DAY, SETTINGS, STORY, TITLE, make

OTHER = (
    "Norvale central bank left its benchmark lending rate unchanged at 4.25 pct on Tuesday, "
    "saying inflation was easing more slowly than it had forecast in March. Governor Helena "
    "Marsh told reporters the board had discussed a cut of 25 basis points but judged that "
    "services prices remained too firm, with consumer prices up 3.4 pct in the year."
)
T1987 = 541_000_000.0  # 1987-02-22
T2026 = 1_780_000_000.0


def story(n: int) -> str:
    """A distinct story: the same template with other facts is refused by the guards."""
    return STORY.replace("450 mln", f"{450 + n} mln").replace("Baxter", f"Baxter{n}")


def test_a_time_given_to_an_undated_article_does_not_move_the_clock() -> None:
    index = DedupIndex(SETTINGS)
    index.add(make("a", ts=T1987))
    assert index.on_publication_time and index.watermark == T1987
    given = index.time_for_undated(T2026)
    assert given == T1987  # the stream's clock, not the ingest time it came with
    index.add(make("b", OTHER, "RATE HOLD", ts=given), dated=False)
    assert index.watermark == T1987
    assert len(index) == 2


def test_an_undated_article_moves_nothing_even_with_a_later_time() -> None:
    """What a rebuild of an odd journal might hand it: a given time never moves the clock."""
    index = DedupIndex(SETTINGS)
    index.add(make("a", ts=T1987))
    assert index.add(make("b", OTHER, "RATE HOLD", ts=T2026), dated=False) == []
    assert index.watermark == T1987
    assert "a" in index


def test_before_any_publication_time_ingest_times_drive_the_window() -> None:
    """A stream that carries no dates still slides its window (memory follows it)."""
    index = DedupIndex(SETTINGS)
    assert index.time_for_undated(T2026) == T2026
    evicted: list[str] = []
    for n in range(10):
        ts = index.time_for_undated(T2026 + n * DAY)
        evicted += index.add(make(f"u{n}", story(n), TITLE, ts=ts), dated=False)
    assert not index.on_publication_time
    assert index.watermark == T2026 + 9 * DAY
    assert evicted == ["u0", "u1"]  # more than the 7-day window behind the ingest clock
    assert len(index) == 8


def test_first_publication_time_restarts_the_clock_and_drops_what_is_far_ahead() -> None:
    """A 1987 backfill whose first story is undated (given its 2026 ingest time)."""
    index = DedupIndex(SETTINGS)
    index.add(make("undated", OTHER, "RATE HOLD", ts=index.time_for_undated(T2026)), dated=False)
    assert index.watermark == T2026
    evicted = index.add(make("r-1", ts=T1987))
    assert evicted == ["undated"]
    assert index.on_publication_time and index.watermark == T1987
    # Dedup is on for the stream: a copy a day later is found, and is not evicted.
    assert index.decide(make("r-2", ts=T1987 + DAY)).duplicate_of == "r-1"
    assert index.add(make("r-3", story(3), TITLE, ts=T1987 + DAY)) == []
    assert "r-1" in index


def test_first_publication_time_keeps_ingest_times_within_a_window() -> None:
    """A live stream whose first record is undated: its ingest time is minutes ahead."""
    index = DedupIndex(SETTINGS)
    now = T2026
    index.add(make("undated", OTHER, "RATE HOLD", ts=index.time_for_undated(now)), dated=False)
    assert index.add(make("dated", ts=now - 600)) == []
    assert index.watermark == now - 600
    assert {"undated", "dated"} <= {e.id for e in index.entries()}
    assert index.decide(make("copy", OTHER, "RATE HOLD", ts=now - 300)).duplicate_of == "undated"


def test_later_undated_articles_are_judged_against_their_neighbours_in_the_stream() -> None:
    index = DedupIndex(SETTINGS)
    index.add(make("r-1", ts=T1987))
    index.add(make("r-2", story(2), TITLE, ts=T1987 + 3 * DAY))
    probe = make("undated-copy", ts=index.time_for_undated(T2026))
    assert probe.ts == T1987 + 3 * DAY
    decision = index.decide(probe)
    assert decision.duplicate_of == "r-1"
