"""Storage for the dedup index without a Python object per article.

Each piece is chosen for what the index's memory budget (about 1 KB per
article at a million articles) and its one-writer, mostly-in-order workload allow:

* ``zeros``: columns whose unwritten pages are not resident, so that a layout
  sized for twice the rows costs only the rows written;
* ``link_chains``: chains of sequence numbers built in bulk (a relayout), as the
  same rows inserted one by one would have linked them;
* ``TimeColumn``: the rows' timestamps with a lower bound per block of rows,
  so that finding what a window evicts scans only the blocks that hold it;
* ``RingArena``: variable-length runs (an article's shingle fingerprints, its
  fact ids, its strings) appended in arrival order into a ring and reclaimed
  from the oldest end, because the window evicts in (nearly) arrival order;
* ``Vocabulary``: one refcounted table of the fact strings (names, title words,
  tickers, loose words). Articles hold 4-byte ids; the refcount of a key is the
  number of indexed articles carrying it, which is exactly the document
  frequency the name and title guards need, and the strings stay available for
  the one-letter typo test.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import math
import mmap
from array import array
from collections.abc import Callable, Iterable

import numpy as np
import numpy.typing as npt

_MMAP_BYTES = 1 << 20
_minimum = np.minimum.reduce  # ``ndarray.min`` without its Python wrapper: small arrays, often


def zeros(shape: int | tuple[int, ...], dtype: npt.DTypeLike) -> np.ndarray:
    """A zeroed array whose pages become resident only when written.

    Large arrays get their own anonymous mapping: ``np.zeros`` goes through
    ``calloc``, which clears (and so makes resident) every page when it reuses
    heap memory freed by an earlier layout, and then keeps it after ``free``.
    Growth by doubling is only cheap if the unwritten half costs nothing.
    """
    dt = np.dtype(dtype)
    dims = (shape,) if isinstance(shape, int) else shape
    count = math.prod(dims)
    if count * dt.itemsize < _MMAP_BYTES:
        return np.zeros(dims, dtype=dt)
    # Private: a forked worker (prepare_workers) must not share the parent's index pages.
    buf = mmap.mmap(-1, count * dt.itemsize, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
    return np.frombuffer(buf, dtype=dt, count=count).reshape(dims)


_libc_name = ctypes.util.find_library("c")
_malloc_trim = getattr(ctypes.CDLL(_libc_name), "malloc_trim", None) if _libc_name else None


def release_free_memory() -> None:
    """Return the heap's free pages to the system where the C library can (glibc).

    A relayout frees tens of MB of sort temporaries; without this they stay
    resident in the heap, where the memory figure of a growing index would
    count them.
    """
    if _malloc_trim is not None:
        _malloc_trim(0)


def link_chains(slot: np.ndarray, next_: np.ndarray, heads: np.ndarray, width: int = 1) -> None:
    """Chain sequence numbers 1..n (row = seq) by slot, newest first, as n inserts would.

    ``slot`` holds ``width`` entries per row (row-major), chained through
    ``next_[seq * width + k]`` for the k-th: one band, or all bands at once.
    """
    seq = np.arange(slot.size, dtype=np.int64) // width + 1
    order = np.lexsort((-seq, slot))
    s = slot[order]
    seq = seq[order]
    same = s[1:] == s[:-1]
    link_at = order[:-1][same]  # the flat index (row - 1) * width + k of each linked entry
    next_[link_at + width] = seq[1:][same]
    first = np.ones(s.size, dtype=bool)
    first[1:] = ~same
    heads[s[first]] = seq[first]


class TimeColumn:
    """Rows' timestamps, and a lower bound of them per block of 256 rows.

    Rows older than a cutoff are found by scanning only the blocks whose bound is
    older (arrival order is nearly time order: usually the oldest block alone).
    Free and removed rows hold inf, so they never expire. Rows never written are
    set to inf a block at a time as the ring first reaches them, so the column
    stays unwritten (and not resident) beyond.
    """

    BLOCK_BITS = 8

    def __init__(self, cap: int) -> None:
        self.values = zeros(cap, np.float64)
        self._ready = 0
        self._block_min = np.full((cap >> self.BLOCK_BITS) + 1, np.inf)
        self.lower_bound = float("inf")  # of every timestamp held
        self._make_ready(1)

    def _make_ready(self, rows: int) -> None:
        """Set never-written rows below ``rows`` (rounded up to a block) to inf."""
        bits = self.BLOCK_BITS
        end = min(self.values.size, -(-rows >> bits) << bits)
        if end > self._ready:
            self.values[self._ready : end] = np.inf
            self._ready = end

    def put(self, row: int, ts: float) -> None:
        if row >= self._ready:
            self._make_ready(row + 1)
        self.values[row] = ts
        block = row >> self.BLOCK_BITS
        if ts < self._block_min[block]:
            self._block_min[block] = ts
        if ts < self.lower_bound:
            self.lower_bound = ts

    def fill(self, ts: np.ndarray) -> None:
        """Rows 1..n of a fresh column hold ``ts`` (a relayout)."""
        n = ts.size
        self.values[1 : n + 1] = ts
        self._ready = n + 1
        self._make_ready(n + 1)
        if n:
            rows = np.arange(1, n + 1, dtype=np.int64)
            np.minimum.at(self._block_min, rows >> self.BLOCK_BITS, ts)
            self.lower_bound = float(ts.min())

    def expired(
        self, cutoff: float, label: Callable[[int], str]
    ) -> tuple[list[tuple[float, str, int]], list[int]]:
        """(ts, label, row) of the rows older than ``cutoff``, and the blocks scanned.

        The bounds are left as they are: the caller frees the rows (their values
        become inf), then makes the bounds exact again with ``tighten(blocks)``.
        """
        bits = self.BLOCK_BITS
        size = 1 << bits
        found: list[tuple[float, str, int]] = []
        touched: list[int] = []
        for block in np.flatnonzero(self._block_min < cutoff).tolist():
            lo = block << bits
            ts = self.values[lo : lo + size]
            touched.append(block)
            for i in np.flatnonzero(ts < cutoff).tolist():  # removed and unused rows hold inf
                found.append((ts.item(i), label(lo + i), lo + i))
        return found, touched

    def tighten(self, blocks: list[int]) -> None:
        """Exact bounds again for ``blocks`` (a removal may have left them stale)."""
        bits = self.BLOCK_BITS
        size = 1 << bits
        block_min, values = self._block_min, self.values
        for block in blocks:
            lo = block << bits
            block_min[block] = _minimum(values[lo : lo + size])
        self.lower_bound = float(_minimum(block_min))


class RingArena:
    """Runs of one dtype in a ring, allocated in arrival order, freed from the oldest.

    The arena does not know which runs are live: the caller passes where the
    oldest run it still needs starts (``tail``), which is how eviction in arrival
    order frees space with no bookkeeping per run. A run never wraps around the
    end; when the space before ``tail`` is too small the caller compacts
    (``gather``) into a larger arena.
    """

    def __init__(self, size: int, dtype: type | np.dtype) -> None:
        self.data = zeros(max(size, 16), dtype)
        self.head = 0

    def alloc(self, n: int, tail: int, empty: bool) -> int | None:
        """Start of a free run of ``n``, or None if the ring is too full for it."""
        size = self.data.size
        if empty:
            self.head = 0
            tail = 0
        head = self.head
        if head >= tail:  # live data is [tail, head): free space after it, then before it
            if head + n <= size:
                self.head = head + n
                return head
            if n < tail:  # strictly: head must never catch up with tail
                self.head = n
                return 0
            return None
        if head + n < tail:  # wrapped: free space is [head, tail)
            self.head = head + n
            return head
        return None

    @classmethod
    def gather(
        cls, old: RingArena, starts: np.ndarray, lengths: np.ndarray, extra: int
    ) -> tuple[RingArena, np.ndarray]:
        """A compact arena holding the given runs in order, with room to spare.

        Returns it and the runs' new starts. Runs are copied in chunks so that the
        index array never costs more than a few MB, whatever the window holds.
        """
        lengths = lengths.astype(np.int64)
        total = int(lengths.sum())
        arena = cls(2 * (total + extra), old.data.dtype)
        new_starts = np.cumsum(lengths) - lengths
        starts = starts.astype(np.int64)
        chunk = 1 << 16
        for lo in range(0, lengths.size, chunk):
            ln = lengths[lo : lo + chunk]
            n = int(ln.sum())
            if n == 0:
                continue
            base = int(new_starts[lo])
            idx = np.repeat(starts[lo : lo + chunk] - (new_starts[lo : lo + chunk] - base), ln)
            idx += np.arange(n, dtype=np.int64)
            arena.data[base : base + n] = old.data[idx]
        arena.head = total
        return arena, new_starts


class Vocabulary:
    """Interned strings with reference counts (how many indexed articles carry each).

    A word whose count drops to 0 stays interned until the unused words outnumber
    the used ones (``sweep``): news vocabulary churns (names come back within the
    window), and re-interning costs more than keeping a word a little longer.
    Per distinct string: the string, a dict entry, a list slot and a 4-byte count
    (an ``array``, which Python indexes faster than numpy for one element).
    """

    def __init__(self) -> None:
        self._ids: dict[str, int] = {}
        self._words: list[str | None] = []
        self._counts = array("i")
        self._free: list[int] = []
        self._unused = 0
        # Ids whose count dropped to 0 since the last sweep (some may be in use again):
        # the sweep visits these, not the whole vocabulary.
        self._zeroed: list[int] = []
        self._n_zeroed = 0

    def __len__(self) -> int:
        """Words carried by at least one article."""
        return len(self._ids) - self._unused

    def acquire(self, words: Iterable[str]) -> list[int]:
        """Ids of ``words`` (each counted once more), interning the new ones."""
        ids, counts = self._ids, self._counts
        words = list(words)
        out = list(map(ids.get, words))  # the common case: all known, in one C loop
        if None in out:
            for k, word in enumerate(words):
                if out[k] is None:
                    i = ids.get(word)  # a word listed twice is interned once
                    if i is None:
                        if self._free:
                            i = self._free.pop()
                            self._words[i] = word
                        else:
                            i = len(self._words)
                            self._words.append(word)
                            counts.append(0)
                        ids[word] = i
                        self._unused += 1  # counted as used again just below
                    out[k] = i
        for i in out:
            n = counts[i]  # type: ignore[index]
            if n == 0:
                self._unused -= 1
            counts[i] = n + 1  # type: ignore[index]
        return out  # type: ignore[return-value]

    def release(self, ids: np.ndarray) -> None:
        """Count ``ids`` once less."""
        counts, zeroed = self._counts, self._zeroed
        for i in ids.tolist():
            n = counts[i] - 1
            counts[i] = n
            if n == 0:
                zeroed.append(i)
        self._unused += len(zeroed) - self._n_zeroed
        self._n_zeroed = len(zeroed)
        if self._unused > 1024 and self._unused > len(self._ids) - self._unused:
            self.sweep()

    def sweep(self) -> None:
        """Forget the words no article carries any more; their ids are reused."""
        counts, words, ids, free = self._counts, self._words, self._ids, self._free
        for i in self._zeroed:
            word = words[i]
            if word is not None and counts[i] == 0:  # listed twice, or in use again
                del ids[word]
                words[i] = None
                free.append(i)
        self._zeroed.clear()
        self._n_zeroed = 0
        self._unused = 0

    def count(self, word: str) -> int:
        """How many indexed articles carry ``word`` (0 if none)."""
        i = self._ids.get(word)
        return 0 if i is None else self._counts[i]

    def words(self, ids: np.ndarray) -> list[str]:
        table = self._words
        return [table[i] for i in ids.tolist()]
