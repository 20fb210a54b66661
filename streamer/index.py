"""The time-windowed dedup index: candidates, verification, guards, clusters, eviction.

Two stages, because one cannot serve both goals. LSH with many narrow bands
(64 bands of 2 rows by default) is tuned for recall and only proposes
candidates, ranked by how many bands they share; each candidate is then
verified on the real shingle sets, by Jaccard for restyled copies and by
containment for lead-only cuts, and must pass the fact guards so templated
items that differ in figures or names are never merged:

* tickers: two versions that name different tickers are different companies;
* numbers: each figure of one version must be in the other, unless only one side
  has extra figures (a cut drops figures, an update adds them; a templated item
  about another price or another company *substitutes* them);
* names: the same substitution test for proper names, tolerant of restyling
  (case, possessives, a one-letter typo) because a name only counts as missing
  when the other version has no such word at all;
* title: short items (a dividend notice's body is the same for every company)
  are judged on title and body together: their title-only words must agree too.

Layout: no Python object per article (about 1 KB an article at a million).

* Rows: one numpy column per field (timestamp, token and shingle counts, arena
  offsets, a 64-bit content digest, id and cluster lengths), indexed by
  ``row = seq & (capacity - 1)`` where ``seq`` numbers insertions from 1. The
  rows form a ring in arrival order: a removed row is only marked dead, and the
  ring's tail moves past dead rows, which frees them for reuse. When the ring or
  an arena is full the live rows are moved to a fresh layout, renumbered in the
  same order (``_relayout``): the capacity doubles with the window, and a window
  left sparse by out-of-order evictions shrinks back.
* LSH: per band a head table of sequence numbers, per (row, band) the next
  sequence number in the chain (newest first) and a 16-bit check of the band
  key that filters slot collisions. A walk ends at the first link the ring has
  passed (chains are in descending order, so everything beyond is gone) and
  skips dead rows. Candidates are ranked as a dict of buckets ranked them: most
  bands shared, then first band, then insertion order.
* Same id and exact content: the same kind of chains, keyed by a CRC of the id
  (confirmed on the id's bytes) and by the 64-bit content digest (the oldest
  live holder wins, as a rebuild from the journal would find).
* Arenas (rings in arrival order, freed from the tail): each article's shingles
  folded to 16 bits (a sorted multiset: verification counts the intersection on
  them, so a similarity moves only when two different shingles of a pair share
  a fingerprint); its entity keys as ids in a refcounted ``Vocabulary`` whose
  counts are the document frequencies of the name and title guards; and its
  strings (id, cluster id when it differs, the numbers) as UTF-8 bytes, so the
  guards see the exact facts.
* Eviction: a lower bound of the timestamps of each block of 256 rows; only
  blocks holding something older than the cutoff are scanned.

Sequence numbers are stable within a process and the layout is a function of
the insertions alone (stable hashes, no salted ``hash()``), so an index rebuilt
from the journal decides as the live one did.

The index does no I/O: the journal persists what ``add`` and ``evict`` change,
through the entries they return.
"""

from __future__ import annotations

import functools
import hashlib
import itertools
import zlib
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np

from streamer.columns import RingArena, Vocabulary, release_free_memory, zeros
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
_minimum = np.minimum.reduce  # ``ndarray.min`` without its Python wrapper: small arrays, often
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
    # Derived on first use (for the decision, then reused by ``add``); never persisted,
    # and not copied by ``dataclasses.replace``.
    _view: _FactView | None = field(default=None, repr=False, compare=False)
    _band_keys: np.ndarray | None = field(default=None, init=False, repr=False, compare=False)
    _sketch: np.ndarray | None = field(default=None, init=False, repr=False, compare=False)
    _ranks: np.ndarray | None = field(default=None, init=False, repr=False, compare=False)
    _digest: int | None = field(default=None, init=False, repr=False, compare=False)
    _absent: int = field(default=-1, init=False, repr=False, compare=False)
    _slots: tuple[int, np.ndarray, np.ndarray] | None = field(
        default=None, init=False, repr=False, compare=False
    )

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
    row: int
    jaccard: float
    containment: float
    similarity: float  # the evidence that matched: Jaccard, or containment for a cut
    rank: float  # how good a match: a near-identical copy beats a cut that fits inside
    guards: list[str] = field(default_factory=list)


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


_U32 = np.uint32
_EMPTY = 0  # an empty head or the end of a chain: sequence numbers start at 1
_MIX = _U64(0xFF51AFD7ED558CCD)
# Rows start at this many and double; the per-band head tables start at 2**_SLOT_BITS slots
# and keep at most _BAND_LOAD rows per slot on average as the rows grow.
INITIAL_ROWS = 1024
_SLOT_BITS = 14
_BAND_LOAD = 4
_SEQ_LIMIT = 1 << 31  # sequence numbers are renumbered (a relayout) before they reach 2**32
_BLOCK_BITS = 8  # eviction keeps the oldest timestamp of each block of 256 rows
_SAME_AS_ID = 0xFFFFFFFF  # cluster length marking "the cluster is the article itself"
_NUMBER_SEP = "\x1f"
_VIEW_CACHE = 512
# Every mutation of any index takes a new stamp: a decision that found no row for an
# id records the stamp, and ``add`` right after it need not look again.
_STAMPS = itertools.count()
_PYTHON_WALK = 16  # open chains below which a candidate walk goes on in Python
_LINK_AT_ONCE = 1 << 21  # (row, band) entries up to which a relayout links all bands in one sort


@functools.cache
def _band_salts(bands: int) -> np.ndarray:
    return np.random.default_rng(0x5EED).integers(0, 2**63, size=bands, dtype=np.int64).astype(_U64)


def band_keys(signature: np.ndarray, bands: int, rows: int) -> np.ndarray:
    """One 64-bit key per band: the band's rows mixed, salted by the band's number.

    The keys are then finalized (xor-shift, odd multiply: a bijection) so that
    their low bits (the slot) and top 16 bits (the check) both depend on every row.
    """
    rows_ = np.asarray(signature, dtype=np.uint32)[: bands * rows]
    rows_ = rows_.reshape(bands, rows).astype(_U64)
    with np.errstate(over="ignore"):
        acc = rows_[:, 0].copy()
        for j in range(1, rows):
            acc = acc * _BAND_MULTIPLIER + rows_[:, j]
        acc ^= _band_salts(bands)
        acc ^= acc >> _U64(32)
        acc *= _MIX
    return acc


def slot_positions(keys: np.ndarray, slot_bits: int) -> tuple[np.ndarray, np.ndarray]:
    """Flat head-table positions and 16-bit checks of band keys, in tables of 2**slot_bits.

    The slot takes the key's low _SLOT_BITS bits and, as the table grows, the
    check's low bits: so a stored row's slot in a larger table follows from its
    slot in the smaller one and its check, which is all a relayout has.
    """
    check = (keys >> _U64(48)).astype(np.int64)
    extra = slot_bits - _SLOT_BITS
    slot = (keys & _U64((1 << _SLOT_BITS) - 1)).astype(np.int64)
    if extra:
        slot |= (check & ((1 << extra) - 1)) << _SLOT_BITS
    slot += np.arange(keys.size, dtype=np.int64) << slot_bits  # band b's table starts at b * slots
    return slot, check


def derive(entry: IndexEntry, settings: DedupSettings) -> IndexEntry:
    """Work out now what the index would derive from ``entry`` on first use.

    All of it is a pure function of the entry (band keys and their head-table
    slots while the tables are at their least, the folded and sorted fingerprints,
    the content digest), so the stateless stage pays for it, in
    as many processes as it has, and the one ordered writer does not. Entries
    carry it across the prepare pool's pipe (it is part of their pickled state).
    """
    bands = settings.lsh_bands
    keys = entry._band_keys = band_keys(entry.signature, bands, settings.num_perm // bands)
    entry._slots = (_SLOT_BITS, *slot_positions(keys, _SLOT_BITS))  # tables at their least
    DedupIndex._ranks_of(entry)  # and the sketch it is computed from
    DedupIndex._digest_of(entry)
    return entry


def _digest(text: str) -> int:
    """A stable 64-bit digest (no salted ``hash``: a rebuilt index must decide the same)."""
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "little")


class DedupIndex:
    """One ordered writer's view of the recent past.

    Not thread-safe by design: decisions must be made in input order by one
    writer, so there is nothing to share.
    """

    def __init__(self, settings: DedupSettings) -> None:
        self.settings = settings
        self.bands = settings.lsh_bands
        self.rows = settings.num_perm // settings.lsh_bands
        self.window_s = settings.window.total_seconds()
        self._band_idx = np.arange(self.bands, dtype=np.int64)
        # Which fingerprints the item being decided has (all zero between decisions): a
        # candidate with distinct fingerprints is then verified by one gather.
        self._table = np.zeros(1 << 16, dtype=np.uint8)
        self._bands_list: list[int] = list(range(self.bands))
        self.watermark = float("-inf")
        self._vocab = Vocabulary()
        self._layout(INITIAL_ROWS)

    def _layout(self, cap: int, live: int = 0) -> None:
        """Empty columns and tables for ``cap`` rows (the caller refills them)."""
        self._cap = cap
        self._mask = cap - 1
        self._tail = 1  # sequence number of the oldest row still holding data
        self._head = 1  # sequence number of the next row (0 is the empty link)
        self._live = 0
        self._state = zeros(cap, np.uint8)  # 1: indexed; 0: free or removed
        self._ts = zeros(cap, np.float64)
        # Rows never written hold inf too, set a block at a time as the ring first
        # reaches it (so the column stays unwritten, and not resident, beyond it).
        self._ts_ready = 0
        self._ready_ts(1)
        self._stamp = next(_STAMPS)
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
        # Links are sequence numbers, 0 (_EMPTY) ending a chain: zeroed columns are not
        # resident until written, so the slack of a doubled capacity costs nothing.
        self._id_next = zeros(cap, _U32)
        self._ex_next = zeros(cap, _U32)
        self._next = zeros(cap * self.bands, _U32)  # [row * bands + band]
        self._check = zeros(cap * self.bands, np.uint16)
        # The head tables are written all over (hashing), so they are sized by the rows
        # that exist, not by the capacity: about _BAND_LOAD rows a slot by the time the
        # rows have doubled again.
        self._slot_bits = max(_SLOT_BITS, (2 * live // _BAND_LOAD).bit_length() - 1)
        slots = 1 << self._slot_bits
        self._heads = zeros(self.bands * slots, _U32)  # [band * slots + slot]
        self._band_base = self._band_idx * slots
        self._key_slots = 1 << max(9, (2 * live).bit_length() - 1)
        self._id_heads = zeros(self._key_slots, _U32)
        self._ex_heads = zeros(self._key_slots, _U32)
        self._block_min = np.full((cap >> _BLOCK_BITS) + 1, np.inf)
        self._min_ts = float("inf")  # a lower bound of every indexed timestamp
        self._views: dict[int, IndexEntry] = {}
        self._sk = RingArena(cap * 128, np.uint16)
        self._fa = RingArena(cap * 16, _U32)
        self._by = RingArena(cap * 48, np.uint8)

    def _ready_ts(self, rows: int) -> None:
        """Set the timestamps of never-written rows below ``rows`` (rounded to a block) to inf."""
        end = min(self._cap, -(-rows >> _BLOCK_BITS) << _BLOCK_BITS)
        if end > self._ts_ready:
            self._ts[self._ts_ready : end] = np.inf
            self._ts_ready = end

    # -- reading rows ---------------------------------------------------------------------

    def __len__(self) -> int:
        return self._live

    def __contains__(self, article_id: object) -> bool:
        return isinstance(article_id, str) and self._find_id(article_id) >= 0

    def get(self, article_id: str) -> IndexEntry | None:
        """A view rebuilt from the columns (see ``_view``), or None."""
        row = self._find_id(article_id)
        return None if row < 0 else self._view(row)

    def entries(self) -> list[IndexEntry]:
        """Views of every indexed article, oldest insertion first."""
        return [self._view(row) for row in self._live_rows().tolist()]

    def _live_rows(self) -> np.ndarray:
        seqs = np.arange(self._tail, self._head, dtype=np.int64)
        rows = seqs & self._mask
        return rows[self._state[rows] == 1]

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

    def _id_of(self, row: int) -> str:
        start = self._by_start.item(row)
        return self._by.data[start : start + self._id_len.item(row)].tobytes().decode()

    def _id_cluster(self, row: int) -> tuple[str, str]:
        article_id, cluster, _ = self._strings(row)
        return article_id, cluster

    def _view(self, row: int) -> IndexEntry:
        """What the index keeps of an article, as an ``IndexEntry``.

        Exact: id, cluster_id, ts, numbers, entities, n_tokens. Not kept: the
        signature (empty here) and the content hash (only a 64-bit digest of it:
        ``content_hash`` is ""). ``shingles`` are the 16-bit fingerprints the index
        verifies with (the low 16 bits of each shingle, sorted, repeats kept), as uint32.
        """
        article_id, cluster, raw = self._strings(row)
        numbers = frozenset(raw.decode().split(_NUMBER_SEP)) if raw else frozenset()
        start, n = int(self._fa_start[row]), int(self._fa_len[row])
        entities = frozenset(self._vocab.words(self._fa.data[start : start + n]))
        start, n = int(self._sk_start[row]), int(self._nsh[row])
        return IndexEntry(
            id=article_id,
            cluster_id=cluster,
            ts=float(self._ts[row]),
            content_hash="",
            shingles=self._sk.data[start : start + n].astype(np.uint32),
            signature=np.empty(0, dtype=np.uint32),
            numbers=numbers,
            entities=entities,
            n_tokens=int(self._ntok[row]),
        )

    def _cached_view(self, row: int) -> IndexEntry:
        """``_view`` for verification, remembered for a few hundred rows.

        A story that is being re-sent is a candidate for every copy: its view (and
        the fact split the guards compute on it) is built once, not per copy. The
        cache is bounded and keyed by sequence number, so it is no per-article state.
        """
        seq = self._tail + ((row - self._tail) & self._mask)
        cache = self._views
        view = cache.get(seq)
        if view is None:
            if len(cache) >= _VIEW_CACHE:
                cache.clear()
            view = cache[seq] = self._view(row)
        return view

    def _find_id(self, article_id: str) -> int:
        """The row indexing ``article_id``, or -1."""
        raw = article_id.encode()
        n = len(raw)
        cur = self._id_heads.item(zlib.crc32(raw) & (self._key_slots - 1))
        tail, head, mask = self._tail, self._head, self._mask
        while tail <= cur < head:
            row = cur & mask
            if self._id_len.item(row) == n and self._state.item(row) == 1:
                start = self._by_start.item(row)
                if self._by.data[start : start + n].tobytes() == raw:
                    return row
            cur = self._id_next.item(row)
        return -1

    def _oldest_with_content(self, digest: int) -> int:
        """The oldest indexed row with this content digest, or -1 (as a rebuild would find)."""
        cur = self._ex_heads.item(digest & (self._key_slots - 1))
        tail, head, mask = self._tail, self._head, self._mask
        found = -1
        while tail <= cur < head:  # chains run newest to oldest: the last match wins
            row = cur & mask
            if self._chash.item(row) == digest and self._state.item(row) == 1:
                found = row
            cur = self._ex_next.item(row)
        return found

    # -- keys -----------------------------------------------------------------------------

    def _keys_of(self, entry: IndexEntry) -> np.ndarray:
        """The entry's mixed band keys, computed once for its decision and its insertion."""
        keys = entry._band_keys
        if keys is None or keys.size != self.bands:
            keys = entry._band_keys = self._band_keys(entry.signature)
        return keys

    def _band_keys(self, signature: np.ndarray) -> np.ndarray:
        return band_keys(signature, self.bands, self.rows)

    def _slots(self, keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return slot_positions(keys, self._slot_bits)

    def _slots_of(self, entry: IndexEntry) -> tuple[np.ndarray, np.ndarray]:
        """``_slots`` of the entry's keys, kept on the entry while the table size holds."""
        cached = entry._slots
        if cached is None or cached[0] != self._slot_bits or cached[1].size != self.bands:
            flat, check = self._slots(self._keys_of(entry))
            cached = entry._slots = (self._slot_bits, flat, check)
        return cached[1], cached[2]

    @staticmethod
    def _sketch_of(entry: IndexEntry) -> np.ndarray:
        """The shingles folded to 16 bits and sorted (a multiset): what the index verifies with."""
        sketch = entry._sketch
        if sketch is None:
            sketch = entry._sketch = np.sort(entry.shingles.astype(np.uint16))
        return sketch

    @staticmethod
    def _ranks_of(entry: IndexEntry) -> np.ndarray | None:
        """For each fingerprint, how many equal ones precede it; None if all differ."""
        ranks = entry._ranks
        if ranks is None:
            sketch = DedupIndex._sketch_of(entry)
            if sketch.size > 1 and not (sketch[1:] != sketch[:-1]).all():
                ranks = np.arange(sketch.size) - np.searchsorted(sketch, sketch)
            else:
                ranks = np.empty(0, dtype=np.int64)
            entry._ranks = ranks
        return ranks if ranks.size else None

    @staticmethod
    def _digest_of(entry: IndexEntry) -> int:
        d = entry._digest
        if d is None:
            d = entry._digest = _digest(entry.content_hash)
        return d

    # -- decision ---------------------------------------------------------------------------

    def decide(self, item: IndexEntry) -> Decision:
        """Judge ``item`` against the window without changing the index."""
        row = self._find_id(item.id)
        item._absent = self._stamp if row < 0 else -1
        if row >= 0:
            article_id, cluster = self._id_cluster(row)
            return Decision(
                duplicate_of=article_id,
                cluster_id=cluster,
                similarity=1.0,
                match=MatchInfo(kind="same_id"),
                indexed=False,
            )
        row = self._oldest_with_content(self._digest_of(item))
        if row >= 0 and abs(float(self._ts[row]) - item.ts) <= self.window_s:
            article_id, cluster = self._id_cluster(row)
            return Decision(
                duplicate_of=article_id,
                cluster_id=cluster,
                similarity=1.0,
                match=MatchInfo(kind="exact", jaccard=1.0, containment=1.0),
            )
        best: _Verdict | None = None
        best_hits = 0
        candidates = self._candidates(item)
        if candidates:
            sketch = self._sketch_of(item)
            table = self._table
            table.put(sketch, 1)
            try:
                for cand, hits in candidates:
                    if best is not None and 2 * hits < best_hits:
                        break  # far fewer shared bands than the match in hand: not a better one
                    verdict = self._verify(item, cand)
                    if verdict is not None and (best is None or verdict.rank > best.rank):
                        best, best_hits = verdict, max(best_hits, hits)
            finally:
                table.put(sketch, 0)
        if best is None:
            return Decision(duplicate_of=None, cluster_id=item.id)
        article_id, cluster = self._id_cluster(best.row)
        return Decision(
            duplicate_of=article_id,
            cluster_id=cluster,
            similarity=round(best.similarity, 4),
            match=MatchInfo(
                kind="near",
                jaccard=round(best.jaccard, 4),
                containment=round(best.containment, 4),
                guards=best.guards,
            ),
        )

    def _candidates(self, item: IndexEntry) -> list[tuple[int, int]]:
        """Rows in the window sharing a band with ``item``, most shared first.

        Ties keep the order a dict of buckets gave: by the first band shared, then
        by insertion (oldest first), so that equal matches resolve the same way.
        In a window of fewer rows than slots the chains are short (about ten rows a
        decision on Reuters) and walked in Python, cheaper than numpy calls on a few
        elements; in a fuller one, numpy steps walk all open chains at once first.
        """
        if self._live == 0:
            return []
        flat, check = self._slots_of(item)
        tail, head, mask, nb = self._tail, self._head, self._mask, self.bands
        found: dict[int, list[int]] = {}  # seq -> [bands shared, first band]
        cur = self._heads[flat]
        active = np.flatnonzero(cur >= tail)  # heads hold nothing newer than ``head``
        if head - tail < 1 << self._slot_bits:
            # Under a row a slot: the open chains are few and short, walked in Python.
            c_list, b_list, k_list = cur[active].tolist(), active.tolist(), check[active].tolist()
        else:
            c_arr, b_arr, k_arr = cur[active].astype(np.int64), active, check[active]
            # With many chains still open (a large window: a few rows per slot), a numpy
            # step over all of them is cheaper than walking each in Python.
            while c_arr.size > _PYTHON_WALK:
                rows = c_arr & mask
                pos = rows * nb + b_arr
                hit = self._check[pos] == k_arr
                hit &= self._state[rows] == 1
                if hit.any():
                    for c, band in zip(c_arr[hit].tolist(), b_arr[hit].tolist(), strict=True):
                        f = found.get(c)
                        if f is None:
                            found[c] = [1, band]
                        else:
                            f[0] += 1
                            f[1] = min(f[1], band)
                c_arr = self._next[pos].astype(np.int64)
                ok = (c_arr >= tail) & (c_arr < head)
                c_arr, b_arr, k_arr = c_arr[ok], b_arr[ok], k_arr[ok]
            c_list, b_list, k_list = c_arr.tolist(), b_arr.tolist(), k_arr.tolist()
        next_item, check_item, state_item = self._next.item, self._check.item, self._state.item
        for c, band, k in zip(c_list, b_list, k_list, strict=True):
            while tail <= c < head:  # _EMPTY and rows the ring has passed end a chain
                row = c & mask
                pos = row * nb + band
                # A removed row stays linked (and is skipped) until the ring passes it.
                if check_item(pos) == k and state_item(row) == 1:
                    f = found.get(c)
                    if f is None:
                        found[c] = [1, band]
                    else:
                        f[0] += 1
                        f[1] = min(f[1], band)
                c = next_item(pos)
        if not found:
            return []
        ranked = sorted(found.items(), key=lambda kv: (-kv[1][0], kv[1][1], kv[0]))
        out: list[tuple[int, int]] = []
        ts_item, window, item_ts = self._ts.item, self.window_s, item.ts
        for seq, (hits, _) in ranked:
            row = seq & mask
            if abs(ts_item(row) - item_ts) <= window:
                out.append((row, hits))
                if len(out) >= MAX_VERIFIED_CANDIDATES:
                    break
        return out

    def _verify(self, item: IndexEntry, row: int) -> _Verdict | None:
        s = self.settings
        n_item, n_cand = item.shingles.size, self._nsh.item(row)
        start = self._sk_start.item(row)
        fingerprints = self._sk.data[start : start + n_cand]
        if self._skdup.item(row) or not (n_item and n_cand):
            jaccard, containment = _overlap16(
                self._sketch_of(item), self._ranks_of(item), fingerprints, n_item, n_cand
            )
        else:
            # The candidate's fingerprints are distinct: each matches once if the item
            # has it, as ``_overlap16`` would count it (the item's copies do not matter).
            inter = min(np.count_nonzero(self._table.take(fingerprints)), n_item, n_cand)
            jaccard, containment = inter / (n_item + n_cand - inter), inter / min(n_item, n_cand)
        by_jaccard = jaccard >= s.jaccard_threshold
        by_containment = (
            containment >= s.containment_threshold
            and min(n_item, n_cand) >= s.min_shingles_for_containment
        )
        if not (by_jaccard or by_containment):
            return None
        guards = self.guards(item, self._cached_view(row))
        if guards is None:
            return None
        similarity = max(jaccard, containment) if by_containment else jaccard
        return _Verdict(row, jaccard, containment, similarity, (jaccard + containment) / 2, guards)

    def guards(self, a: IndexEntry, b: IndexEntry) -> list[str] | None:
        """The names of the fact guards ``a`` and ``b`` pass, or None if one refuses."""
        passed, refused = self.check_guards(a, b)
        return None if refused else passed

    def check_guards(self, a: IndexEntry, b: IndexEntry) -> tuple[list[str], str | None]:
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

    def _names_substituted(self, a: IndexEntry, b: IndexEntry) -> bool:
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
        """The words that identify something: carried by few indexed articles.

        The vocabulary's reference counts are the document frequencies: every
        entity key of an indexed article is interned once for that article.
        """
        if not words:
            return words
        s = self.settings
        limit = max(s.common_word_min_docs, s.common_word_fraction * self._live)
        count = self._vocab.count
        return [w for w in words if count(prefix + w) <= limit]

    # -- mutation ---------------------------------------------------------------------------

    def add(self, item: IndexEntry) -> list[str]:
        """Index ``item`` (its cluster already decided) and return the ids evicted by it."""
        if item._absent != self._stamp:
            row = self._find_id(item.id)
            if row >= 0:
                self._remove_row(row)
        self._stamp = next(_STAMPS)
        raw_id = item.id.encode()
        sketch = self._sketch_of(item)
        digest = self._digest_of(item)
        strings = raw_id
        same_cluster = item.cluster_id == item.id
        if not same_cluster:
            strings += item.cluster_id.encode()
        numbers = _NUMBER_SEP.join(sorted(item.numbers)).encode()
        strings += numbers
        n_facts = len(item.entities)
        if self._head - self._tail >= self._cap or self._head >= _SEQ_LIMIT:
            self._relayout()
        starts = self._alloc(sketch.size, n_facts, len(strings))
        if starts is None:
            self._relayout(sketch.size, n_facts, len(strings))
            starts = self._alloc(sketch.size, n_facts, len(strings))
            assert starts is not None
        sk_start, fa_start, by_start = starts
        seq = self._head
        row = seq & self._mask
        self._sk.data[sk_start : sk_start + sketch.size] = sketch
        self._fa.data[fa_start : fa_start + n_facts] = self._vocab.acquire(item.entities)
        self._by.data[by_start : by_start + len(strings)] = np.frombuffer(strings, dtype=np.uint8)
        if row >= self._ts_ready:
            self._ready_ts(row + 1)
        self._state[row] = 1
        self._ts[row] = item.ts
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
        self._skdup[row] = self._ranks_of(item) is not None
        h = zlib.crc32(raw_id)
        kmask = self._key_slots - 1
        self._id_next[row] = self._id_heads[h & kmask]
        self._id_heads[h & kmask] = seq
        self._ex_next[row] = self._ex_heads[digest & kmask]
        self._ex_heads[digest & kmask] = seq
        flat, check = self._slots_of(item)
        base = row * self.bands
        self._next[base : base + self.bands] = self._heads[flat]
        self._check[base : base + self.bands] = check
        self._heads[flat] = seq
        block = row >> _BLOCK_BITS
        if item.ts < self._block_min[block]:
            self._block_min[block] = item.ts
        if item.ts < self._min_ts:
            self._min_ts = item.ts
        self._head = seq + 1
        self._live += 1
        if item.ts > self.watermark:
            self.watermark = item.ts
        return self.evict_before(self.watermark - self.window_s)

    def _alloc(self, n_sk: int, n_fa: int, n_by: int) -> tuple[int, int, int] | None:
        """Room for one row's runs in the three arenas, or None (nothing is taken then)."""
        empty = self._head == self._tail
        tail_row = self._tail & self._mask
        heads = self._sk.head, self._fa.head, self._by.head
        sk = self._sk.alloc(n_sk, self._sk_start.item(tail_row), empty)
        fa = self._fa.alloc(n_fa, self._fa_start.item(tail_row), empty)
        by = self._by.alloc(n_by, self._by_start.item(tail_row), empty)
        if sk is None or fa is None or by is None:
            self._sk.head, self._fa.head, self._by.head = heads
            return None
        return sk, fa, by

    def remove(self, article_id: str) -> bool:
        row = self._find_id(article_id)
        if row < 0:
            return False
        self._remove_row(row)
        return True

    def _remove_row(self, row: int) -> None:
        """Forget a row: chains and tables skip it until the ring reuses it."""
        self._state[row] = 0
        self._ts[row] = np.inf  # eviction scans see removed rows as never expiring
        self._stamp = next(_STAMPS)
        self._views.pop(self._tail + ((row - self._tail) & self._mask), None)
        self._live -= 1
        start = int(self._fa_start[row])
        self._vocab.release(self._fa.data[start : start + int(self._fa_len[row])])
        tail, head, mask, state = self._tail, self._head, self._mask, self._state.item
        while tail < head and state(tail & mask) == 0:
            tail += 1
        self._tail = tail
        if tail == head:
            self._tail = self._head = 1 if head >= _SEQ_LIMIT else head

    def evict_before(self, cutoff: float) -> list[str]:
        """Drop every article older than ``cutoff`` (epoch seconds); memory follows the window.

        Each block of rows keeps a lower bound of its timestamps, so only blocks
        holding something older than the cutoff are scanned (arrival order is
        nearly time order: usually the oldest block alone).
        """
        if not cutoff > self._min_ts:
            return []
        block_min = self._block_min
        size = 1 << _BLOCK_BITS
        found: list[tuple[float, str, int]] = []
        touched: list[int] = []
        for block in np.flatnonzero(block_min < cutoff).tolist():
            lo = block << _BLOCK_BITS
            ts = self._ts[lo : lo + size]
            touched.append(block)
            for i in np.flatnonzero(ts < cutoff).tolist():  # removed and unused rows hold inf
                found.append((ts.item(i), self._id_of(lo + i), lo + i))
        found.sort()  # (ts, id): the order a heap of (ts, id) would pop them in
        for _, _, row in found:
            self._remove_row(row)
        for block in touched:  # exact again (a removal may have left the bound stale)
            lo = block << _BLOCK_BITS
            block_min[block] = _minimum(self._ts[lo : lo + size])
        self._min_ts = float(_minimum(block_min))
        return [article_id for _, article_id, _ in found]

    # -- growth -----------------------------------------------------------------------------

    def _relayout(self, n_sk: int = 0, n_fa: int = 0, n_by: int = 0) -> None:
        """Move the live rows to a fresh layout sized for them, renumbered from 1.

        Runs when the ring of rows or an arena is full (or sequence numbers near
        2**31): the capacity becomes the power of two that leaves the live rows
        half the ring, so growth doubles and a window full of removed rows
        (out-of-order evictions, explicit removals) shrinks back. Band chains are
        rebuilt: each row's slot is read off the chain it is on and widened with
        its check bits for the new table size. Relative order is kept, so
        candidates rank as before.
        """
        old_rows = self._live_rows()
        n = old_rows.size
        nb = self.bands
        pos = zeros(self._cap, np.int64)  # new position + 1 of each live old row
        pos[old_rows] = np.arange(1, n + 1)
        low = zeros((n, nb), np.uint16)  # each row's slot's low _SLOT_BITS per band
        old_bits = self._slot_bits
        tail, head, mask = self._tail, self._head, self._mask
        # All bands' chains at once: one pass over the head tables, then numpy steps
        # over the open chains only (a band at a time cost a pass per band).
        start = np.flatnonzero((self._heads >= tail) & (self._heads < head))
        cur = self._heads[start].astype(np.int64)
        band, slot = start >> old_bits, start & ((1 << old_bits) - 1)
        del start
        while cur.size:
            rows = cur & mask
            p = pos[rows]
            alive = p > 0
            low[p[alive] - 1, band[alive]] = slot[alive] & ((1 << _SLOT_BITS) - 1)
            cur = self._next[rows * nb + band].astype(np.int64)
            ok = (cur >= tail) & (cur < head)
            cur, band, slot = cur[ok], band[ok], slot[ok]
        del pos
        columns = ("_ts", "_ntok", "_nsh", "_fa_len", "_id_len", "_cl_len", "_num_len", "_skdup")
        old = {name: getattr(self, name)[old_rows] for name in (*columns, "_chash")}
        # The id chains are keyed by a CRC of the id, recomputed rather than stored.
        id_crc = np.fromiter(
            (zlib.crc32(self._strings(row)[0].encode()) for row in old_rows.tolist()),
            dtype=np.int64,
            count=n,
        )
        checks = self._check.reshape(-1, nb)[old_rows]
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
        self._views.clear()
        rows = np.arange(1, n + 1, dtype=np.int64)  # sequence numbers 1..n: row = seq
        for name, column in old.items():
            getattr(self, name)[1 : n + 1] = column
        self._state[1 : n + 1] = 1
        self._ts_ready = n + 1
        self._ready_ts(n + 1)
        self._head = n + 1
        self._live = n
        for name, (arena, starts) in moved.items():
            setattr(self, name, arena)
            getattr(self, name + "_start")[1 : n + 1] = starts
        if n == 0:
            return
        extra_bits = self._slot_bits - _SLOT_BITS
        self._check.reshape(-1, nb)[1 : n + 1] = checks
        slots = 1 << self._slot_bits
        if n * nb <= _LINK_AT_ONCE:
            # A small window: every band in one sort (a sort per band costs more in calls).
            slot = low.astype(np.int64)
            if extra_bits:
                slot |= (checks.astype(np.int64) & ((1 << extra_bits) - 1)) << _SLOT_BITS
            slot += self._band_base  # flat head positions, [row, band]
            self._link(slot.ravel(), self._next, self._heads, nb)
        else:
            next2 = self._next.reshape(-1, nb)
            for b in range(nb):
                slot = low[:, b].astype(np.int64)
                if extra_bits:
                    slot |= (checks[:, b].astype(np.int64) & ((1 << extra_bits) - 1)) << _SLOT_BITS
                self._link(slot, next2[:, b], self._heads[b * slots : (b + 1) * slots])
        kmask = self._key_slots - 1
        self._link(id_crc & kmask, self._id_next, self._id_heads)
        self._link((old["_chash"] & _U64(kmask)).astype(np.int64), self._ex_next, self._ex_heads)
        np.minimum.at(self._block_min, rows >> _BLOCK_BITS, old["_ts"])
        self._min_ts = float(old["_ts"].min())
        del low, checks, old, moved
        release_free_memory()

    @staticmethod
    def _link(slot: np.ndarray, next_: np.ndarray, heads: np.ndarray, width: int = 1) -> None:
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


def _overlap16(
    a: np.ndarray, ranks: np.ndarray | None, b: np.ndarray, n_a: int, n_b: int
) -> tuple[float, float]:
    """Jaccard and containment of two shingle sets, from their 16-bit fingerprints.

    The fingerprints are sorted multisets (two shingles of one article may fold to
    one value), counted with multiplicity so that folding loses nothing: the k-th
    copy of a value in ``a`` (``ranks``) matches if ``b`` has k+1 copies. The sizes
    are the true shingle counts. The measures are then exact unless two different
    shingles of the two articles share a fingerprint: about |a|*|b|/65536 spurious
    matches a pair, a fraction of one element for news-sized sets.
    """
    if a.size == 0 or b.size == 0:
        return 0.0, 0.0
    pos = np.searchsorted(b, a)
    if ranks is not None:
        pos += ranks
    np.minimum(pos, b.size - 1, out=pos)
    inter = min(int(np.count_nonzero(b[pos] == a)), n_a, n_b)
    return inter / (n_a + n_b - inter), inter / min(n_a, n_b)
