"""The dedup index as it was before the compact layout (dict buckets, an object per article).

The reference of the differential tests: the same decisions from the simplest
storage (a dict of entries, dict buckets per band key, a heap of expiry times),
so that the ring, the chains, relayouts and eviction by block of
``streamer.dedup.store`` are checked against something that has none of them.
The guards are the product's own (``streamer.dedup.guards``, with ``dedup.align``
for an item that carries its token hashes): what is checked here is the storage
and retrieval, not the guards against a copy of themselves. Passage queries
(``dedup.passages``) are looked up by (band, slot, check), the part of the band
key an entry's passages carry, in a dict of its own.
"""

from __future__ import annotations

import contextlib
import heapq
from collections import Counter
from operator import itemgetter

import numpy as np

from streamer.config import DedupSettings
from streamer.dedup.align import ItemTokens, substituted
from streamer.dedup.bands import SLOT_BITS
from streamer.dedup.entry import IndexEntry
from streamer.dedup.guards import FactView, check_guards
from streamer.dedup.index import MAX_ALSO, MAX_VERIFIED_CANDIDATES, Decision
from streamer.dedup.passages import query_bands
from streamer.dedup.verdict import also_clusters, match_info
from streamer.models import MatchInfo
from streamer.text.fact_keys import TITLE_PREFIX
from streamer.text.fingerprint import Fingerprinter

_U64 = np.uint64
_BAND_MULTIPLIER = _U64(0x9E3779B97F4A7C15)
_MIX = _U64(0xFF51AFD7ED558CCD)
_LOW = (1 << SLOT_BITS) - 1


def _overlap(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    """Jaccard and containment (of the smaller set in the larger) of two sorted unique arrays."""
    if a.size == 0 or b.size == 0:
        return 0.0, 0.0
    if a.size > b.size:
        a, b = b, a
    pos = np.searchsorted(b, a)
    pos[pos == b.size] = 0
    inter = int(np.count_nonzero(b[pos] == a))
    union = a.size + b.size - inter
    return inter / union, inter / a.size


def _facts(entry: IndexEntry) -> FactView:
    return FactView.of(entry.numbers, entry.entities, entry.n_tokens)


class DictIndex:
    """Same interface and decisions as ``DedupIndex``, in dicts."""

    def __init__(self, settings: DedupSettings) -> None:
        self.settings = settings
        self.bands = settings.lsh_bands
        self.rows = settings.num_perm // settings.lsh_bands
        self.window_s = settings.window.total_seconds()
        self._entries: dict[str, IndexEntry] = {}
        self._keys: dict[str, tuple[int, ...]] = {}
        # band key -> the id (one member, the common case) or list of ids in that bucket
        self._buckets: dict[int, str | list[str]] = {}
        # content hash -> ids holding it, oldest first; a list so that evicting the
        # oldest leaves the next one in charge, as a rebuild from the journal would.
        self._exact: dict[str, list[str]] = {}
        # How many indexed entries carry each name / title word (document frequencies).
        self._df: dict[str, int] = {}
        self._expiry: list[tuple[float, str]] = []
        self._band_salt = (
            np.random.default_rng(0x5EED)
            .integers(0, 2**63, size=self.bands, dtype=np.int64)
            .astype(_U64)
        )
        self.watermark = float("-inf")
        # (band, slot at the least table size, 16-bit check) of every indexed band key -> ids
        self._short: dict[tuple[int, int, int], list[str]] = {}
        self._hasher = Fingerprinter(settings.num_perm, settings.seed, settings.shingle_size)

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, article_id: object) -> bool:
        return article_id in self._entries

    def get(self, article_id: str) -> IndexEntry | None:
        return self._entries.get(article_id)

    def entries(self) -> list[IndexEntry]:
        return list(self._entries.values())

    def _band_keys(self, signature: np.ndarray) -> tuple[int, ...]:
        """One 64-bit key per band: the band's rows mixed, salted by the band's number."""
        rows = np.asarray(signature, dtype=np.uint32)[: self.bands * self.rows]
        rows = rows.reshape(self.bands, self.rows).astype(_U64)
        with np.errstate(over="ignore"):
            acc = rows[:, 0].copy()
            for j in range(1, self.rows):
                acc = acc * _BAND_MULTIPLIER + rows[:, j]
            acc ^= self._band_salt
        return tuple(acc.tolist())

    def _short_keys(self, keys: tuple[int, ...]) -> list[tuple[int, int, int]]:
        """The (band, slot, check) of band keys, as the product's tables see them."""
        acc = np.array(keys, dtype=_U64)
        with np.errstate(over="ignore"):
            acc ^= acc >> _U64(32)
            acc *= _MIX
        low, check = (acc & _U64(_LOW)).tolist(), (acc >> _U64(48)).tolist()
        return list(zip(range(len(keys)), low, check, strict=True))

    def _passage_counts(self, item: IndexEntry) -> Counter[str]:
        """Per indexed id, the most bands one of the item's passages shares with it."""
        best: Counter[str] = Counter()
        if item.passages is None:
            return best
        slots, checks = item.passages
        step = query_bands(self.bands)
        for start in range(0, slots.size, step):
            window: Counter[str] = Counter()
            for slot, check in zip(
                slots[start : start + step].tolist(),
                checks[start : start + step].tolist(),
                strict=True,
            ):
                band, low = slot >> SLOT_BITS, slot & _LOW
                window.update(self._short.get((band, low, check), ()))
            for cand_id, n in window.items():
                best[cand_id] = max(best[cand_id], n)
        return best

    # -- decision ---------------------------------------------------------------------------

    def decide(self, item: IndexEntry) -> Decision:
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
        best: tuple[IndexEntry, float, float, float, float, list[str]] | None = None
        candidates = self._candidates(item)
        passed: list[str] = []
        for cand, _ in candidates:  # every candidate: the best may share few bands
            verdict = self._verify(item, cand)
            if verdict is not None:
                passed.append(cand.cluster_id)
                if best is None or verdict[4] > best[4]:
                    best = verdict
        if best is None:
            return Decision(duplicate_of=None, cluster_id=item.id)
        match, jaccard, containment, similarity, _, guards = best
        also = also_clusters(match.cluster_id, passed, MAX_ALSO)
        return Decision(
            duplicate_of=match.id,
            cluster_id=match.cluster_id,
            similarity=round(similarity, 4),
            match=match_info(
                jaccard,
                containment,
                guards,
                contained=jaccard < self.settings.jaccard_threshold,
                item_is_part=item.shingles.size <= match.shingles.size,
                also=also,
            ),
        )

    def _candidates(self, item: IndexEntry) -> list[tuple[IndexEntry, int]]:
        """Indexed entries in the window sharing a band with ``item``, most shared first."""
        found: list[str] = []
        buckets = self._buckets
        for key in self._band_keys(item.signature):
            ids = buckets.get(key)
            if ids is None:
                continue
            if isinstance(ids, str):
                found.append(ids)
            else:
                found.extend(ids)
        counts = Counter(found)
        for cand_id, n in self._passage_counts(item).items():
            counts[cand_id] = max(counts[cand_id], n)
        if not counts:
            return []
        ranked = sorted(counts.items(), key=itemgetter(1), reverse=True)
        out = []
        for cand_id, n in ranked:
            cand = self._entries[cand_id]
            if abs(cand.ts - item.ts) <= self.window_s:
                out.append((cand, n))
                if len(out) >= MAX_VERIFIED_CANDIDATES:
                    break
        return out

    def _verify(
        self, item: IndexEntry, cand: IndexEntry
    ) -> tuple[IndexEntry, float, float, float, float, list[str]] | None:
        s = self.settings
        jaccard, containment = _overlap(item.shingles, cand.shingles)
        small = min(item.shingles.size, cand.shingles.size)
        by_jaccard = jaccard >= s.jaccard_threshold
        by_containment = (
            containment >= s.containment_threshold and small >= s.min_shingles_for_containment
        )
        if not (by_jaccard or by_containment):
            return None
        aligned = None
        if item.token_hashes is not None:
            tokens = ItemTokens(item.token_hashes, self._hasher)
            folded = np.sort(cand.shingles.astype(np.uint16))

            def aligned(mine: list[str], theirs: list[str], both_sides: bool) -> bool:
                return substituted(tokens, mine, theirs, folded, both_sides)

        df = self._df
        guards, refused = check_guards(
            _facts(item),
            _facts(cand),
            self.settings,
            lambda w: df.get(w, 0),
            len(self._entries),
            aligned,
        )
        if refused is not None:
            return None
        similarity = max(jaccard, containment) if by_containment else jaccard
        return cand, jaccard, containment, similarity, (2 * containment + jaccard) / 3, guards

    def check_guards(self, a: IndexEntry, b: IndexEntry) -> tuple[list[str], str | None]:
        df = self._df
        return check_guards(
            _facts(a), _facts(b), self.settings, lambda w: df.get(w, 0), len(self._entries)
        )

    def _count(self, entry: IndexEntry, delta: int) -> None:
        df = self._df
        view = _facts(entry)
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

    def add(self, item: IndexEntry) -> list[str]:
        if item.id in self._entries:
            self.remove(item.id)
        self._entries[item.id] = item
        keys = self._keys[item.id] = self._band_keys(item.signature)
        buckets = self._buckets
        article_id = item.id
        for key in keys:
            ids = buckets.setdefault(key, article_id)
            if ids is article_id:
                continue  # a new bucket: the common case, one lookup
            if isinstance(ids, str):
                buckets[key] = [ids, article_id]
            else:
                ids.append(article_id)
        for short in self._short_keys(keys):
            self._short.setdefault(short, []).append(article_id)
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
        for short in self._short_keys(self._keys[article_id]):
            ids_ = self._short.get(short)
            if ids_ is not None:
                with contextlib.suppress(ValueError):
                    ids_.remove(article_id)
                if not ids_:
                    del self._short[short]
        for key in self._keys.pop(article_id):
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
        evicted = []
        while self._expiry and self._expiry[0][0] < cutoff:
            ts, article_id = heapq.heappop(self._expiry)
            entry = self._entries.get(article_id)
            if entry is not None and entry.ts == ts and self.remove(article_id):
                evicted.append(article_id)
        return evicted
