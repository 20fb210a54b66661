"""The index on hand-built entries: exact and near paths, guards, clusters, window."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pytest

from streamer.config import DedupSettings
from streamer.dedup.entry import IndexEntry
from streamer.dedup.index import DedupIndex
from streamer.dedup.store import INITIAL_ROWS
from tests.dedup.articles import DAY, FP, SETTINGS, STORY, chained_rows, index_with, make


def test_exact_copy_takes_the_fast_path() -> None:
    index = index_with(make("a"))
    decision = index.decide(make("b", ts=60))
    assert decision.duplicate_of == "a"
    assert decision.match is not None and decision.match.kind == "exact"
    assert decision.similarity == 1.0
    assert decision.indexed


def test_unrelated_story_is_clean() -> None:
    other = (
        "Heavy rain flooded low-lying districts of the capital overnight, forcing "
        "hundreds of families from their homes, police said. Rescue teams used boats "
        "to reach people stranded on rooftops and the weather service warned that more "
        "storms were on the way later in the week."
    )
    index = index_with(make("a"))
    decision = index.decide(make("b", other, "FLOODS HIT CAPITAL"))
    assert decision.duplicate_of is None
    assert decision.cluster_id == "b"
    assert decision.match is None


def test_light_rewrite_matches_by_jaccard() -> None:
    edited = STORY.replace("approved", "has approved").replace("Analysts said", "Analysts say")
    edited = edited.replace("in active trading", "in heavy trading")
    index = index_with(make("a"))
    decision = index.decide(make("b", edited, "Acme Widgets to buy Baxter Tools", ts=600))
    assert decision.duplicate_of == "a"
    assert decision.match is not None
    assert decision.match.kind == "near"
    assert decision.match.jaccard is not None
    assert decision.match.jaccard >= SETTINGS.jaccard_threshold
    assert decision.match.guards == ["numbers", "names"]


def test_lead_only_cut_matches_by_containment() -> None:
    lead = STORY.split(". ")[0] + "."
    index = index_with(make("full"))
    decision = index.decide(make("lead", lead, ts=900))
    assert decision.duplicate_of == "full"
    match = decision.match
    assert match is not None and match.containment is not None and match.jaccard is not None
    assert match.containment >= SETTINGS.containment_threshold
    assert match.jaccard < SETTINGS.jaccard_threshold  # only containment can match a cut
    assert decision.similarity == match.containment


def test_numbers_guard_refuses_a_substituted_figure() -> None:
    """The same template with another price is another story."""
    index = index_with(make("a"))
    other = make("b", STORY.replace("32 dlrs a share", "34 dlrs a share"), ts=60)
    assert index.decide(other).duplicate_of is None
    assert index.check_guards(other, index.get("a"))[1] == "numbers"  # type: ignore[arg-type]


def test_numbers_guard_passes_one_sided_figures_and_scale_typos() -> None:
    index = index_with(make("a"))
    # A cut drops figures: one-sided.
    cut = make("cut", STORY.rsplit(" Acme shares rose", 1)[0], ts=60)
    assert index.decide(cut).duplicate_of == "a"
    # "450 milion dlrs" (a typo loses the scale) is still the figure 450 mln.
    typo = make("typo", STORY.replace("450 mln dlrs", "450 milion dlrs"), ts=60)
    assert typo.numbers != index.get("a").numbers  # type: ignore[union-attr]
    assert index.decide(typo).duplicate_of == "a"


def test_repeated_figure_counts() -> None:
    """ "20 cts vs 20 cts" and "20 cts vs 18 cts" differ although both mention 20."""
    a = make("a", "Qtly div 20 cts vs 20 cts prior. Pay April 15. Record March 23.", "X <XX> DIV")
    b = make("b", "Qtly div 20 cts vs 18 cts prior. Pay April 15. Record March 23.", "X <XX> DIV")
    index = index_with(a)
    assert index.check_guards(b, a)[1] == "numbers"
    assert index.decide(b).duplicate_of is None


def test_dates_are_facts() -> None:
    april = "Japan bought 5,000 tonnes of Canadian rapeseed overnight for April shipment."
    index = index_with(make("a", april, "JAPAN BUYS RAPESEED"))
    may = make("b", april.replace("April", "May"), "JAPAN BUYS RAPESEED", ts=60)
    assert index.check_guards(may, index.get("a"))[1] == "numbers"  # type: ignore[arg-type]
    assert index.decide(may).duplicate_of is None


def test_tickers_guard_refuses_another_company() -> None:
    body = "Qtly div 20 cts vs 20 cts previously. Pay April 15. Record March 23."
    index = index_with(make("a", body, "QUAKER OATS CO <OAT> REGULAR DIVIDEND"))
    other = make("b", body, "UNIBANCORP INC <UBCP> REGULAR DIVIDEND SET", ts=60)
    assert index.check_guards(other, index.get("a"))[1] == "tickers"  # type: ignore[arg-type]
    assert index.decide(other).duplicate_of is None
    # The same notice re-filed with a restyled ticker and headline is a duplicate.
    again = make("c", body, "Quaker Oats Co (OAT) sets regular dividend", ts=120)
    decision = index.decide(again)
    assert decision.duplicate_of == "a"
    assert decision.match is not None and "tickers" in decision.match.guards


def test_names_guard_refuses_other_companies_but_tolerates_restyling() -> None:
    index = index_with(make("a"))
    swapped = STORY.replace("Acme Widgets", "Zenith Instruments").replace("Acme", "Zenith")
    swapped = swapped.replace("Baxter Tools", "Corbin Hardware").replace("Baxter", "Corbin")
    other = make("b", swapped, "ZENITH INSTRUMENTS TO BUY CORBIN HARDWARE", ts=60)
    assert index.check_guards(other, index.get("a"))[1] == "names"  # type: ignore[arg-type]
    assert index.decide(other).duplicate_of is None
    # Case, possessives and a one-letter typo in a name are restyling, not other names.
    restyled = STORY.replace("Acme said", "ACME'S board said").replace(
        "Baxter directors", "Baxtre directors"
    )
    restyled = "By Staff Writer, Daily Globe. " + restyled
    decision = index.decide(make("c", restyled, "Acme Widgets to Buy Baxter Tools", ts=120))
    assert decision.duplicate_of == "a"


def test_short_item_title_guard() -> None:
    """Short notices are judged on title and body: identical bodies, other titles."""
    body = "Qtly div six cts vs six cts prior. Pay April one. Record March 23."
    index = index_with(make("a", body, "MDS HEALTH GROUP LIMITED IN QTLY PAYOUT"))
    other = make("b", body, "GENERAL HOST CORP SETS QUARTERLY", ts=60)
    assert other.n_tokens < SETTINGS.short_item_tokens
    assert index.check_guards(other, index.get("a"))[1] == "short_item_title"  # type: ignore[arg-type]
    assert index.decide(other).duplicate_of is None
    # A re-filed headline in notice vocabulary only is the same notice.
    refiled = make("c", body, "MDS HEALTH GROUP LIMITED SETS REGULAR DIVIDEND", ts=120)
    decision = index.decide(refiled)
    assert decision.duplicate_of == "a"
    assert decision.match is not None and "short_item_title" in decision.match.guards


def test_cluster_id_is_stable_along_a_chain() -> None:
    """A -> B -> C: C resembles only B, but joins A's cluster."""
    sentences = STORY.split(". ")
    a = make("a", ". ".join(sentences[:4]))
    b = make("b", ". ".join(sentences[:6]), ts=60)
    c = make("c", ". ".join(sentences[3:7]), ts=120)
    index = index_with(a, b)
    assert index.get("b").cluster_id == "a"  # type: ignore[union-attr]
    decision = index.decide(c)
    assert decision.duplicate_of == "b"
    assert decision.cluster_id == "a"
    index.add(c.in_cluster(decision.cluster_id))
    assert {e.cluster_id for e in index.entries()} == {"a"}


def test_best_match_is_chosen() -> None:
    far = make("far", STORY.split(". Acme shares")[0])
    near = make("near", STORY.replace("in active trading", "in busy trading"), ts=30)
    index = DedupIndex(SETTINGS)
    for entry in (far, near):  # index both as their own clusters
        index.add(entry)
    decision = index.decide(make("q", ts=60, content_hash="other"))
    assert decision.duplicate_of == "near"
    assert decision.similarity is not None and decision.similarity > 0.9


def test_same_id_is_not_reindexed() -> None:
    index = index_with(make("a"))
    decision = index.decide(make("a", "completely different text about the weather", ts=99))
    assert decision.duplicate_of == "a"
    assert decision.match is not None and decision.match.kind == "same_id"
    assert not decision.indexed


def test_window_evicts_old_articles_and_they_no_longer_match() -> None:
    settings = DedupSettings(window=timedelta(days=7))
    index = index_with(make("old", ts=0.0), settings=settings)
    # Eight days later the old story is outside the window, even before eviction.
    late = make("late", ts=8 * DAY, content_hash="x")
    assert index.decide(late).duplicate_of is None
    evicted = index.add(make("other", "Unrelated filler text " * 10, "FILLER", ts=8 * DAY))
    assert evicted == ["old"]
    assert "old" not in index and len(index) == 1
    assert index.decide(make("again", ts=8 * DAY)).duplicate_of is None


def test_memory_stays_bounded_by_the_window() -> None:
    """Feeding ten windows' worth keeps about one window's worth indexed."""
    settings = DedupSettings(window=timedelta(days=1))
    index = DedupIndex(settings)
    rng = np.random.default_rng(3)
    per_day = 50
    sizes = []
    for i in range(10 * per_day):
        shingles = np.unique(rng.integers(0, 2**32, size=80, dtype=np.uint64).astype(np.uint32))
        entry = IndexEntry(
            id=f"a{i}",
            cluster_id=f"a{i}",
            ts=i * DAY / per_day,
            content_hash=f"h{i}",
            shingles=shingles,
            signature=FP.signature(shingles),
            numbers=frozenset({str(i)}),
            entities=frozenset({f"name{i}"}),
            n_tokens=82,
        )
        assert index.decide(entry).duplicate_of is None
        index.add(entry)
        sizes.append(len(index))
    assert max(sizes) <= per_day + 1
    assert len(index) == per_day + 1
    assert index.watermark == (10 * per_day - 1) * DAY / per_day
    # Nothing of the evicted articles is left behind: the vocabulary holds the live
    # articles' words only, the ring of rows was reused rather than grown, and every
    # row the band chains reach is a live one.
    assert len(index.store.vocabulary) == len(index)
    assert index.store.cap == INITIAL_ROWS
    assert {index.store.view(r).id for r in chained_rows(index)} == {e.id for e in index.entries()}


def test_remove_forgets_an_article() -> None:
    index = index_with(make("a"))
    assert index.remove("a")
    assert not index.remove("a")
    assert "a" not in index and index.get("a") is None and len(index) == 0
    assert len(index.store.vocabulary) == 0 and not chained_rows(index)
    assert index.store.head == index.store.tail  # the ring is empty: its rows are free again
    assert index.decide(make("b", ts=60)).duplicate_of is None


def test_evict_before_is_explicit_and_idempotent() -> None:
    index = index_with(make("a", ts=0.0), make("b", "Other story " * 20, "OTHER", ts=DAY))
    assert index.evict_before(DAY / 2) == ["a"]
    assert index.evict_before(DAY / 2) == []
    assert [e.id for e in index.entries()] == ["b"]


def test_common_capitalized_words_are_not_identities() -> None:
    """One capitalized common word swapped for another ("Government"/"Authorities") is
    tolerated once the window shows the word is common; a specific one is not."""
    base = STORY.replace("Analysts said", "The Government said")
    other = STORY.replace("Analysts said", "The Authorities said")
    index = index_with(make("a", base))
    assert index.check_guards(make("b", other), index.get("a"))[1] == "names"  # type: ignore[arg-type]
    filler = [
        make(
            f"f{i}",
            f"The Authorities in region {i} said story {i} was unrelated. " * 3,
            f"FILLER {i}",
            ts=1.0,
            content_hash=f"f{i}",
        )
        for i in range(4)
    ]
    for f in filler:
        index.add(f)
    assert index.check_guards(make("b", other), index.get("a"))[1] is None  # type: ignore[arg-type]


@pytest.mark.parametrize("bands", [16, 32, 64, 128])
def test_band_settings(bands: int) -> None:
    settings = DedupSettings(lsh_bands=bands)
    index = index_with(make("a"), settings=settings)
    edited = STORY.replace("approved", "has approved")
    assert index.decide(make("b", edited, ts=60)).duplicate_of == "a"


def test_bands_must_divide_permutations() -> None:
    with pytest.raises(ValueError):
        DedupSettings(num_perm=128, lsh_bands=48)


def _folded_overlap(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    """Jaccard and containment from 16-bit fingerprints counted as multisets (the reference)."""
    from collections import Counter

    ca, cb = Counter((a & 0xFFFF).tolist()), Counter((b & 0xFFFF).tolist())
    inter = min(sum((ca & cb).values()), a.size, b.size)
    return inter / (a.size + b.size - inter), inter / min(a.size, b.size)


@pytest.mark.parametrize(
    ("item_dups", "indexed_dups"), [(False, False), (True, False), (False, True), (True, True)]
)
def test_similarity_counts_folded_fingerprints_as_multisets(
    item_dups: bool, indexed_dups: bool
) -> None:
    """Shingles that fold to one 16-bit fingerprint, on either side, count as the reference says.

    Verification takes a one-gather path when the indexed article's fingerprints are
    distinct and another when they are not; both must give the multiset overlap.
    """
    rng = np.random.default_rng(3)
    base = rng.choice(1 << 16, size=300, replace=False).astype(np.uint32)
    shared, only_a, only_b = base[:200], base[200:230], base[230:260]

    def shingles(part: np.ndarray, dups: bool) -> np.ndarray:
        values = np.concatenate([shared, part])
        if dups:  # two more shingles that fold onto fingerprints already there
            values = np.concatenate([values, (values[:2] & 0xFFFF) | (7 << 16)])
        return np.unique(values)

    a, b = shingles(only_a, item_dups), shingles(only_b, indexed_dups)
    sig = FP.signature(a)  # one signature for both, so every band is shared
    bare: dict[str, object] = {"signature": sig, "entities": frozenset(), "numbers": frozenset()}
    indexed = make("b", shingles=b, content_hash="b", **bare)
    item = make("a", shingles=a, content_hash="a", **bare)
    index = index_with(indexed)
    decision = index.decide(item)
    jaccard, containment = _folded_overlap(a, b)
    assert decision.match is not None and decision.duplicate_of == "b"
    assert decision.match.jaccard == round(jaccard, 4)
    assert decision.match.containment == round(containment, 4)
    assert not index._table.any()  # the item's fingerprints are cleared after the decision


def _words(seed: int, n: int) -> str:
    """Lower-case letter words: no figures, no names, so no guard has a say."""
    rng = np.random.default_rng(seed)
    return " ".join("".join(chr(97 + c) for c in w) for w in rng.integers(0, 26, size=(n, 4)))


def test_the_match_joined_holds_most_of_the_smaller_text() -> None:
    """A take held whole in the item beats a longer story that shares 79% of itself
    with the item (as PA's sub and snap against the morning story, METER ``ba``),
    though the take shares far fewer bands (Jaccard ~0.3 against ~0.45): containment
    weighs twice Jaccard in the rank. A choice that stopped at candidates with half
    the bands of the best, or ranked by the mean of the two, joined the story."""
    take, rest = _words(1, 60), _words(2, 150)
    story = make("story", f"{' '.join(rest.split()[:110])} {_words(3, 30)}", title="")
    short = make("take", take, title="")
    item = make("item", f"{take} {rest}", title="")
    index = index_with(story, short)
    hits = dict(index.candidates(item))
    rows = {name: index.store.find_id(name) for name in ("story", "take")}
    assert 2 * hits[rows["take"]] < hits[rows["story"]]
    decision = index.decide(item)
    assert decision.duplicate_of == "take"
    assert decision.match is not None and decision.match.kind == "contained"
    assert decision.match.part == "duplicate_of" and decision.match.also == ["story"]
