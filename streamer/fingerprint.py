"""Shingles, MinHash signatures and content hashes, computed in bulk with numpy.

The signatures are exactly datasketch's (scheme ``affine32``): the permutations
come from ``datasketch.MinHash`` itself and the arithmetic mirrors
``MinHash.update_batch``; a test holds the two equal. We do the arithmetic
ourselves only because datasketch calls the hash function once per shingle in
Python, which is most of the cost of a naive pipeline.
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
_MAX_HASH32 = np.uint32(0xFFFFFFFF)
_TOKEN_CACHE_LIMIT = 500_000


def content_hash(text: str) -> str:
    """A short stable hash of the fingerprint text: equal texts are exact duplicates."""
    return hashlib.blake2b(text.encode("utf-8"), digest_size=16).hexdigest()


class Fingerprinter:
    """Turns fingerprint tokens into shingle hashes and a MinHash signature.

    Holds only immutable parameters and a token-hash cache, so one instance can
    be shared by every record a process handles.
    """

    def __init__(self, num_perm: int = 128, seed: int = 1, shingle_size: int = 3) -> None:
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

    def _token_hash(self, token: str) -> int:
        cached = self._token_cache.get(token)
        if cached is None:
            digest = hashlib.blake2b(token.encode("utf-8"), digest_size=8).digest()
            cached = int.from_bytes(digest, "little")
            if len(self._token_cache) >= _TOKEN_CACHE_LIMIT:
                self._token_cache.clear()
            self._token_cache[token] = cached
        return cached

    def shingles(self, tokens: Sequence[str]) -> np.ndarray:
        """Sorted unique 32-bit hashes of the word k-shingles of ``tokens``.

        A text shorter than k tokens still gets one shingle (all its tokens), so
        that two identical short items can meet.
        """
        if not tokens:
            return np.empty(0, dtype=np.uint32)
        th = np.fromiter((self._token_hash(t) for t in tokens), dtype=_U64, count=len(tokens))
        k = min(self.shingle_size, len(th))
        n = len(th) - k + 1
        with np.errstate(over="ignore"):
            acc = th[:n] * _POSITION_MULTIPLIERS[0]
            for i in range(1, k):
                acc = acc ^ (th[i : i + n] * _POSITION_MULTIPLIERS[i])
            acc ^= acc >> _U64(31)
            folded = (acc ^ (acc >> _U64(32))).astype(np.uint32)
        return np.unique(folded)

    def signature(self, shingles: np.ndarray) -> np.ndarray:
        """The MinHash of a shingle-hash array; all-max for an empty set (datasketch's empty)."""
        if shingles.size == 0:
            return np.full(self.num_perm, _MAX_HASH32, dtype=np.uint32)
        with np.errstate(over="ignore"):
            hv = _fmix(shingles.astype(np.uint32).reshape(-1, 1), 32)
            phv = hv * self._a + self._b
        return phv.min(axis=0).astype(np.uint32)

    def minhash(self, signature: np.ndarray) -> MinHash:
        """A datasketch MinHash for a signature, for callers that want datasketch's API."""
        return MinHash(
            seed=self.seed,
            hashvalues=signature,
            permutations=(self._a, self._b),
            scheme="affine32",
        )
