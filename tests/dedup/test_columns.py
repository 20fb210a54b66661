"""The index's storage pieces: the ring arena and the refcounted vocabulary."""

from __future__ import annotations

import numpy as np

from streamer.dedup.columns import RingArena, Vocabulary, zeros


def test_ring_arena_wraps_and_refuses_to_overwrite_the_tail() -> None:
    arena = RingArena(100, np.uint16)
    assert arena.alloc(60, tail=0, empty=True) == 0
    assert arena.alloc(30, tail=0, empty=False) == 60
    assert arena.alloc(20, tail=0, empty=False) is None  # 90 + 20 > 100, and the tail is at 0
    # The oldest run (at 0) is gone: the next run wraps to the start, before the tail.
    assert arena.alloc(20, tail=60, empty=False) == 0
    assert arena.alloc(40, tail=60, empty=False) is None  # would reach the tail
    assert arena.alloc(39, tail=60, empty=False) == 20
    assert arena.alloc(0, tail=60, empty=True) == 0  # an empty ring starts over


def test_gather_compacts_runs_in_order() -> None:
    arena = RingArena(100, np.uint16)
    arena.data[:10] = np.arange(10)
    starts, lengths = np.array([7, 0, 4]), np.array([3, 2, 0])
    packed, new_starts = RingArena.gather(arena, starts, lengths, extra=5)
    assert new_starts.tolist() == [0, 3, 5]
    assert packed.data[:5].tolist() == [7, 8, 9, 0, 1]
    assert packed.head == 5 and packed.data.size >= 2 * (5 + 5)


def test_vocabulary_counts_are_document_frequencies_and_ids_are_reused() -> None:
    vocab = Vocabulary()
    a = vocab.acquire(["acme", "^baxter", "~net"])
    b = vocab.acquire(["acme", "zenith"])
    assert vocab.count("acme") == 2 and vocab.count("zenith") == 1 and vocab.count("x") == 0
    assert vocab.words(np.array(b)) == ["acme", "zenith"]
    vocab.release(np.array(a))
    assert vocab.count("acme") == 1 and vocab.count("~net") == 0 and len(vocab) == 2
    vocab.sweep()
    c = vocab.acquire(["new"])
    assert c[0] in a  # a freed id is reused after a sweep
    vocab.release(np.array(b))
    vocab.release(np.array(c))
    assert len(vocab) == 0


def test_large_zeroed_columns_are_writable_and_zero() -> None:
    big = zeros((1 << 18, 4), np.uint32)  # above the size that gets its own mapping
    assert big.shape == (1 << 18, 4) and not big.any()
    big[-1, -1] = 7
    assert big.sum() == 7
