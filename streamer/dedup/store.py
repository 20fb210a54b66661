"""The index's window of articles, stored without a Python object per article.

About 1 KB an article at a million:

* Rows: one numpy column per field (timestamp, token and shingle counts, arena
  offsets, a 64-bit content digest, id and cluster lengths), indexed by
  ``row = seq & (cap - 1)`` where ``seq`` numbers insertions from 1. The rows
  form a ring in arrival order: a removed row is only marked dead, and the
  ring's tail moves past dead rows, which frees them for reuse. When the ring or
  an arena is full the live rows are moved to a fresh layout, renumbered in the
  same order (``relayout``): the capacity doubles with the window, and a window
  left sparse by out-of-order evictions shrinks back.
* LSH: the band head tables and chains (``bands.BandChains``).
* Same id and exact content: the same kind of chains, keyed by a CRC of the id
  (confirmed on the id's bytes) and by the 64-bit content digest.
* Arenas (rings in arrival order, freed from the tail): each article's shingles
  folded to 16 bits (sorted, repeats kept); its entity keys as ids in a
  refcounted ``Vocabulary`` whose counts are the document frequencies of the
  name and title guards; and its strings (id, cluster id when it differs, the
  numbers) as UTF-8 bytes, so the guards see the exact facts.
* Eviction: a lower bound of the timestamps of each block of 256 rows; only
  blocks holding something older than the cutoff are scanned (``TimeColumn``).

Sequence numbers are stable within a layout and the layout is a function of
the insertions alone (stable hashes, no salted ``hash()``), so a store rebuilt
from the journal holds what the live one did, in the same order.

``Store`` is the interface the index is written against (and mypy holds it
to); ``RowStore`` is its one implementation.
"""

from __future__ import annotations

import zlib
from typing import Protocol

import numpy as np

from streamer.dedup.bands import SLOT_BITS, BandChains, widened
from streamer.dedup.columns import (
    RingArena,
    TimeColumn,
    Vocabulary,
    link_chains,
    release_free_memory,
    zeros,
)
from streamer.dedup.entry import Derived, IndexEntry

INITIAL_ROWS = 1024  # rows start at this many and double
_U32, _U64 = np.uint32, np.uint64
_SEQ_LIMIT = 1 << 31  # sequence numbers are renumbered (a relayout) before they reach 2**32
_SAME_AS_ID = 0xFFFFFFFF  # cluster length marking "the cluster is the article itself"
_NUMBER_SEP = "\x1f"
# Row columns moved as they are by a relayout (the arena offsets are rewritten).
_COLUMNS = ("_ntok", "_nsh", "_fa_len", "_id_len", "_cl_len", "_num_len", "_skdup", "_chash")


class Store(Protocol):
    """What the index asks of a window's storage. Rows are ints, valid until the next change."""

    live: int  # rows indexed
    cap: int  # rows the layout holds before it grows
    mask: int  # row = sequence number & mask
    generation: int  # changes when a sequence number may come to name another row
    vocabulary: Vocabulary  # entity keys; its counts are the document frequencies
    times: TimeColumn  # the rows' timestamps

    def __len__(self) -> int: ...
    def find_id(self, article_id: str) -> int: ...
    def oldest_with_content(self, digest: int) -> int: ...
    def band_hits(self, derived: Derived) -> dict[int, list[int]]: ...
    def passage_hits(self, slots: np.ndarray, checks: np.ndarray) -> dict[int, list[int]]: ...
    def id_cluster(self, row: int) -> tuple[str, str]: ...
    def fingerprints(self, row: int) -> tuple[np.ndarray, int, bool]: ...
    def facts(self, row: int) -> tuple[frozenset[str], frozenset[str], int]: ...
    def seq_of(self, row: int) -> int: ...
    def view(self, row: int) -> IndexEntry: ...
    def live_rows(self) -> np.ndarray: ...
    def append(self, item: IndexEntry, derived: Derived) -> None: ...
    def remove_row(self, row: int) -> None: ...
    def evict_before(self, cutoff: float) -> list[str]: ...
    def evict_after(self, cutoff: float) -> list[str]: ...


class RowStore:
    """The rows of one window, their arenas and chains. ``len`` is the live rows.

    A little over 300 lines: the columns' layout, growth and renumbering must change
    together (a row's sequence number, its arena offsets and its chain links name the
    same thing), so they stay in one class; the pieces that stand alone are ``columns``
    and ``bands``."""

    def __init__(self, bands: int) -> None:
        self.n_bands = bands
        self.vocabulary = Vocabulary()
        # Bumped whenever a sequence number may come to name another row (a new layout,
        # a renumbering): what callers remember by sequence number is stale then.
        self.generation = 0
        self._layout(INITIAL_ROWS)

    def _layout(self, cap: int, live: int = 0) -> None:
        """Empty columns and tables for ``cap`` rows (the caller refills them)."""
        self.cap = cap
        self.mask = cap - 1
        self.tail = 1  # sequence number of the oldest row still holding data
        self.head = 1  # sequence number of the next row (0 is the empty link)
        self.live = 0
        self.generation += 1
        self.state = zeros(cap, np.uint8)  # 1: indexed; 0: free or removed
        self.times = TimeColumn(cap)
        self._ntok = zeros(cap, _U32)
        self._nsh = zeros(cap, _U32)  # shingles before 16-bit folding
        self._sk_start = zeros(cap, _U32)
        self._fa_start = zeros(cap, _U32)
        self._fa_len = zeros(cap, _U32)
        self._by_start = zeros(cap, _U32)
        self._id_len = zeros(cap, _U32)
        self._cl_len = zeros(cap, _U32)
        self._num_len = zeros(cap, _U32)
        self._chash = zeros(cap, _U64)
        self._skdup = zeros(cap, np.uint8)  # 1: two of the row's shingles share a fingerprint
        self._id_next = zeros(cap, _U32)
        self._ex_next = zeros(cap, _U32)
        self.bands = BandChains(self.n_bands, cap, live)
        self._key_slots = 1 << max(9, (2 * live).bit_length() - 1)
        self._id_heads = zeros(self._key_slots, _U32)
        self._ex_heads = zeros(self._key_slots, _U32)
        self._sk = RingArena(cap * 128, np.uint16)
        self._fa = RingArena(cap * 16, _U32)
        self._by = RingArena(cap * 48, np.uint8)

    # -- reading rows ---------------------------------------------------------------------

    def __len__(self) -> int:
        return self.live

    def live_rows(self) -> np.ndarray:
        """Rows of the live articles, oldest insertion first."""
        rows = np.arange(self.tail, self.head, dtype=np.int64) & self.mask
        return rows[self.state[rows] == 1]

    def seq_of(self, row: int) -> int:
        return self.tail + ((row - self.tail) & self.mask)

    def _strings(self, row: int) -> tuple[str, str, bytes]:
        """(id, cluster id, the numbers' bytes) of a row."""
        start, n_id, n_cl = int(self._by_start[row]), int(self._id_len[row]), int(self._cl_len[row])
        data = self._by.data
        article_id = data[start : start + n_id].tobytes().decode()
        if n_cl == _SAME_AS_ID:
            cluster, start = article_id, start + n_id
        else:
            cluster = data[start + n_id : start + n_id + n_cl].tobytes().decode()
            start += n_id + n_cl
        return article_id, cluster, data[start : start + int(self._num_len[row])].tobytes()

    def id_of(self, row: int) -> str:
        start = self._by_start.item(row)
        return self._by.data[start : start + self._id_len.item(row)].tobytes().decode()

    def id_cluster(self, row: int) -> tuple[str, str]:
        article_id, cluster, _ = self._strings(row)
        return article_id, cluster

    def facts(self, row: int) -> tuple[frozenset[str], frozenset[str], int]:
        """(numbers, entity keys, tokens) of a row: what the guards judge."""
        raw = self._strings(row)[2]
        numbers = frozenset(raw.decode().split(_NUMBER_SEP)) if raw else frozenset()
        start, n = int(self._fa_start[row]), int(self._fa_len[row])
        entities = frozenset(self.vocabulary.words(self._fa.data[start : start + n]))
        return numbers, entities, int(self._ntok[row])

    def fingerprints(self, row: int) -> tuple[np.ndarray, int, bool]:
        """A row's sorted 16-bit fingerprints, its shingle count, and whether two of its
        shingles share a fingerprint."""
        n = self._nsh.item(row)
        start = self._sk_start.item(row)
        return self._sk.data[start : start + n], n, bool(self._skdup.item(row))

    def view(self, row: int) -> IndexEntry:
        """What the store keeps of an article, as an ``IndexEntry``.

        Exact: id, cluster_id, ts, numbers, entities, n_tokens. Not kept: the
        signature (empty here) and the content hash (only a 64-bit digest of it:
        ``content_hash`` is ""). ``shingles`` are the 16-bit fingerprints the index
        verifies with (the low 16 bits of each shingle, sorted, repeats kept), as uint32.
        """
        article_id, cluster = self.id_cluster(row)
        numbers, entities, n_tokens = self.facts(row)
        fingerprints, _, _ = self.fingerprints(row)
        return IndexEntry(
            id=article_id,
            cluster_id=cluster,
            ts=float(self.times.values[row]),
            content_hash="",
            shingles=fingerprints.astype(np.uint32),
            signature=np.empty(0, dtype=np.uint32),
            numbers=numbers,
            entities=entities,
            n_tokens=n_tokens,
        )

    def find_id(self, article_id: str) -> int:
        """The row indexing ``article_id``, or -1."""
        raw = article_id.encode()
        n = len(raw)
        cur = self._id_heads.item(zlib.crc32(raw) & (self._key_slots - 1))
        tail, head, mask = self.tail, self.head, self.mask
        while tail <= cur < head:
            row = cur & mask
            if self._id_len.item(row) == n and self.state.item(row) == 1:
                start = self._by_start.item(row)
                if self._by.data[start : start + n].tobytes() == raw:
                    return row
            cur = self._id_next.item(row)
        return -1

    def oldest_with_content(self, digest: int) -> int:
        """The oldest live row with this content digest, or -1 (as a rebuild would find)."""
        cur = self._ex_heads.item(digest & (self._key_slots - 1))
        tail, head, mask = self.tail, self.head, self.mask
        found = -1
        while tail <= cur < head:  # chains run newest to oldest: the last match wins
            row = cur & mask
            if self._chash.item(row) == digest and self.state.item(row) == 1:
                found = row
            cur = self._ex_next.item(row)
        return found

    def band_hits(self, derived: Derived) -> dict[int, list[int]]:
        """Live rows sharing a band with ``derived``: seq -> [bands shared, first band]."""
        bands, checks = self.bands, derived.checks
        return bands.walk(
            bands.positions(derived.slots, checks), checks, self.state, self.tail, self.head
        )

    def passage_hits(self, slots: np.ndarray, checks: np.ndarray) -> dict[int, list[int]]:
        """Live rows sharing a band with one passage (its keys for bands 0..k-1, at the
        least table size): seq -> [bands shared, first band]."""
        bands = self.bands
        flat = slots
        if bands.slot_bits != SLOT_BITS:
            flat = widened(slots & ((1 << SLOT_BITS) - 1), checks, bands.slot_bits, 0)
            flat += bands.base[: slots.size]
        return bands.walk(flat, checks, self.state, self.tail, self.head)

    # -- mutation ---------------------------------------------------------------------------

    def append(self, item: IndexEntry, derived: Derived) -> None:
        """Store ``item`` as the newest row (its id must not be live)."""
        raw_id = item.id.encode()
        sketch = derived.sketch
        digest = derived.digest
        strings = raw_id
        same_cluster = item.cluster_id == item.id
        if not same_cluster:
            strings += item.cluster_id.encode()
        numbers = _NUMBER_SEP.join(sorted(item.numbers)).encode()
        strings += numbers
        n_facts = len(item.entities)
        if self.head - self.tail >= self.cap or self.head >= _SEQ_LIMIT:
            self._relayout()
        starts = self._alloc(sketch.size, n_facts, len(strings))
        if starts is None:
            self._relayout(sketch.size, n_facts, len(strings))
            starts = self._alloc(sketch.size, n_facts, len(strings))
            assert starts is not None
        sk_start, fa_start, by_start = starts
        seq = self.head
        row = seq & self.mask
        self._sk.data[sk_start : sk_start + sketch.size] = sketch
        self._fa.data[fa_start : fa_start + n_facts] = self.vocabulary.acquire(item.entities)
        self._by.data[by_start : by_start + len(strings)] = np.frombuffer(strings, dtype=np.uint8)
        self.state[row] = 1
        self.times.put(row, item.ts)
        self._ntok[row] = item.n_tokens
        self._nsh[row] = item.shingles.size
        self._sk_start[row] = sk_start
        self._fa_start[row], self._fa_len[row] = fa_start, n_facts
        self._by_start[row], self._id_len[row] = by_start, len(raw_id)
        self._cl_len[row] = (
            _SAME_AS_ID if same_cluster else len(strings) - len(raw_id) - len(numbers)
        )
        self._num_len[row] = len(numbers)
        self._chash[row] = digest
        self._skdup[row] = derived.ranks is not None
        h = zlib.crc32(raw_id)
        kmask = self._key_slots - 1
        self._id_next[row] = self._id_heads[h & kmask]
        self._id_heads[h & kmask] = seq
        self._ex_next[row] = self._ex_heads[digest & kmask]
        self._ex_heads[digest & kmask] = seq
        bands = self.bands
        bands.insert(row, seq, bands.positions(derived.slots, derived.checks), derived.checks)
        self.head = seq + 1
        self.live += 1

    def _alloc(self, n_sk: int, n_fa: int, n_by: int) -> tuple[int, int, int] | None:
        """Room for one row's runs in the three arenas, or None (nothing is taken then)."""
        empty = self.head == self.tail
        tail_row = self.tail & self.mask
        heads = self._sk.head, self._fa.head, self._by.head
        sk = self._sk.alloc(n_sk, self._sk_start.item(tail_row), empty)
        fa = self._fa.alloc(n_fa, self._fa_start.item(tail_row), empty)
        by = self._by.alloc(n_by, self._by_start.item(tail_row), empty)
        if sk is None or fa is None or by is None:
            self._sk.head, self._fa.head, self._by.head = heads
            return None
        return sk, fa, by

    def remove_row(self, row: int) -> None:
        """Forget a row: chains and tables skip it until the ring reuses it."""
        self.state[row] = 0
        self.times.values[row] = np.inf  # eviction scans see removed rows as never expiring
        self.live -= 1
        start = int(self._fa_start[row])
        self.vocabulary.release(self._fa.data[start : start + int(self._fa_len[row])])
        tail, head, mask, state = self.tail, self.head, self.mask, self.state.item
        while tail < head and state(tail & mask) == 0:
            tail += 1
        self.tail = tail
        if tail == head:
            if head >= _SEQ_LIMIT:
                head = 1
                self.generation += 1
            self.tail = self.head = head

    def evict_before(self, cutoff: float) -> list[str]:
        """Drop every article older than ``cutoff`` (epoch seconds), oldest first; their ids."""
        times = self.times
        if not cutoff > times.lower_bound:
            return []
        found, touched = times.expired(cutoff, self.id_of)
        found.sort()  # (ts, id): the order a heap of (ts, id) would pop them in
        for _, _, row in found:
            self.remove_row(row)
        times.tighten(touched)
        return [article_id for _, article_id, _ in found]

    def evict_after(self, cutoff: float) -> list[str]:
        """Drop every article newer than ``cutoff``, oldest first; their ids.

        A scan of every live row: the index asks once, when its clock moves from
        ingest to publication time.
        """
        rows = self.live_rows()
        times = self.times.values[rows]
        ahead = rows[times > cutoff].tolist()
        found = sorted((self.times.values.item(row), self.id_of(row), row) for row in ahead)
        for _, _, row in found:
            self.remove_row(row)
        return [article_id for _, article_id, _ in found]

    # -- growth -----------------------------------------------------------------------------

    def _relayout(self, n_sk: int = 0, n_fa: int = 0, n_by: int = 0) -> None:
        """Move the live rows to a fresh layout sized for them, renumbered from 1.

        Runs when the ring of rows or an arena is full (or sequence numbers near
        2**31): the capacity becomes the power of two that leaves the live rows
        half the ring, so growth doubles and a window full of removed rows
        (out-of-order evictions, explicit removals) shrinks back. Band chains are
        rebuilt from each row's slot read off the chain it is on. Relative order
        is kept, so candidates rank as before.
        """
        old_rows = self.live_rows()
        n = old_rows.size
        low, checks = self.bands.survivors(old_rows, self.cap, self.tail, self.head)
        old = {name: getattr(self, name)[old_rows] for name in _COLUMNS}
        old_ts = self.times.values[old_rows]
        # The id chains are keyed by a CRC of the id, recomputed rather than stored.
        id_crc = np.fromiter(
            (zlib.crc32(self.id_of(row).encode()) for row in old_rows.tolist()),
            dtype=np.int64,
            count=n,
        )
        by_len = (
            old["_id_len"].astype(np.int64)
            + np.where(old["_cl_len"] == _SAME_AS_ID, 0, old["_cl_len"])
            + old["_num_len"]
        )
        moved = {
            "_sk": RingArena.gather(self._sk, self._sk_start[old_rows], old["_nsh"], n_sk),
            "_fa": RingArena.gather(self._fa, self._fa_start[old_rows], old["_fa_len"], n_fa),
            "_by": RingArena.gather(self._by, self._by_start[old_rows], by_len, n_by),
        }
        cap = INITIAL_ROWS
        while cap < 2 * (n + 1):
            cap *= 2
        self._layout(cap, n)
        for name, column in old.items():  # sequence numbers 1..n: row = seq
            getattr(self, name)[1 : n + 1] = column
        self.state[1 : n + 1] = 1
        self.times.fill(old_ts)
        self.head = n + 1
        self.live = n
        for name, (arena, starts) in moved.items():
            setattr(self, name, arena)
            getattr(self, name + "_start")[1 : n + 1] = starts
        if n == 0:
            return
        self.bands.relink(low, checks)
        kmask = self._key_slots - 1
        link_chains(id_crc & kmask, self._id_next, self._id_heads)
        link_chains((old["_chash"] & _U64(kmask)).astype(np.int64), self._ex_next, self._ex_heads)
        del low, checks, old, old_ts, moved
        release_free_memory()
