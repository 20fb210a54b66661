"""Our fingerprints are datasketch's: MinHash.update on the same shingle hashes gives the same."""

from __future__ import annotations

import numpy as np
import pytest
from datasketch import MinHash

from streamer.text.fingerprint import Fingerprinter, content_hash


def words(text: str) -> list[str]:
    return text.split()


# The hash of the shingle ("a", "b", "c"), as the first implementation computed it.
KNOWN_ABC = 596157212

TEXTS = [
    [],
    ["reuter"],
    ["oil", "prices"],
    words("the company said it expects first quarter net profit to rise 15 pct"),
    words("shares of acme corp rose 1500000 usd after the board approved a dividend") * 3,
    ["a"] * 10,  # repeated shingles
    [f"w{i}" for i in range(1500)],  # longer than one scratch chunk
    words("café münchen 1987 ünïcode"),
]


def shingle_tuples(tokens: list[str], k: int) -> list[tuple[str, ...]]:
    if not tokens:
        return []
    k = min(k, len(tokens))
    return [tuple(tokens[i : i + k]) for i in range(len(tokens) - k + 1)]


@pytest.fixture(scope="module")
def fp() -> Fingerprinter:
    return Fingerprinter(num_perm=128, seed=1, shingle_size=3)


@pytest.mark.parametrize("tokens", TEXTS, ids=lambda t: f"{len(t)}tok")
def test_signature_equals_datasketch_update_loop(fp: Fingerprinter, tokens: list[str]) -> None:
    m = MinHash(num_perm=128, seed=1, hashfunc=fp.shingle_hash, scheme="affine32")
    for s in shingle_tuples(tokens, 3):
        m.update(s)
    ours = fp.signature(fp.shingles(tokens))
    assert ours.dtype == np.uint32
    assert np.array_equal(ours, m.hashvalues)


@pytest.mark.parametrize("tokens", TEXTS, ids=lambda t: f"{len(t)}tok")
def test_signature_equals_datasketch_update_batch(fp: Fingerprinter, tokens: list[str]) -> None:
    shingles = fp.shingles(tokens)
    m = MinHash(num_perm=128, seed=1, hashfunc=int, scheme="affine32")
    m.update_batch(shingles.tolist())
    assert np.array_equal(fp.signature(shingles), m.hashvalues)


@pytest.mark.parametrize("tokens", TEXTS, ids=lambda t: f"{len(t)}tok")
def test_shingles_are_the_scalar_shingle_hashes(fp: Fingerprinter, tokens: list[str]) -> None:
    expected = sorted({fp.shingle_hash(s) for s in shingle_tuples(tokens, 3)})
    assert fp.shingles(tokens).tolist() == expected


@pytest.mark.parametrize("tokens", TEXTS, ids=lambda t: f"{len(t)}tok")
def test_shingles_sorted_unique_uint32(fp: Fingerprinter, tokens: list[str]) -> None:
    sh = fp.shingles(tokens)
    assert sh.dtype == np.uint32
    assert sh.ndim == 1
    assert np.all(np.diff(sh.astype(np.int64)) > 0)


def test_short_texts_get_one_shingle(fp: Fingerprinter) -> None:
    assert fp.shingles([]).size == 0
    assert fp.shingles(["x"]).size == 1
    assert fp.shingles(["x", "y"]).size == 1
    assert fp.shingles(["x", "y", "z"]).size == 1
    assert fp.shingles(["x", "y", "z", "w"]).size == 2


def test_empty_signature_is_datasketch_empty(fp: Fingerprinter) -> None:
    empty = MinHash(num_perm=128, seed=1, scheme="affine32")
    assert np.array_equal(fp.signature(fp.shingles([])), empty.hashvalues)


def test_deterministic_across_instances() -> None:
    tokens = words("the bank raised its prime rate to 7.75 pct from 7.50 pct")
    a, b = Fingerprinter(), Fingerprinter()
    for _ in range(2):  # cold and warm token caches
        assert np.array_equal(a.shingles(tokens), b.shingles(tokens))
        assert np.array_equal(a.signature(a.shingles(tokens)), b.signature(b.shingles(tokens)))


def test_known_values_are_stable() -> None:
    """Journals hold shingles: a change of the hash would silently break recovery."""
    fp = Fingerprinter()
    assert fp.shingles(["a", "b", "c"]).tolist() == [fp.shingle_hash(("a", "b", "c"))]
    assert fp.shingle_hash(("a", "b", "c")) == KNOWN_ABC


def test_minhash_roundtrip(fp: Fingerprinter) -> None:
    sig = fp.signature(fp.shingles(words("one two three four five")))
    m = fp.minhash(sig)
    assert np.array_equal(m.hashvalues, sig)
    assert m.jaccard(fp.minhash(sig)) == 1.0


def test_content_hash_stable() -> None:
    assert content_hash("oil prices rose") == content_hash("oil prices rose")
    assert content_hash("oil prices rose") != content_hash("oil prices fell")
    assert content_hash("") == "cae66941d9efbd404e4d88758ea67670"
    assert len(content_hash("x")) == 32


def test_shingle_size_bounds() -> None:
    with pytest.raises(ValueError):
        Fingerprinter(shingle_size=0)
    with pytest.raises(ValueError):
        Fingerprinter(shingle_size=9)


def test_token_hashes_survive_the_cache_clearing_mid_text() -> None:
    tokens = [f"t{i % 37}" for i in range(200)]
    expected = Fingerprinter().token_hashes(tokens)
    small = Fingerprinter(token_cache_limit=5)
    assert small.token_hashes(tokens).tolist() == expected.tolist()
    assert small.token_hashes(tokens[::-1]).tolist() == expected.tolist()[::-1]
