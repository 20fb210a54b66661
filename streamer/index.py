"""The time-windowed dedup index: candidates, verification, guards, clusters, eviction.

Two stages, because one cannot serve both goals. LSH (many narrow bands) is
tuned for recall and only proposes candidates; each candidate is then verified
on the real shingle sets, by Jaccard for restyled copies and by containment for
lead-only cuts, and must pass the fact guards so templated items that differ in
figures or names are never merged. The index does no I/O: the journal persists
what ``add`` and ``evict`` change, through the entries they return.
"""

from __future__ import annotations

import heapq
from collections import Counter
from dataclasses import dataclass, field

import numpy as np

from streamer.config import DedupSettings
from streamer.models import MatchInfo

MAX_VERIFIED_CANDIDATES = 24


@dataclass(slots=True)
class IndexEntry:
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
    entry: IndexEntry
    jaccard: float
    containment: float
    guards: list[str] = field(default_factory=list)

    @property
    def score(self) -> float:
        return max(self.jaccard, self.containment)


def _overlap(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    if a.size == 0 or b.size == 0:
        return 0.0, 0.0
    inter = np.intersect1d(a, b, assume_unique=True).size
    union = a.size + b.size - inter
    return inter / union, inter / min(a.size, b.size)


class DedupIndex:
    """One ordered writer's view of the recent past.

    Not thread-safe by design: decisions must be made in input order by one
    writer, so there is nothing to share.
    """

    def __init__(self, settings: DedupSettings) -> None:
        self.settings = settings
        self.rows = settings.num_perm // settings.lsh_bands
        self.window_s = settings.window.total_seconds()
        self._entries: dict[str, IndexEntry] = {}
        self._bands: dict[int, list[str]] = {}
        self._exact: dict[str, str] = {}
        self._expiry: list[tuple[float, str]] = []
        self.watermark = float("-inf")

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, article_id: object) -> bool:
        return article_id in self._entries

    def get(self, article_id: str) -> IndexEntry | None:
        return self._entries.get(article_id)

    def entries(self) -> list[IndexEntry]:
        return list(self._entries.values())

    def _band_keys(self, signature: np.ndarray) -> list[int]:
        r = self.rows
        raw = signature.astype(np.uint32).tobytes()
        step = 4 * r
        return [hash((i, raw[i * step : (i + 1) * step])) for i in range(self.settings.lsh_bands)]

    # -- decision ---------------------------------------------------------------------------

    def decide(self, item: IndexEntry) -> Decision:
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
        exact_id = self._exact.get(item.content_hash)
        if exact_id is not None:
            exact = self._entries[exact_id]
            if abs(exact.ts - item.ts) <= self.window_s:
                return Decision(
                    duplicate_of=exact.id,
                    cluster_id=exact.cluster_id,
                    similarity=1.0,
                    match=MatchInfo(kind="exact", jaccard=1.0, containment=1.0),
                )
        best: _Verdict | None = None
        for cand in self._candidates(item):
            verdict = self._verify(item, cand)
            if verdict is not None and (best is None or verdict.score > best.score):
                best = verdict
        if best is None:
            return Decision(duplicate_of=None, cluster_id=item.id)
        return Decision(
            duplicate_of=best.entry.id,
            cluster_id=best.entry.cluster_id,
            similarity=round(best.score, 4),
            match=MatchInfo(
                kind="near",
                jaccard=round(best.jaccard, 4),
                containment=round(best.containment, 4),
                guards=best.guards,
            ),
        )

    def _candidates(self, item: IndexEntry) -> list[IndexEntry]:
        hits: Counter[str] = Counter()
        for key in self._band_keys(item.signature):
            ids = self._bands.get(key)
            if ids:
                hits.update(ids)
        ranked = hits.most_common(MAX_VERIFIED_CANDIDATES)
        out = []
        for cand_id, _ in ranked:
            cand = self._entries[cand_id]
            if abs(cand.ts - item.ts) <= self.window_s:
                out.append(cand)
        return out

    def _verify(self, item: IndexEntry, cand: IndexEntry) -> _Verdict | None:
        s = self.settings
        jaccard, containment = _overlap(item.shingles, cand.shingles)
        small = min(item.shingles.size, cand.shingles.size)
        by_jaccard = jaccard >= s.jaccard_threshold
        by_containment = (
            containment >= s.containment_threshold and small >= s.min_shingles_for_containment
        )
        if not (by_jaccard or by_containment):
            return None
        guards = self._guards(item, cand, jaccard)
        if guards is None:
            return None
        return _Verdict(cand, jaccard, containment, guards)

    def _guards(self, item: IndexEntry, cand: IndexEntry, jaccard: float) -> list[str] | None:
        """Refuse a match whose facts disagree; return the names of the guards passed.

        The shorter text's facts must be found in the longer one (a lead-only cut
        keeps a subset of the figures and names; a templated item about another
        company or another price does not).
        """
        shorter, longer = (item, cand) if item.n_tokens <= cand.n_tokens else (cand, item)
        passed = []
        missing_numbers = shorter.numbers - longer.numbers
        if missing_numbers:
            return None
        passed.append("numbers")
        if shorter.entities:
            found = len(shorter.entities & longer.entities) / len(shorter.entities)
            if found < 0.8:
                return None
            passed.append("entities")
        if shorter.n_tokens < self.settings.short_item_tokens:
            if jaccard < self.settings.jaccard_threshold and shorter.numbers != longer.numbers:
                return None
            passed.append("short_item")
        return passed

    # -- mutation ---------------------------------------------------------------------------

    def add(self, item: IndexEntry) -> list[str]:
        """Index ``item`` (its cluster already decided) and return the ids evicted by it."""
        self._entries[item.id] = item
        for key in self._band_keys(item.signature):
            self._bands.setdefault(key, []).append(item.id)
        self._exact.setdefault(item.content_hash, item.id)
        heapq.heappush(self._expiry, (item.ts, item.id))
        if item.ts > self.watermark:
            self.watermark = item.ts
        return self.evict_before(self.watermark - self.window_s)

    def remove(self, article_id: str) -> bool:
        entry = self._entries.pop(article_id, None)
        if entry is None:
            return False
        for key in self._band_keys(entry.signature):
            ids = self._bands.get(key)
            if ids is None:
                continue
            try:
                ids.remove(article_id)
            except ValueError:
                pass
            if not ids:
                del self._bands[key]
        if self._exact.get(entry.content_hash) == article_id:
            del self._exact[entry.content_hash]
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
