"""What the index keeps per article (``IndexEntry``) and what it derives from it (``Derived``).

An entry is immutable: the index never writes onto it, and every change is a
new entry. ``Derived`` is a pure function of the entry's content (signature,
shingles, content hash), worked out once, in the stateless stage (in as many
processes as it has), so that the one ordered writer does not pay for it.
Entries carry it across the prepare pool's pipe, and the one ordered writer
unpickles every one: so both pickle their arrays as raw bytes (an ndarray's own
pickling costs about 20 times as much) and come back with read-only arrays,
which nothing writes to.

``derived`` is not an argument of the constructor, so ``dataclasses.replace``
(a new id, a new content hash, new shingles) never carries a stale one; the two
copies that keep it are explicit: ``with_derived`` and ``in_cluster``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from streamer.config import DedupSettings
from streamer.dedup.bands import SLOT_BITS, band_keys, band_keys_many, slot_positions


@dataclass(frozen=True, slots=True)
class Derived:
    """What decision and insertion need of an entry, beyond its fields.

    ``slots``: flat head-table positions (int64) of the band keys with the tables at their
    least size, and ``checks`` their 16-bit checks (a larger table's slot follows
    from both, so the 64-bit keys themselves are not kept); ``sketch``: the shingles
    folded to 16 bits and sorted (a multiset: what verification counts on);
    ``ranks``: for each fingerprint, how many equal ones precede it, or None when
    all differ; ``digest``: a stable 64-bit digest of the content hash; ``bands``:
    how many bands the slots are for (an index with other settings derives again).
    """

    slots: np.ndarray
    checks: np.ndarray
    sketch: np.ndarray
    ranks: np.ndarray | None
    digest: int
    bands: int

    def __reduce__(self) -> tuple[object, tuple[object, ...]]:
        ranks = None if self.ranks is None else self.ranks.tobytes()
        state = (self.slots.tobytes(), self.checks.tobytes(), self.sketch.tobytes(), ranks)
        return _unpickle_derived, (*state, self.digest, self.bands)


def _unpickle_derived(
    slots: bytes, checks: bytes, sketch: bytes, ranks: bytes | None, digest: int, bands: int
) -> Derived:
    return Derived(
        np.frombuffer(slots, dtype=np.int64),
        np.frombuffer(checks, dtype=np.uint16),
        np.frombuffer(sketch, dtype=np.uint16),
        None if ranks is None else np.frombuffer(ranks, dtype=np.int64),
        digest,
        bands,
    )


def content_digest(content_hash: str) -> int:
    """A stable 64-bit digest (no salted ``hash``: a rebuilt index must decide the same)."""
    return int.from_bytes(hashlib.blake2b(content_hash.encode(), digest_size=8).digest(), "little")


def derive(entry: IndexEntry, settings: DedupSettings) -> Derived:
    """Everything the index derives from ``entry``: a pure function of its content."""
    bands = settings.lsh_bands
    keys = band_keys(entry.signature, bands, settings.num_perm // bands)
    return _derived(entry, *slot_positions(keys, SLOT_BITS), bands)


def with_derived_many(entries: Sequence[IndexEntry], settings: DedupSettings) -> list[IndexEntry]:
    """Each entry carrying its ``derive``, worked out for all of them in a few numpy calls.

    The ``dedup`` role gets entries with nothing derived (``news.prepared`` does not
    carry it) and derives a whole polled batch at once: per entry, numpy calls cost
    more than their arithmetic. The band keys of all signatures are one array
    expression; the sketches one sort of every entry's fingerprints keyed by the
    entry. An entry whose signature is too short for the bands comes back as it is
    (``derive`` would raise: its decision does).
    """
    bands = settings.lsh_bands
    rows = settings.num_perm // bands
    out = list(entries)
    ok = [i for i, e in enumerate(out) if e.signature.size >= bands * rows]
    if not ok:
        return out
    signatures = np.stack([out[i].signature[: bands * rows] for i in ok])
    slots, checks = slot_positions(band_keys_many(signatures, bands, rows), SLOT_BITS)
    sizes = np.array([out[i].shingles.size for i in ok], dtype=np.int64)
    owner = np.repeat(np.arange(len(ok), dtype=np.int64) << 16, sizes)
    keyed = np.sort(owner | np.concatenate([out[i].shingles for i in ok]).astype(np.uint16))
    sketches = np.split((keyed & 0xFFFF).astype(np.uint16), np.cumsum(sizes)[:-1])
    # A sketch with a repeat: two equal keys side by side (equal keys share their entry).
    repeats = np.zeros(len(ok) + 1, dtype=np.int64)
    np.add.at(repeats, (keyed[1:][keyed[1:] == keyed[:-1]] >> 16) + 1, 1)
    for k, i in enumerate(ok):
        e = out[i]
        sketch = sketches[k]
        ranks = _ranks(sketch) if repeats[k + 1] else None
        derived = Derived(slots[k], checks[k], sketch, ranks, content_digest(e.content_hash), bands)
        copy = IndexEntry(
            e.id, e.cluster_id, e.ts, e.content_hash, e.shingles, e.signature,
            e.numbers, e.entities, e.n_tokens,
        )  # fmt: skip
        object.__setattr__(copy, "derived", derived)
        object.__setattr__(copy, "passages", e.passages)
        object.__setattr__(copy, "token_hashes", e.token_hashes)
        out[i] = copy
    return out


def _ranks(sketch: np.ndarray) -> np.ndarray:
    """For each fingerprint of a sorted sketch, how many equal ones precede it."""
    return np.arange(sketch.size) - np.searchsorted(sketch, sketch)


def _derived(entry: IndexEntry, slots: np.ndarray, checks: np.ndarray, bands: int) -> Derived:
    sketch = np.sort(entry.shingles.astype(np.uint16))
    ranks = None
    if sketch.size > 1 and not (sketch[1:] != sketch[:-1]).all():
        ranks = _ranks(sketch)
    digest = content_digest(entry.content_hash)
    return Derived(slots, checks, sketch, ranks, digest, bands)


@dataclass(frozen=True, slots=True)
class IndexEntry:
    """Everything the index keeps per article; also what the journal stores to rebuild it.

    ``cluster_id`` is the article's own id until the decision places it in a
    cluster (``in_cluster``); ``add`` indexes the entry with the cluster it carries.
    """

    id: str
    cluster_id: str
    ts: float
    content_hash: str
    shingles: np.ndarray
    signature: np.ndarray
    numbers: frozenset[str]
    entities: frozenset[str]
    n_tokens: int
    derived: Derived | None = field(default=None, init=False, repr=False, compare=False)
    # The item's passage query keys (``dedup.passages``): only a decision asks for them,
    # so they are never stored nor journaled; None when not worked out.
    passages: tuple[np.ndarray, np.ndarray] | None = field(
        default=None, init=False, repr=False, compare=False
    )
    # The hashes of its fingerprint tokens, in order (``dedup.align``): likewise asked for
    # by a decision only, never stored nor journaled.
    token_hashes: np.ndarray | None = field(default=None, init=False, repr=False, compare=False)

    def with_derived(self, settings: DedupSettings) -> IndexEntry:
        """This entry with its ``Derived`` for ``settings`` (itself when it has it already)."""
        derived = self.derived
        if derived is not None and derived.bands == settings.lsh_bands:
            return self
        return _carrying(self, derive(self, settings), self.cluster_id)

    def in_cluster(self, cluster_id: str) -> IndexEntry:
        """The same article placed in ``cluster_id``; what it derived still holds."""
        if cluster_id == self.cluster_id:
            return self
        return _carrying(self, self.derived, cluster_id)

    def at_time(self, ts: float) -> IndexEntry:
        """The same article at time ``ts`` (the time a decision gave it); nothing derived
        depends on time."""
        if ts == self.ts:
            return self
        out = replace(self, ts=ts)
        object.__setattr__(out, "derived", self.derived)
        object.__setattr__(out, "passages", self.passages)
        object.__setattr__(out, "token_hashes", self.token_hashes)
        return out

    def with_query(
        self, passages: tuple[np.ndarray, np.ndarray], token_hashes: np.ndarray
    ) -> IndexEntry:
        """This entry carrying what only its decision asks for: passage query keys and
        token hashes (set once, as ``derived`` is)."""
        out = _carrying(self, self.derived, self.cluster_id)
        object.__setattr__(out, "passages", passages)
        object.__setattr__(out, "token_hashes", token_hashes)
        return out

    def __reduce__(self) -> tuple[object, tuple[object, ...]]:
        sh, sig = self.shingles, self.signature
        arrays = (sh.dtype.str, sh.tobytes(), sig.dtype.str, sig.tobytes())
        head = (self.id, self.cluster_id, self.ts, self.content_hash)
        passages = None
        if self.passages is not None:
            passages = (self.passages[0].tobytes(), self.passages[1].tobytes())
        hashes = None if self.token_hashes is None else self.token_hashes.tobytes()
        tail = (self.numbers, self.entities, self.n_tokens, self.derived, passages, hashes)
        return _unpickle_entry, (*head, *arrays, *tail)


def _unpickle_entry(
    article_id: str,
    cluster_id: str,
    ts: float,
    content_hash: str,
    shingles_dtype: str,
    shingles: bytes,
    signature_dtype: str,
    signature: bytes,
    numbers: frozenset[str],
    entities: frozenset[str],
    n_tokens: int,
    derived: Derived | None,
    passages: tuple[bytes, bytes] | None = None,
    token_hashes: bytes | None = None,
) -> IndexEntry:
    """An entry back from its pickle (its arrays are one-dimensional, as entries' are)."""
    entry = IndexEntry(
        article_id,
        cluster_id,
        ts,
        content_hash,
        np.frombuffer(shingles, dtype=shingles_dtype),
        np.frombuffer(signature, dtype=signature_dtype),
        numbers,
        entities,
        n_tokens,
    )
    object.__setattr__(entry, "derived", derived)
    if passages is not None:
        slots = np.frombuffer(passages[0], dtype=np.int64)
        object.__setattr__(entry, "passages", (slots, np.frombuffer(passages[1], dtype=np.uint16)))
    if token_hashes is not None:
        object.__setattr__(entry, "token_hashes", np.frombuffer(token_hashes, dtype=np.uint64))
    return entry


def _carrying(entry: IndexEntry, derived: Derived | None, cluster_id: str) -> IndexEntry:
    out = replace(entry, cluster_id=cluster_id)
    object.__setattr__(out, "derived", derived)  # frozen: set here and in ``at_time``
    return out
