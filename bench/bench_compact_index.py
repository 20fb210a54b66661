"""A prototype of a compact dedup index: columnar numpy arrays, no per-article Python objects.

Not the service's index (``streamer/index.py`` is). It exists to measure what a
compact representation costs per article and how fast it decides, so that the
design can be judged with numbers before it is integrated:

* Articles live in a ring of rows (row = seq mod capacity), in arrival order;
  the window evicts from the tail (FIFO), which is also the capacity bound.
* LSH bands: per band a direct-addressed head table (uint32 seq per slot,
  2^m slots, m = log2(capacity)) and a chain ``next[row, band]`` (uint32 seq);
  chains run newest to oldest, so a walk stops at the first seq that has left
  the ring: eviction never touches the tables. Slot collisions between
  different band keys are filtered by a 16-bit check of the key per
  (row, band). That is 4 + 4 + 2 = 10 bytes per article per band.
* Verification on 16-bit shingle fingerprints (sorted, unique) kept in a ring
  arena: half the bytes of 32-bit shingles, and Jaccard/containment stay set
  measures (a spurious 16-bit match between two 150-shingle sets happens
  about 150*150/65536 = 0.34 times per pair, so the bias is under one element).
* Same-id and exact-content lookups: the same seq-chain tables with one band.
* Facts (numbers, entities; 26 a story on Reuters) as 32-bit hashes in a second ring arena; the
  prototype applies the simple subset guards (numbers subset, 80% of entities).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

_U32 = np.uint32
_U64 = np.uint64
_M64 = np.uint64(0x9E3779B97F4A7C15)
_EMPTY = 0xFFFFFFFF
MAX_VERIFIED = 24


def _h64(s: str) -> int:
    """A 64-bit hash of a string, stable within the process (the index is rebuilt on start)."""
    return hash(s) & 0xFFFFFFFFFFFFFFFF


@dataclass(slots=True)
class Item:
    """What the compact index needs of one article, derived once (the stateless half could)."""

    id: str
    ts: float
    chash: int
    id_hash: int
    band_slots: np.ndarray
    band_check: np.ndarray
    sketch: np.ndarray
    numbers: np.ndarray
    entities: np.ndarray
    n_tokens: int


class _RingArena:
    """Variable-length runs of one dtype in a ring, allocated in FIFO order."""

    def __init__(self, size: int, dtype: type) -> None:
        self.data = np.zeros(size, dtype=dtype)
        self.size = size
        self.head = 0  # next free position (monotonic, not wrapped)

    def alloc(self, n: int) -> int:
        """Start (monotonic) of a contiguous run of n; the caller evicts what it overwrote."""
        pos = self.head % self.size
        if pos + n > self.size:  # do not wrap a run: skip to the start
            self.head += self.size - pos
        start = self.head
        self.head += n
        return start

    def view(self, start: int, n: int) -> np.ndarray:
        p = start % self.size
        return self.data[p : p + n]


class _SeqTable:
    """key (uint64) -> chain of seqs, newest first, for ``bands`` independent key spaces."""

    def __init__(self, bits: int, capacity: int, bands: int) -> None:
        self.mask = (1 << bits) - 1
        self.heads = np.full((bands, 1 << bits), _EMPTY, dtype=_U32)
        self.next = np.full((capacity, bands), _EMPTY, dtype=_U32)
        self.check = np.zeros((capacity, bands), dtype=np.uint16)
        self.bands = np.arange(bands)

    @staticmethod
    def split(keys: np.ndarray, mask: int) -> tuple[np.ndarray, np.ndarray]:
        keys = keys ^ (keys >> _U64(29))
        return (keys & _U64(mask)).astype(np.intp), (keys >> _U64(48)).astype(np.uint16)

    def insert(self, slots: np.ndarray, check: np.ndarray, seq: int, row: int) -> None:
        b = self.bands
        self.next[row] = self.heads[b, slots]
        self.check[row] = check
        self.heads[b, slots] = seq

    def insert1(self, key: int, seq: int, row: int) -> None:
        """``insert`` for a one-band table, in scalar Python (cheaper than numpy for one key)."""
        key ^= key >> 29
        slot = key & self.mask
        self.next[row, 0] = self.heads[0, slot]
        self.check[row, 0] = key >> 48
        self.heads[0, slot] = seq

    def lookup1(self, key: int, head_seq: int, live: int, cap_mask: int) -> list[int]:
        """Rows of live entries whose key check matches, for a one-band table."""
        key ^= key >> 29
        check = key >> 48
        cur = int(self.heads[0, key & self.mask])
        top = head_seq - 1
        rows = []
        while ((top - cur) & 0xFFFFFFFF) < live:
            row = cur & cap_mask
            if self.check[row, 0] == check:
                rows.append(row)
            cur = int(self.next[row, 0])
        return rows

    def lookup(
        self, slots: np.ndarray, check: np.ndarray, head_seq: int, live: int, cap_mask: int
    ) -> np.ndarray:
        """Seqs (with repeats, one per band hit) of live rows whose key check matches."""
        b = self.bands
        cur = self.heads[b, slots].astype(np.int64)
        found = []
        top = head_seq - 1
        while True:
            valid = ((top - cur) & 0xFFFFFFFF) < live
            if not valid.any():
                break
            b, cur, check = b[valid], cur[valid], check[valid]
            rows = cur & cap_mask
            hit = self.check[rows, b] == check
            if hit.any():
                found.append(cur[hit])
            cur = self.next[rows, b].astype(np.int64)
        return np.concatenate(found) if found else np.empty(0, dtype=np.int64)


def _overlap16(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    if a.size == 0 or b.size == 0:
        return 0.0, 0.0
    if a.size > b.size:
        a, b = b, a
    pos = np.searchsorted(b, a)
    pos[pos == b.size] = 0
    inter = int(np.count_nonzero(b[pos] == a))
    return inter / (a.size + b.size - inter), inter / a.size


class CompactIndex:
    def __init__(
        self,
        capacity: int,
        window_s: float,
        bands: int = 32,
        rows: int = 4,
        jaccard_threshold: float = 0.5,
        containment_threshold: float = 0.8,
        min_shingles_for_containment: int = 12,
        mean_shingles: int = 160,
        mean_facts: int = 40,
    ) -> None:
        bits = max(4, int(capacity - 1).bit_length())
        self.capacity = cap = 1 << bits
        self.cap_mask = cap - 1
        self.window_s = window_s
        self.bands, self.rows = bands, rows
        self.jt, self.ct, self.min_c = (
            jaccard_threshold,
            containment_threshold,
            (min_shingles_for_containment),
        )
        self.seq = 0  # next seq
        self.tail = 0  # oldest live seq
        self.watermark = float("-inf")
        self.ts = np.zeros(cap, dtype=np.float64)
        self.ids = np.zeros(cap, dtype="S24")
        self.clusters = np.zeros(cap, dtype="S24")
        self.chash = np.zeros(cap, dtype=_U64)
        self.n_tokens = np.zeros(cap, dtype=np.uint16)
        self.sk_start = np.zeros(cap, dtype=np.int64)
        self.sk_len = np.zeros(cap, dtype=np.uint16)
        self.fa_start = np.zeros(cap, dtype=np.int64)
        self.fa_nums = np.zeros(cap, dtype=np.uint16)
        self.fa_ents = np.zeros(cap, dtype=np.uint16)
        self.sketch = _RingArena(cap * mean_shingles, np.uint16)
        self.facts = _RingArena(cap * mean_facts, np.uint32)
        self.band_table = _SeqTable(bits, cap, bands)
        self.id_table = _SeqTable(bits, cap, 1)
        self.hash_table = _SeqTable(bits, cap, 1)
        self.salt = (np.arange(bands, dtype=_U64) + _U64(1)) * _U64(0xBF58476D1CE4E5B9)

    def __len__(self) -> int:
        return self.seq - self.tail

    # -- keys ------------------------------------------------------------------------------
    def band_keys(self, signature: np.ndarray) -> np.ndarray:
        r = signature[: self.bands * self.rows].reshape(self.bands, self.rows).astype(_U64)
        with np.errstate(over="ignore"):
            acc = r[:, 0].copy()
            for j in range(1, self.rows):
                acc = acc * _M64 + r[:, j]
            acc ^= self.salt
            acc *= _M64
        return acc

    @staticmethod
    def sketch_of(shingles: np.ndarray) -> np.ndarray:
        return np.unique((shingles & 0xFFFF).astype(np.uint16))

    @staticmethod
    def fact_hashes(words: Iterable[str]) -> np.ndarray:
        return np.unique(np.fromiter((hash(w) for w in words), dtype=np.int64).astype(np.uint32))

    def item(
        self,
        article_id: str,
        ts: float,
        content_hash: str,
        shingles: np.ndarray,
        signature: np.ndarray,
        numbers: Iterable[str],
        entities: Iterable[str],
        n_tokens: int,
    ) -> Item:
        slots, check = _SeqTable.split(self.band_keys(signature), self.band_table.mask)
        return Item(
            article_id,
            ts,
            int(content_hash[:16], 16),
            _h64(article_id),
            slots,
            check,
            self.sketch_of(shingles),
            self.fact_hashes(numbers),
            self.fact_hashes(entities),
            n_tokens,
        )

    # -- lookups ---------------------------------------------------------------------------
    def decide(self, item: Item) -> tuple[str | None, str, float | None]:
        """(duplicate_of, cluster_id, similarity)."""
        live, head = len(self), self.seq
        bid = item.id.encode()
        for row in self.id_table.lookup1(item.id_hash, head, live, self.cap_mask):
            if self.ids[row] == bid:
                return item.id, self.clusters[row].decode(), 1.0
        for row in self.hash_table.lookup1(item.chash, head, live, self.cap_mask):
            if self.chash[row] == item.chash and abs(self.ts[row] - item.ts) <= self.window_s:
                return self.ids[row].decode(), self.clusters[row].decode(), 1.0
        seqs = self.band_table.lookup(item.band_slots, item.band_check, head, live, self.cap_mask)
        if seqs.size == 0:
            return None, item.id, None
        if seqs.size == 1:
            cand = seqs
        else:
            cand, counts = np.unique(seqs, return_counts=True)
            if cand.size > MAX_VERIFIED:
                cand = cand[np.argsort(-counts, kind="stable")[:MAX_VERIFIED]]
        sk = item.sketch
        best: tuple[float, int] | None = None
        for s in cand.tolist():
            row = s & self.cap_mask
            if abs(self.ts[row] - item.ts) > self.window_s:
                continue
            other = self.sketch.view(int(self.sk_start[row]), int(self.sk_len[row]))
            jac, con = _overlap16(sk, other)
            small = min(sk.size, other.size)
            if not (jac >= self.jt or (con >= self.ct and small >= self.min_c)):
                continue
            if not self._guards(row, item.n_tokens, item.numbers, item.entities):
                continue
            score = max(jac, con)
            if best is None or score > best[0]:
                best = (score, row)
        if best is None:
            return None, item.id, None
        row = best[1]
        return self.ids[row].decode(), self.clusters[row].decode(), round(best[0], 4)

    def _guards(self, row: int, n_tokens: int, nums: np.ndarray, ents: np.ndarray) -> bool:
        f = self.facts.view(int(self.fa_start[row]), int(self.fa_nums[row] + self.fa_ents[row]))
        o_nums, o_ents = f[: self.fa_nums[row]], f[self.fa_nums[row] :]
        if n_tokens <= self.n_tokens[row]:
            s_nums, s_ents, l_nums, l_ents = nums, ents, o_nums, o_ents
        else:
            s_nums, s_ents, l_nums, l_ents = o_nums, o_ents, nums, ents
        if np.setdiff1d(s_nums, l_nums, assume_unique=True).size:
            return False
        if s_ents.size:
            found = np.intersect1d(s_ents, l_ents, assume_unique=True).size / s_ents.size
            if found < 0.8:
                return False
        return True

    # -- mutation --------------------------------------------------------------------------
    def _make_room(self, arena: _RingArena, starts: np.ndarray, n: int) -> int:
        start = arena.alloc(n)
        # Evict the oldest rows whose runs the new run overwrites.
        while len(self) and int(starts[self.tail & self.cap_mask]) < start + n - arena.size:
            self.tail += 1
        return start

    def add(self, item: Item, cluster_id: str) -> None:
        if len(self) >= self.capacity:
            self.tail += 1
        seq = self.seq
        row = seq & self.cap_mask
        sk, nums, ents = item.sketch, item.numbers, item.entities
        sk_start = self._make_room(self.sketch, self.sk_start, sk.size)
        fa_start = self._make_room(self.facts, self.fa_start, nums.size + ents.size)
        self.sketch.view(sk_start, sk.size)[:] = sk
        fview = self.facts.view(fa_start, nums.size + ents.size)
        fview[: nums.size] = nums
        fview[nums.size :] = ents
        self.sk_start[row], self.sk_len[row] = sk_start, sk.size
        self.fa_start[row], self.fa_nums[row], self.fa_ents[row] = fa_start, nums.size, ents.size
        self.ts[row] = item.ts
        self.ids[row] = item.id.encode()
        self.clusters[row] = cluster_id.encode()
        self.chash[row] = item.chash
        self.n_tokens[row] = min(item.n_tokens, 65535)
        self.band_table.insert(item.band_slots, item.band_check, seq, row)
        self.id_table.insert1(item.id_hash, seq, row)
        self.hash_table.insert1(item.chash, seq, row)
        self.seq = seq + 1
        if item.ts > self.watermark:
            self.watermark = item.ts
        cutoff = self.watermark - self.window_s
        while len(self) and self.ts[self.tail & self.cap_mask] < cutoff:
            self.tail += 1

    def nbytes(self) -> int:
        arrays = [
            self.ts,
            self.ids,
            self.clusters,
            self.chash,
            self.n_tokens,
            self.sk_start,
            self.sk_len,
            self.fa_start,
            self.fa_nums,
            self.fa_ents,
            self.sketch.data,
            self.facts.data,
        ]
        for t in (self.band_table, self.id_table, self.hash_table):
            arrays += [t.heads, t.next, t.check]
        return sum(a.nbytes for a in arrays)
