"""Shingles, MinHash signatures and content hashes, computed in bulk with numpy.

The signatures are exactly datasketch's (scheme ``affine32``): the permutations
come from ``datasketch.MinHash`` itself and the arithmetic mirrors
``MinHash.update_batch``; a test holds the two equal. We do the arithmetic
ourselves only because datasketch calls the hash function once per shingle in
Python, which is most of the cost of a naive pipeline.

``Fingerprinter.shingle_hash`` is the same shingle hash one shingle at a time:
handed to ``MinHash(hashfunc=...)`` it makes datasketch's own update loop give
our signatures, which is how the benchmark and the tests compare the two.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import numpy as np
from datasketch import MinHash
from datasketch.minhash import _fmix

_U64 = np.uint64
# Odd 64-bit multipliers (from splitmix64/murmur) to mix token hashes by position.
_POSITION_MULTIPLIERS = np.array(
    [
        0x9E3779B97F4A7C15,
        0xBF58476D1CE4E5B9,
        0x94D049BB133111EB,
        0xFF51AFD7ED558CCD,
        0xC4CEB9FE1A85EC53,
        0x2545F4914F6CDD1D,
        0x5851F42D4C957F2D,
        0x14057B7EF767814F,
    ],
    dtype=_U64,
)
# Public for ``dedup.align``, which hashes shingles of a fact's context the same way.
POSITION_MULTIPLIERS = _POSITION_MULTIPLIERS
_MULTIPLIERS_INT = [int(m) for m in _POSITION_MULTIPLIERS]
_MASK64 = (1 << 64) - 1
_MASK32 = (1 << 32) - 1
_MAX_HASH32 = np.uint32(0xFFFFFFFF)
# Token hashes cached before the cache starts over: the vocabulary of a stream has no end.
TOKEN_CACHE_LIMIT = 500_000
# Rows of the (shingles x permutations) scratch matrix kept between calls; longer
# texts are done in slices of this many shingles.
_CHUNK_ROWS = 512


def content_hash(text: str) -> str:
    """A short stable hash of the fingerprint text: equal texts are exact duplicates."""
    return hashlib.blake2b(text.encode("utf-8"), digest_size=16).hexdigest()


def _blake64(token: str) -> int:
    return int.from_bytes(hashlib.blake2b(token.encode("utf-8"), digest_size=8).digest(), "little")


class Fingerprinter:
    """Turns fingerprint tokens into shingle hashes and a MinHash signature.

    Holds only immutable parameters, a token-hash cache and a scratch buffer, so
    one instance can be shared by every record one thread handles (not across
    threads: the scratch buffer is reused).
    """

    def __init__(
        self,
        num_perm: int = 128,
        seed: int = 1,
        shingle_size: int = 3,
        *,
        token_cache_limit: int = TOKEN_CACHE_LIMIT,
    ) -> None:
        if not 1 <= shingle_size <= len(_POSITION_MULTIPLIERS):
            raise ValueError(f"shingle_size must be in 1..{len(_POSITION_MULTIPLIERS)}")
        self.num_perm = num_perm
        self.seed = seed
        self.shingle_size = shingle_size
        reference = MinHash(num_perm=num_perm, seed=seed, scheme="affine32")
        a, b = reference.permutations
        self._a = np.asarray(a, dtype=np.uint32)
        self._b = np.asarray(b, dtype=np.uint32)
        self._token_cache: dict[str, int] = {}
        self._token_cache_limit = token_cache_limit
        self._scratch = np.empty((_CHUNK_ROWS, num_perm), dtype=np.uint32)

    def _token_hash(self, token: str) -> int:
        cached = self._token_cache.get(token)
        if cached is None:
            cached = _blake64(token)
            if len(self._token_cache) >= self._token_cache_limit:
                self._token_cache.clear()
            self._token_cache[token] = cached
        return cached

    def token_hashes(self, tokens: Sequence[str]) -> np.ndarray:
        """64-bit hashes of ``tokens``; the cache lookup runs in C (``map``) for known tokens."""
        cache = self._token_cache
        hashes = list(map(cache.get, tokens))
        if None in hashes:
            for i, h in enumerate(hashes):
                if h is None:
                    hashes[i] = self._token_hash(tokens[i])
        return np.array(hashes, dtype=_U64)

    def shingle_hash(self, shingle: Sequence[str]) -> int:
        """The 32-bit hash of one shingle (its 1..k tokens): one element of ``shingles``.

        Pure Python, one shingle at a time; ``shingles`` computes the same values in bulk.
        """
        if not 1 <= len(shingle) <= len(_MULTIPLIERS_INT):
            raise ValueError(f"a shingle has 1..{len(_MULTIPLIERS_INT)} tokens")
        acc = 0
        for token, mult in zip(shingle, _MULTIPLIERS_INT, strict=False):
            acc ^= (self._token_hash(token) * mult) & _MASK64
        acc ^= acc >> 31
        return (acc ^ (acc >> 32)) & _MASK32

    def shingles(self, tokens: Sequence[str]) -> np.ndarray:
        """Sorted unique 32-bit hashes of the word k-shingles of ``tokens``.

        A text shorter than k tokens still gets one shingle (all its tokens), so
        that two identical short items can meet.
        """
        if not tokens:
            return np.empty(0, dtype=np.uint32)
        th = self.token_hashes(tokens)
        k = min(self.shingle_size, len(th))
        n = len(th) - k + 1
        with np.errstate(over="ignore"):
            acc = th[:n] * _POSITION_MULTIPLIERS[0]
            for i in range(1, k):
                acc ^= th[i : i + n] * _POSITION_MULTIPLIERS[i]
            acc ^= acc >> _U64(31)
            acc ^= acc >> _U64(32)
        folded = acc.astype(np.uint32)
        folded.sort()
        if n > 1:
            keep = np.empty(n, dtype=bool)
            keep[0] = True
            np.not_equal(folded[1:], folded[:-1], out=keep[1:])
            folded = folded[keep]
        return folded

    def signature(self, shingles: np.ndarray) -> np.ndarray:
        """The MinHash of a shingle-hash array; all-max for an empty set (datasketch's empty)."""
        if shingles.size == 0:
            return np.full(self.num_perm, _MAX_HASH32, dtype=np.uint32)
        with np.errstate(over="ignore"):
            hv = _fmix(np.asarray(shingles, dtype=np.uint32), 32)
            sig: np.ndarray | None = None
            for start in range(0, hv.size, _CHUNK_ROWS):
                part = hv[start : start + _CHUNK_ROWS]
                phv = self._scratch[: part.size]
                np.multiply.outer(part, self._a, out=phv)
                phv += self._b
                low = phv.min(axis=0)
                sig = low if sig is None else np.minimum(sig, low, out=sig)
        assert sig is not None
        return sig

    def minhash(self, signature: np.ndarray) -> MinHash:
        """A datasketch MinHash for a signature, for callers that want datasketch's API."""
        return MinHash(
            seed=self.seed,
            hashvalues=signature,
            permutations=(self._a, self._b),
            scheme="affine32",
        )
