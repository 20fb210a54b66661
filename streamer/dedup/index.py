"""The time-windowed dedup index: candidates, verification, guards, clusters, eviction.

Two stages, because one cannot serve both goals. LSH with many narrow bands
(``bands``) is tuned for recall and only proposes candidates, ranked by how
many bands they share; each candidate is then verified on the real shingle
sets, by Jaccard for restyled copies and by containment for lead-only cuts, and
must pass the fact guards (``guards``) so templated items that differ in
figures or names are never merged. Same id and exact content are decided
before either, by lookups.

A duplicate joins one cluster, and a published ``cluster_id`` never changes; the
other clusters whose candidates passed too are named in ``match.also`` (a story
sent in takes, one cluster each, and an article stitched from several). Naming
them changes no choice. The match joined ranks highest by containment weighed
twice against Jaccard: how much of the smaller text the other holds is what the
reuse is, so a sub that repeats its snap whole joins the snap rather than a story
it shares 79% with; a re-send or light rewrite (Jaccard near 1) still beats a cut
of it (the mean of the two, used before, chose the story).

The index is written against ``store.Store`` (the window without a Python
object per article) and keeps only the policy: what counts as a match, which
match wins, and the window. It does no I/O: the journal persists what ``add``
and ``evict_before`` change, through the entries and ids they return.

The protocol with the one ordered writer: ``decide(entry)``, then, if the
decision says so, ``add(entry.in_cluster(decision.cluster_id))``. ``add`` of an
id the index holds replaces that article (a journal replay); ``add`` right
after a ``decide`` that found no row for the id skips the lookup.

One clock drives the window: the ``watermark``, the latest publication time
added. Times are untrusted, so the stateless stage believes a publication time
only up to its wall clock plus a small slack; an article without a believable
one is given a time here (``time_for_undated``): the watermark, so that it is
judged against its neighbours in the stream whatever the stream's era, and it
moves no clock (``add(..., dated=False)``). Before any publication time was
added, the watermark runs on the ingest times such articles bring instead (a
stream that carries no dates still slides its window); the first publication
time then restarts the clock on publication time, and drops what the ingest
clock placed more than a window ahead of it (a backfill of 1987 stories that
began with an undated one, stamped 2026, must not keep it forever). Every time
given is journaled with the entry, so a rebuild moves the clock as the decisions
did, without the wall clock.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from streamer.config import DedupSettings
from streamer.dedup.align import ItemTokens, substituted
from streamer.dedup.candidates import ranked_candidates
from streamer.dedup.entry import Derived, IndexEntry, derive
from streamer.dedup.guards import Aligned, FactView, check_guards
from streamer.dedup.store import RowStore, Store
from streamer.dedup.verdict import Verdict, also_clusters, match_info, overlap16
from streamer.models import MatchInfo
from streamer.text.fingerprint import Fingerprinter

# At most this many candidates (most shared bands first) are verified per decision.
MAX_VERIFIED_CANDIDATES = 24
# At most this many other clusters a duplicate names in ``match.also``.
MAX_ALSO = 4
_FACTS_CACHE = 512


@dataclass(frozen=True, slots=True)
class Decision:
    duplicate_of: str | None
    cluster_id: str
    similarity: float | None = None
    match: MatchInfo | None = None
    indexed: bool = True

    @property
    def is_duplicate(self) -> bool:
        return self.duplicate_of is not None


@dataclass(slots=True)
class _ItemGuards:
    """What the guards ask of the item being decided, made once per decision (the facts
    at the first candidate that is similar)."""

    tokens: ItemTokens | None
    facts: FactView | None = None


class DedupIndex:
    """One ordered writer's view of the recent past.

    Not thread-safe by design: decisions must be made in input order by one
    writer, so there is nothing to share.

    A little over 300 lines: it is the policy (what matches, which match wins, what the
    window keeps), and the parts that stand alone are out already (retrieval in
    ``candidates``, similarity measures in ``verdict``, the guards, the store).
    """

    def __init__(self, settings: DedupSettings) -> None:
        self.settings = settings
        self.bands = settings.lsh_bands
        self.window_s = settings.window.total_seconds()
        self.watermark = float("-inf")
        # False while the watermark runs on ingest times (nothing dated added yet).
        self.on_publication_time = False
        self.store: Store = RowStore(self.bands)
        # Which fingerprints the item being decided has (all zero between decisions): a
        # candidate with distinct fingerprints is then verified by one gather.
        self._table = np.zeros(1 << 16, dtype=np.uint8)
        # The id a ``decide`` found no row for, until the next ``add``: that add need
        # not look again.
        self._absent: str | None = None
        # Fact views of recently verified rows by sequence number (a story being re-sent
        # is a candidate for every copy): bounded, so no per-article state.
        self._facts: dict[int, FactView] = {}
        self._facts_generation = -1
        # The last ``Derived`` worked out here (for an entry that came without one, as
        # from news.prepared), by what it was derived from: its decision and its
        # insertion, even as ``in_cluster``'s copy, derive once.
        self._memo: tuple[np.ndarray, np.ndarray, str, Derived] | None = None
        # Hashes the shingles of a fact's context, as the item's shingles were hashed.
        self._hasher = Fingerprinter(settings.num_perm, settings.seed, settings.shingle_size)

    # -- reading --------------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self.store)

    def __contains__(self, article_id: object) -> bool:
        return isinstance(article_id, str) and self.store.find_id(article_id) >= 0

    def get(self, article_id: str) -> IndexEntry | None:
        """A view rebuilt from the store (see ``RowStore.view``), or None."""
        row = self.store.find_id(article_id)
        return None if row < 0 else self.store.view(row)

    def entries(self) -> list[IndexEntry]:
        """Views of every indexed article, oldest insertion first."""
        store = self.store
        return [store.view(row) for row in store.live_rows().tolist()]

    def _derived(self, item: IndexEntry) -> Derived:
        """The item's ``Derived``: from the stateless stage, or worked out here once.

        Callers test ``item.derived`` first themselves (the common case, inline).
        """
        derived = item.derived
        if derived is not None and derived.bands == self.bands:
            return derived
        memo = self._memo
        if (
            memo is not None
            and memo[0] is item.signature
            and memo[1] is item.shingles
            and memo[2] is item.content_hash
        ):
            return memo[3]
        derived = derive(item, self.settings)
        self._memo = (item.signature, item.shingles, item.content_hash, derived)
        return derived

    # -- time -------------------------------------------------------------------------------

    def time_for_undated(self, ingest_ts: float) -> float:
        """The time an article without a publication time is given: the window's clock,
        or its own ingest time while the clock has none of publication time."""
        return self.watermark if self.on_publication_time else ingest_ts

    # -- decision ---------------------------------------------------------------------------

    def decide(self, item: IndexEntry) -> Decision:
        """Judge ``item`` against the window without changing the index.

        An item that carries its token hashes (``IndexEntry.token_hashes``) is judged by
        fact guards that refuse only substitutions in aligned context (``guards``,
        ``align``); one without, by the strict rule.
        """
        store = self.store
        row = store.find_id(item.id)
        if row >= 0:
            self._absent = None
            article_id, cluster = store.id_cluster(row)
            return Decision(
                duplicate_of=article_id,
                cluster_id=cluster,
                similarity=1.0,
                match=MatchInfo(kind="same_id"),
                indexed=False,
            )
        self._absent = item.id
        derived = item.derived
        if derived is None or derived.bands != self.bands:
            derived = self._derived(item)
        row = store.oldest_with_content(derived.digest)
        if row >= 0 and abs(store.times.values.item(row) - item.ts) <= self.window_s:
            article_id, cluster = store.id_cluster(row)
            return Decision(
                duplicate_of=article_id,
                cluster_id=cluster,
                similarity=1.0,
                match=MatchInfo(kind="exact", jaccard=1.0, containment=1.0),
            )
        best, article_id, cluster, also = self._best_match(item, derived)
        if best is None:
            return Decision(duplicate_of=None, cluster_id=item.id)
        return Decision(
            duplicate_of=article_id,
            cluster_id=cluster,
            similarity=round(best.similarity, 4),
            match=match_info(
                best.jaccard, best.containment, best.guards, best.contained, best.item_is_part, also
            ),
        )

    def candidates(self, item: IndexEntry) -> list[tuple[int, int]]:
        """(row, bands shared) of the rows in the window sharing a band with ``item``, most
        shared first, at most ``MAX_VERIFIED_CANDIDATES``.

        Ties keep the order a dict of buckets gave: by the first band shared, then
        by insertion (oldest first), so that equal matches resolve the same way.
        """
        return self._candidates(item, self._derived(item))

    def _candidates(self, item: IndexEntry, derived: Derived) -> list[tuple[int, int]]:
        return ranked_candidates(
            self.store,
            derived,
            item.passages,
            item.ts,
            self.window_s,
            self.bands,
            MAX_VERIFIED_CANDIDATES,
        )

    def _best_match(
        self, item: IndexEntry, derived: Derived
    ) -> tuple[Verdict | None, str, str, list[str]]:
        """The best verified candidate that passes the guards (or None), its id and cluster,
        and the other clusters of candidates that pass too (``match.also``).

        Every candidate is verified (at most ``MAX_VERIFIED_CANDIDATES``): the best match
        may share few bands (a short take held whole in the item has a low Jaccard), so
        the band count cannot cut the list short.
        """
        candidates = self._candidates(item, derived)
        if not candidates:
            return None, "", "", []
        best: Verdict | None = None
        passed: list[int] = []
        hashes = item.token_hashes
        mine = _ItemGuards(None if hashes is None else ItemTokens(hashes, self._hasher))
        table = self._table
        table.put(derived.sketch, 1)
        try:
            for row, _ in candidates:
                verdict = self._verify(item, derived, row, mine)
                if verdict is None:
                    continue
                passed.append(row)
                if best is None or verdict.rank > best.rank:
                    best = verdict
        finally:
            table.put(derived.sketch, 0)
        if best is None:
            return None, "", "", []
        id_cluster = self.store.id_cluster
        article_id, cluster = id_cluster(best.row)
        also = (
            also_clusters(cluster, [id_cluster(r)[1] for r in passed], MAX_ALSO)
            if len(passed) > 1
            else []
        )
        return best, article_id, cluster, also

    def _verify(
        self, item: IndexEntry, derived: Derived, row: int, mine: _ItemGuards
    ) -> Verdict | None:
        """The verdict on ``row`` with the guards it passed, or None (too far, or refused)."""
        verdict = self._similar(item, derived, row)
        if verdict is None:
            return None
        if mine.facts is None:
            mine.facts = FactView.of(item.numbers, item.entities, item.n_tokens)
        aligned = None if mine.tokens is None else self._aligned(mine.tokens, row)
        guards, refused = self._check(mine.facts, self._row_facts(row), aligned)
        if refused is not None:
            return None
        verdict.guards = guards
        return verdict

    def _similar(self, item: IndexEntry, derived: Derived, row: int) -> Verdict | None:
        """The similarity verdict on ``row`` (guards not yet asked), or None if too far."""
        s = self.settings
        fingerprints, n_cand, repeats = self.store.fingerprints(row)
        n_item = item.shingles.size
        if repeats or not (n_item and n_cand):
            jaccard, containment = overlap16(
                derived.sketch, derived.ranks, fingerprints, n_item, n_cand
            )
        else:
            # The candidate's fingerprints are distinct: each matches once if the item
            # has it, as ``overlap16`` would count it (the item's copies do not matter).
            # A numpy integer, as it always was: the measures are then numpy floats, which
            # ``round`` rounds numpy's way (a Python int could move a fourth decimal).
            shared: Any = np.count_nonzero(self._table.take(fingerprints))
            inter = min(shared, n_item, n_cand)
            jaccard, containment = inter / (n_item + n_cand - inter), inter / min(n_item, n_cand)
        by_jaccard = jaccard >= s.jaccard_threshold
        by_containment = (
            containment >= s.containment_threshold
            and min(n_item, n_cand) >= s.min_shingles_for_containment
        )
        if not (by_jaccard or by_containment):
            return None
        similarity = max(jaccard, containment) if by_containment else jaccard
        return Verdict(
            row,
            jaccard,
            containment,
            similarity,
            (2 * containment + jaccard) / 3,  # see the module docstring
            contained=not by_jaccard,
            item_is_part=n_item <= n_cand,
        )

    def _row_facts(self, row: int) -> FactView:
        """The fact view of an indexed row, remembered for a few hundred rows."""
        store = self.store
        cache = self._facts
        if self._facts_generation != store.generation:
            cache.clear()
            self._facts_generation = store.generation
        seq = store.seq_of(row)
        facts = cache.get(seq)
        if facts is None:
            if len(cache) >= _FACTS_CACHE:
                cache.clear()
            facts = cache[seq] = FactView.of(*store.facts(row))
        return facts

    def _aligned(self, item: ItemTokens, row: int) -> Aligned:
        """The guards' test of substitution in aligned context against ``row``."""

        def aligned(mine: list[str], theirs: list[str], both_sides: bool) -> bool:
            return substituted(item, mine, theirs, self.store.fingerprints(row)[0], both_sides)

        return aligned

    def _check(
        self, a: FactView, b: FactView, aligned: Aligned | None = None
    ) -> tuple[list[str], str | None]:
        store = self.store
        return check_guards(a, b, self.settings, store.vocabulary.count, store.live, aligned)

    def check_guards(self, a: IndexEntry, b: IndexEntry) -> tuple[list[str], str | None]:
        """The guards ``a`` and ``b`` pass, in order, and the first that refuses (or None),
        with this window's document frequencies (see ``guards.check_guards``)."""
        return self._check(
            FactView.of(a.numbers, a.entities, a.n_tokens),
            FactView.of(b.numbers, b.entities, b.n_tokens),
        )

    # -- mutation ---------------------------------------------------------------------------

    def add(self, item: IndexEntry, dated: bool = True) -> list[str]:
        """Index ``item`` (in the cluster it carries) and return the ids evicted by it.

        ``dated``: ``item.ts`` is its publication time; otherwise it is the time
        ``time_for_undated`` gave it (see the module docstring for the clock).
        """
        store = self.store
        if item.id != self._absent:
            row = store.find_id(item.id)
            if row >= 0:
                store.remove_row(row)
        self._absent = None
        derived = item.derived
        if derived is None or derived.bands != self.bands:
            derived = self._derived(item)
        evicted: list[str] = []
        if dated and not self.on_publication_time:
            self.on_publication_time = True
            self.watermark = item.ts
            evicted = store.evict_after(item.ts + self.window_s)
        elif (dated or not self.on_publication_time) and item.ts > self.watermark:
            self.watermark = item.ts
        store.append(item, derived)
        evicted += store.evict_before(self.watermark - self.window_s)
        return evicted

    def remove(self, article_id: str) -> bool:
        row = self.store.find_id(article_id)
        if row < 0:
            return False
        self.store.remove_row(row)
        return True

    def evict_before(self, cutoff: float) -> list[str]:
        """Drop every article older than ``cutoff`` (epoch seconds); memory follows the window."""
        return self.store.evict_before(cutoff)
