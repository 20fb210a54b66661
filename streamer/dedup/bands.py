"""LSH bands: an article's band keys, their head-table slots, and the chains of rows per slot.

Many narrow bands (64 of 2 rows by default) are tuned for recall: they only
propose candidates, which the index then verifies on the shingles.

Per band a head table of sequence numbers, per (row, band) the next sequence
number in the chain (newest first) and a 16-bit check of the band key that
filters slot collisions. A walk ends at the first link the ring has passed
(chains are in descending order, so everything beyond is gone) and skips dead
rows. The head tables are sized by the rows that exist (they are written all
over, so their pages are all resident), about ``BAND_LOAD`` rows a slot by the
time the rows have doubled again; a row's slot in a larger table follows from
its slot at the least size and its check, which is all a relayout has and all
an entry needs to carry (``Derived.slots``, ``Derived.checks``).
"""

from __future__ import annotations

import functools

import numpy as np

from streamer.dedup.columns import link_chains, zeros

SLOT_BITS = 14  # the head tables start at 2**SLOT_BITS slots a band
BAND_LOAD = 4
# (row, band) entries up to which a relayout links all bands in one sort.
LINK_AT_ONCE = 1 << 21
_PYTHON_WALK = 16  # open chains below which a candidate walk goes on in Python
_U64 = np.uint64
_BAND_MULTIPLIER = _U64(0x9E3779B97F4A7C15)
_MIX = _U64(0xFF51AFD7ED558CCD)
_LOW = (1 << SLOT_BITS) - 1


@functools.cache
def _band_salts(bands: int) -> np.ndarray:
    return np.random.default_rng(0x5EED).integers(0, 2**63, size=bands, dtype=np.int64).astype(_U64)


@functools.cache
def band_base(bands: int, slot_bits: int) -> np.ndarray:
    """Each band's first flat position in head tables of 2**slot_bits slots (read-only)."""
    base = np.arange(bands, dtype=np.int64) << slot_bits
    base.setflags(write=False)
    return base


def band_keys(signature: np.ndarray, bands: int, rows: int) -> np.ndarray:
    """One 64-bit key per band: the band's rows mixed, salted by the band's number.

    The keys are then finalized (xor-shift, odd multiply: a bijection) so that
    their low bits (the slot) and top 16 bits (the check) both depend on every row.
    """
    rows_ = np.asarray(signature, dtype=np.uint32)[: bands * rows]
    return _mixed(rows_.reshape(bands, rows).astype(_U64), bands)


def band_keys_many(signatures: np.ndarray, bands: int, rows: int) -> np.ndarray:
    """``band_keys`` of each row of ``signatures`` (n, >= bands * rows), as (n, bands):
    the same keys in a few numpy calls for a whole batch."""
    rows_ = np.asarray(signatures, dtype=np.uint32)[:, : bands * rows]
    return _mixed(rows_.reshape(-1, bands, rows).astype(_U64), bands)


def _mixed(rows_: np.ndarray, bands: int) -> np.ndarray:
    """Keys of ``rows_`` (..., bands, rows), a fresh uint64 array: mixing in place is safe."""
    with np.errstate(over="ignore"):
        acc = rows_[..., 0]
        for j in range(1, rows_.shape[-1]):
            acc = acc * _BAND_MULTIPLIER + rows_[..., j]
        acc ^= _band_salts(bands)
        acc ^= acc >> _U64(32)
        acc *= _MIX
    return acc


def slot_positions(keys: np.ndarray, slot_bits: int) -> tuple[np.ndarray, np.ndarray]:
    """Flat head-table positions and 16-bit checks of band keys (bands last), in tables of
    2**slot_bits.

    The slot takes the key's low SLOT_BITS bits and, as the table grows, the
    check's low bits: so a stored row's slot in a larger table follows from its
    slot in the smaller one and its check, which is all a relayout has.
    """
    check = (keys >> _U64(48)).astype(np.uint16)
    extra = slot_bits - SLOT_BITS
    slot = (keys & _U64(_LOW)).astype(np.int64)
    if extra:
        slot |= (check.astype(np.int64) & ((1 << extra) - 1)) << SLOT_BITS
    slot += band_base(keys.shape[-1], slot_bits)  # band b's table starts at b * slots
    return slot, check


def widened(
    low: np.ndarray, checks: np.ndarray, slot_bits: int, base: np.ndarray | int
) -> np.ndarray:
    """Flat positions in tables of 2**slot_bits from slots at the least size (``low``, per band)
    and the checks; ``base`` is each band's first position (broadcast over rows)."""
    slot = low.astype(np.int64)
    extra = slot_bits - SLOT_BITS
    if extra:
        slot |= (checks.astype(np.int64) & ((1 << extra) - 1)) << SLOT_BITS
    slot += base
    return slot


class BandChains:
    """The head tables and chains of one layout of ``cap`` rows holding ``live`` rows.

    Positions handed in and out are flat: ``band * slots + slot`` in ``heads``,
    ``row * bands + band`` in ``next`` and ``check``.
    """

    def __init__(self, bands: int, cap: int, live: int) -> None:
        self.bands = bands
        # Links are sequence numbers, 0 ending a chain: zeroed columns are not resident
        # until written, so the slack of a doubled capacity costs nothing.
        self.next = zeros(cap * bands, np.uint32)
        self.check = zeros(cap * bands, np.uint16)
        self.slot_bits = max(SLOT_BITS, (2 * live // BAND_LOAD).bit_length() - 1)
        self.heads = zeros(bands << self.slot_bits, np.uint32)
        self.base = band_base(bands, self.slot_bits)
        self._extra = (1 << (self.slot_bits - SLOT_BITS)) - 1
        # The last entry's positions in tables grown past the least size: its decision
        # and its insertion use them both.
        self._widened_for: object = None
        self._widened = self.base

    def positions(self, slots: np.ndarray, checks: np.ndarray) -> np.ndarray:
        """Flat head positions for an entry's slots at the least size (its ``Derived``)."""
        if self.slot_bits == SLOT_BITS:
            return slots
        if slots is not self._widened_for:  # ``widened``, in fewer steps: the hot path
            flat = slots & _LOW
            flat |= (checks.astype(np.int64) & self._extra) << SLOT_BITS
            flat += self.base
            self._widened, self._widened_for = flat, slots
        return self._widened

    def insert(self, row: int, seq: int, flat: np.ndarray, checks: np.ndarray) -> None:
        """Put row ``row`` (sequence number ``seq``) at the head of its chain in every band."""
        nb = self.bands
        base = row * nb
        self.next[base : base + nb] = self.heads[flat]
        self.check[base : base + nb] = checks
        self.heads[flat] = seq

    def walk(
        self, flat: np.ndarray, checks: np.ndarray, state: np.ndarray, tail: int, head: int
    ) -> dict[int, list[int]]:
        """Live rows sharing a band key: sequence number -> [bands shared, first band].

        In a window of fewer rows than slots the chains are short (about ten rows a
        decision on Reuters) and walked in Python, cheaper than numpy calls on a few
        elements; in a fuller one, numpy steps walk all open chains at once first.
        ``state`` is 1 for live rows; ``[tail, head)`` the sequence numbers in the ring.
        """
        nb, mask = self.bands, state.size - 1
        found: dict[int, list[int]] = {}
        cur = self.heads[flat]
        active = np.flatnonzero(cur >= tail)  # heads hold nothing newer than ``head``
        if head - tail < 1 << self.slot_bits:
            # Under a row a slot: the open chains are few and short, walked in Python.
            c_list, b_list, k_list = cur[active].tolist(), active.tolist(), checks[active].tolist()
        else:
            c_arr, b_arr, k_arr = cur[active].astype(np.int64), active, checks[active]
            # With many chains still open (a large window: a few rows per slot), a numpy
            # step over all of them is cheaper than walking each in Python.
            while c_arr.size > _PYTHON_WALK:
                rows = c_arr & mask
                pos = rows * nb + b_arr
                hit = self.check[pos] == k_arr
                hit &= state[rows] == 1
                if hit.any():
                    for c, band in zip(c_arr[hit].tolist(), b_arr[hit].tolist(), strict=True):
                        f = found.get(c)
                        if f is None:
                            found[c] = [1, band]
                        else:
                            f[0] += 1
                            f[1] = min(f[1], band)
                c_arr = self.next[pos].astype(np.int64)
                ok = (c_arr >= tail) & (c_arr < head)
                c_arr, b_arr, k_arr = c_arr[ok], b_arr[ok], k_arr[ok]
            c_list, b_list, k_list = c_arr.tolist(), b_arr.tolist(), k_arr.tolist()
        next_item, check_item, state_item = self.next.item, self.check.item, state.item
        for c, band, k in zip(c_list, b_list, k_list, strict=True):
            while tail <= c < head:  # 0 and rows the ring has passed end a chain
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
        return found

    def survivors(
        self, rows: np.ndarray, cap: int, tail: int, head: int
    ) -> tuple[np.ndarray, np.ndarray]:
        """For the rows ``rows`` (in their new order): each one's slot at the least size and
        its check, per band, as ``(n, bands)`` arrays for ``relink`` in a new layout.

        The slot is read off the chain the row is on: all bands' chains at once, one
        pass over the head tables, then numpy steps over the open chains only.
        """
        n, nb, mask = rows.size, self.bands, cap - 1
        pos = zeros(cap, np.int64)  # new position + 1 of each surviving row
        pos[rows] = np.arange(1, n + 1)
        low = zeros((n, nb), np.uint16)
        bits = self.slot_bits
        start = np.flatnonzero((self.heads >= tail) & (self.heads < head))
        cur = self.heads[start].astype(np.int64)
        band, slot = start >> bits, start & ((1 << bits) - 1)
        del start
        while cur.size:
            at = cur & mask
            p = pos[at]
            alive = p > 0
            low[p[alive] - 1, band[alive]] = slot[alive] & _LOW
            cur = self.next[at * nb + band].astype(np.int64)
            ok = (cur >= tail) & (cur < head)
            cur, band, slot = cur[ok], band[ok], slot[ok]
        return low, self.check.reshape(-1, nb)[rows]

    def relink(self, low: np.ndarray, checks: np.ndarray) -> None:
        """Chain rows 1..n (row = seq, ``survivors`` of an old layout) into these tables."""
        n, nb = low.shape
        self.check.reshape(-1, nb)[1 : n + 1] = checks
        if n * nb <= LINK_AT_ONCE:
            # A small window: every band in one sort (a sort per band costs more in calls).
            slot = widened(low, checks, self.slot_bits, self.base)  # [row, band]
            link_chains(slot.ravel(), self.next, self.heads, nb)
            return
        next2 = self.next.reshape(-1, nb)
        slots = 1 << self.slot_bits
        for b in range(nb):
            slot = widened(low[:, b], checks[:, b], self.slot_bits, 0)
            link_chains(slot, next2[:, b], self.heads[b * slots : (b + 1) * slots])
