"""The dedup index as it was before the compact layout (dict buckets, an object per article).

Kept for the benchmarks only, so that ``bench_decide`` and ``bench_memory`` can
measure the old and the new index in one run on the same articles. The service
uses ``streamer.index``.
"""

from __future__ import annotations

import contextlib
import heapq
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from operator import itemgetter

import numpy as np

from streamer.config import DedupSettings
from streamer.models import MatchInfo
from streamer.text.fact_keys import (
    LOOSE_PREFIX,
    TICKER_PREFIX,
    TITLE_PREFIX,
    figure_key,
    near_spelling,
)

# At most this many candidates (most shared bands first) are verified per decision.
MAX_VERIFIED_CANDIDATES = 24
_U64 = np.uint64
_BAND_MULTIPLIER = _U64(0x9E3779B97F4A7C15)


@dataclass(slots=True)
class _FactView:
    """An entry's facts split by kind, computed once per entry for the guards."""

    tickers: frozenset[str]
    names: frozenset[str]
    title_words: frozenset[str]
    support: frozenset[str]

    @classmethod
    def of(cls, entities: Iterable[str]) -> _FactView:
        keys = entities if isinstance(entities, frozenset) else frozenset(entities)
        tickers = frozenset(k[1:] for k in keys if k[:1] == TICKER_PREFIX)
        titles = frozenset(k[1:] for k in keys if k[:1] == TITLE_PREFIX)
        loose = frozenset(k[1:] for k in keys if k[:1] == LOOSE_PREFIX)
        names = frozenset(k for k in keys if k[:1] not in _PREFIXES)
        return cls(tickers, names, titles, names | tickers | titles | loose)


_PREFIXES = frozenset((TICKER_PREFIX, LOOSE_PREFIX, TITLE_PREFIX))


@dataclass(slots=True)
class LegacyEntry:
    """Everything the index keeps per article; also what the journal stores to rebuild it."""

    id: str
    cluster_id: str
    ts: float
    content_hash: str
    shingles: np.ndarray
    signature: np.ndarray
    numbers: frozenset[str]
    entities: frozenset[str]
    n_tokens: int
    # Derived from ``entities`` and ``signature`` on first use; never persisted.
    _view: _FactView | None = field(default=None, repr=False, compare=False)
    _band_keys: tuple[int, ...] | None = field(default=None, repr=False, compare=False)

    @property
    def facts_view(self) -> _FactView:
        view = self._view
        if view is None:
            view = self._view = _FactView.of(self.entities)
        return view


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
class _Verdict:
    entry: LegacyEntry
    jaccard: float
    containment: float
    similarity: float  # the evidence that matched: Jaccard, or containment for a cut
    rank: float  # how good a match: a near-identical copy beats a cut that fits inside
    guards: list[str] = field(default_factory=list)


def _overlap(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    """Jaccard and containment (of the smaller set in the larger) of two sorted unique arrays."""
    if a.size == 0 or b.size == 0:
        return 0.0, 0.0
    if a.size > b.size:
        a, b = b, a
    # Both arrays are sorted and unique: look every element of the smaller one up in
    # the larger one, which is cheaper than a merge for the sizes we see.
    pos = np.searchsorted(b, a)
    pos[pos == b.size] = 0
    inter = int(np.count_nonzero(b[pos] == a))
    union = a.size + b.size - inter
    return inter / union, inter / a.size


def _unsupported(mine: frozenset[str], theirs: frozenset[str]) -> list[str]:
    """The keys of ``mine`` that the other version has in no spelling (one-letter typos ok)."""
    missing = mine - theirs
    if not missing:
        return []
    out = []
    for key in missing:
        n = len(key)
        if n >= 5 and any(
            abs(len(other) - n) <= 1 and near_spelling(key, other) for other in theirs
        ):
            continue
        out.append(key)
    return out


def _numbers_substituted(a: frozenset[str], b: frozenset[str]) -> bool:
    """True if each side has a figure (or date) the other lacks in any scale."""
    only_a = a - b
    if not only_a:
        return False
    only_b = b - a
    if not only_b:
        return False
    # A figure written with another scale word on the other side is the same figure.
    keys_b = {figure_key(y) for y in only_b}
    rest_a = {x for x in only_a if figure_key(x) not in keys_b}
    if not rest_a:
        return False
    keys_a = {figure_key(x) for x in only_a}
    return any(figure_key(y) not in keys_a for y in only_b)


class LegacyIndex:
    """One ordered writer's view of the recent past.

    Not thread-safe by design: decisions must be made in input order by one
    writer, so there is nothing to share.
    """

    def __init__(self, settings: DedupSettings) -> None:
        self.settings = settings
        self.bands = settings.lsh_bands
        self.rows = settings.num_perm // settings.lsh_bands
        self.window_s = settings.window.total_seconds()
        self._entries: dict[str, LegacyEntry] = {}
        # band key -> the id (one member, the common case) or list of ids in that bucket
        self._buckets: dict[int, str | list[str]] = {}
        # content hash -> ids holding it, oldest first; a list so that evicting the
        # oldest leaves the next one in charge, as a rebuild from the journal would.
        self._exact: dict[str, list[str]] = {}
        # How many indexed entries carry each name / title word: a word that many
        # articles carry ("Government", "Market", "SETS") identifies nothing.
        self._df: dict[str, int] = {}
        self._expiry: list[tuple[float, str]] = []
        self._band_salt = (
            np.random.default_rng(0x5EED)
            .integers(0, 2**63, size=self.bands, dtype=np.int64)
            .astype(_U64)
        )
        self.watermark = float("-inf")

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, article_id: object) -> bool:
        return article_id in self._entries

    def get(self, article_id: str) -> LegacyEntry | None:
        return self._entries.get(article_id)

    def entries(self) -> list[LegacyEntry]:
        return list(self._entries.values())

    def _keys_of(self, entry: LegacyEntry) -> tuple[int, ...]:
        """The entry's band keys, computed once for its decision and its insertion."""
        keys = entry._band_keys
        if keys is None or len(keys) != self.bands:
            # A tuple of ints: the garbage collector stops tracking it.
            keys = entry._band_keys = tuple(self._band_keys(entry.signature))
        return keys

    def _band_keys(self, signature: np.ndarray) -> list[int]:
        """One 64-bit key per band: the band's rows mixed, salted by the band's number."""
        rows = np.asarray(signature, dtype=np.uint32)[: self.bands * self.rows]
        rows = rows.reshape(self.bands, self.rows).astype(_U64)
        with np.errstate(over="ignore"):
            acc = rows[:, 0].copy()
            for j in range(1, self.rows):
                acc = acc * _BAND_MULTIPLIER + rows[:, j]
            acc ^= self._band_salt
        keys: list[int] = acc.tolist()
        return keys

    # -- decision ---------------------------------------------------------------------------

    def decide(self, item: LegacyEntry) -> Decision:
        """Judge ``item`` against the window without changing the index."""
        existing = self._entries.get(item.id)
        if existing is not None:
            return Decision(
                duplicate_of=existing.id,
                cluster_id=existing.cluster_id,
                similarity=1.0,
                match=MatchInfo(kind="same_id"),
                indexed=False,
            )
        holders = self._exact.get(item.content_hash)
        if holders:
            exact = self._entries[holders[0]]
            if abs(exact.ts - item.ts) <= self.window_s:
                return Decision(
                    duplicate_of=exact.id,
                    cluster_id=exact.cluster_id,
                    similarity=1.0,
                    match=MatchInfo(kind="exact", jaccard=1.0, containment=1.0),
                )
        best: _Verdict | None = None
        best_hits = 0
        for cand, hits in self._candidates(item):
            if best is not None and 2 * hits < best_hits:
                break  # far fewer shared bands than the match in hand: not a better one
            verdict = self._verify(item, cand)
            if verdict is not None and (best is None or verdict.rank > best.rank):
                best, best_hits = verdict, max(best_hits, hits)
        if best is None:
            return Decision(duplicate_of=None, cluster_id=item.id)
        return Decision(
            duplicate_of=best.entry.id,
            cluster_id=best.entry.cluster_id,
            similarity=round(best.similarity, 4),
            match=MatchInfo(
                kind="near",
                jaccard=round(best.jaccard, 4),
                containment=round(best.containment, 4),
                guards=best.guards,
            ),
        )

    def _candidates(self, item: LegacyEntry) -> list[tuple[LegacyEntry, int]]:
        """Indexed entries in the window sharing a band with ``item``, most shared first."""
        found: list[str] = []
        buckets = self._buckets
        for key in self._keys_of(item):
            ids = buckets.get(key)
            if ids is None:
                continue
            if isinstance(ids, str):
                found.append(ids)
            else:
                found.extend(ids)
        if not found:
            return []
        counts = Counter(found)
        ranked = sorted(counts.items(), key=itemgetter(1), reverse=True)
        out = []
        entries, ts, window = self._entries, item.ts, self.window_s
        for cand_id, n in ranked:
            cand = entries[cand_id]
            if abs(cand.ts - ts) <= window:
                out.append((cand, n))
                if len(out) >= MAX_VERIFIED_CANDIDATES:
                    break
        return out

    def _verify(self, item: LegacyEntry, cand: LegacyEntry) -> _Verdict | None:
        s = self.settings
        jaccard, containment = _overlap(item.shingles, cand.shingles)
        small = min(item.shingles.size, cand.shingles.size)
        by_jaccard = jaccard >= s.jaccard_threshold
        by_containment = (
            containment >= s.containment_threshold and small >= s.min_shingles_for_containment
        )
        if not (by_jaccard or by_containment):
            return None
        guards = self.guards(item, cand)
        if guards is None:
            return None
        similarity = max(jaccard, containment) if by_containment else jaccard
        return _Verdict(cand, jaccard, containment, similarity, (jaccard + containment) / 2, guards)

    def guards(self, a: LegacyEntry, b: LegacyEntry) -> list[str] | None:
        """The names of the fact guards ``a`` and ``b`` pass, or None if one refuses."""
        passed, refused = self.check_guards(a, b)
        return None if refused else passed

    def check_guards(self, a: LegacyEntry, b: LegacyEntry) -> tuple[list[str], str | None]:
        """The guards passed, in order, and the name of the first that refuses (or None).

        Each guard refuses a *substitution*: both versions carry a fact the other
        lacks. A one-sided difference is what cuts (fewer figures and names) and
        republishing (a byline, an added sentence) produce, so it passes.
        """
        va, vb = a.facts_view, b.facts_view
        passed: list[str] = []
        if va.tickers and vb.tickers:
            if (va.tickers - vb.tickers) and (vb.tickers - va.tickers):
                return passed, "tickers"
            passed.append("tickers")
        if _numbers_substituted(a.numbers, b.numbers):
            return passed, "numbers"
        passed.append("numbers")
        if self._names_substituted(a, b):
            return passed, "names"
        passed.append("names")
        if min(a.n_tokens, b.n_tokens) < self.settings.short_item_tokens:
            if (
                va.title_words - vb.support
                and vb.title_words - va.support
                and self._specific(_unsupported(va.title_words, vb.support), TITLE_PREFIX)
                and self._specific(_unsupported(vb.title_words, va.support), TITLE_PREFIX)
            ):
                return passed, "short_item_title"
            passed.append("short_item_title")
        return passed, None

    def _names_substituted(self, a: LegacyEntry, b: LegacyEntry) -> bool:
        """Both versions name someone the other never mentions.

        Restyling swaps the odd capitalized common word ("Government" for
        "Authorities"), so a single name against a single name counts only when both
        are specific (few indexed articles carry them); three or more unknown names
        in all are a substitution whatever they are.
        """
        va, vb = a.facts_view, b.facts_view
        if not (va.names - vb.support and vb.names - va.support):
            return False  # cheap exact test first: most pairs differ on one side only
        only_a = _unsupported(va.names, vb.support)
        if not only_a:
            return False
        only_b = _unsupported(vb.names, va.support)
        if not only_b:
            return False
        if len(only_a) + len(only_b) >= 3:
            return True
        return bool(self._specific(only_a, "") and self._specific(only_b, ""))

    def _specific(self, words: list[str], prefix: str) -> list[str]:
        """The words that identify something: carried by few indexed articles."""
        if not words:
            return words
        s = self.settings
        limit = max(s.common_word_min_docs, s.common_word_fraction * len(self._entries))
        df = self._df
        return [w for w in words if df.get(prefix + w, 0) <= limit]

    def _count(self, entry: LegacyEntry, delta: int) -> None:
        df = self._df
        view = entry.facts_view
        for key in view.names:
            df[key] = df.get(key, 0) + delta
        for word in view.title_words:
            key = TITLE_PREFIX + word
            n = df.get(key, 0) + delta
            if n > 0:
                df[key] = n
            else:
                df.pop(key, None)
        if delta < 0:
            for key in view.names:
                if df.get(key, 0) <= 0:
                    df.pop(key, None)

    # -- mutation ---------------------------------------------------------------------------

    def add(self, item: LegacyEntry) -> list[str]:
        """Index ``item`` (its cluster already decided) and return the ids evicted by it."""
        previous = self._entries.get(item.id)
        if previous is not None:
            self.remove(item.id)
        self._entries[item.id] = item
        buckets = self._buckets
        article_id = item.id
        for key in self._keys_of(item):
            ids = buckets.setdefault(key, article_id)
            if ids is article_id:
                continue  # a new bucket: the common case, one lookup
            if isinstance(ids, str):
                buckets[key] = [ids, article_id]
            else:
                ids.append(article_id)
        self._exact.setdefault(item.content_hash, []).append(item.id)
        self._count(item, 1)
        heapq.heappush(self._expiry, (item.ts, item.id))
        if item.ts > self.watermark:
            self.watermark = item.ts
        return self.evict_before(self.watermark - self.window_s)

    def remove(self, article_id: str) -> bool:
        entry = self._entries.pop(article_id, None)
        if entry is None:
            return False
        buckets = self._buckets
        for key in self._keys_of(entry):
            ids = buckets.get(key)
            if ids is None:
                continue
            if isinstance(ids, str):
                if ids == article_id:
                    del buckets[key]
                continue
            try:
                ids.remove(article_id)
            except ValueError:
                continue
            if len(ids) == 1:
                buckets[key] = ids[0]
            elif not ids:
                del buckets[key]
        holders = self._exact.get(entry.content_hash)
        if holders is not None:
            with contextlib.suppress(ValueError):
                holders.remove(article_id)
            if not holders:
                del self._exact[entry.content_hash]
        self._count(entry, -1)
        return True

    def evict_before(self, cutoff: float) -> list[str]:
        """Drop every article older than ``cutoff`` (epoch seconds); memory follows the window."""
        evicted = []
        while self._expiry and self._expiry[0][0] < cutoff:
            ts, article_id = heapq.heappop(self._expiry)
            entry = self._entries.get(article_id)
            if entry is not None and entry.ts == ts and self.remove(article_id):
                evicted.append(article_id)
        return evicted


def legacy_entry(entry: object) -> LegacyEntry:
    """The same article as the legacy index's entry type (its own caches, nothing shared)."""
    return LegacyEntry(
        **{
            name: getattr(entry, name)
            for name in (
                "id",
                "cluster_id",
                "ts",
                "content_hash",
                "shingles",
                "signature",
                "numbers",
                "entities",
                "n_tokens",
            )
        }
    )
