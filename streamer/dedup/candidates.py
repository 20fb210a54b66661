"""Candidate retrieval: the rows of the window an item shares LSH bands with, ranked.

Retrieval only proposes; ``index`` verifies. Kept apart from the index because it is
the one place that reads the band tables, for the whole text and for a long item's
passages alike, and its order (most shared bands first, ties by the first band shared,
then oldest first) is what makes equal matches resolve the same way on every replica.
"""

from __future__ import annotations

from streamer.dedup.entry import Derived
from streamer.dedup.passages import Passages, query_bands
from streamer.dedup.store import Store


def ranked_candidates(
    store: Store,
    derived: Derived,
    passages: Passages | None,
    item_ts: float,
    window_s: float,
    bands: int,
    limit: int,
) -> list[tuple[int, int]]:
    """(row, bands shared) of the rows within ``window_s`` of ``item_ts`` that share a band
    with the item (whole text or a passage), most shared first, at most ``limit``."""
    if store.live == 0:
        return []
    found = store.band_hits(derived)
    if passages is not None and passages[0].size:
        add_passage_hits(store, found, passages, bands)
    if not found:
        return []
    ranked = sorted(found.items(), key=lambda kv: (-kv[1][0], kv[1][1], kv[0]))
    out: list[tuple[int, int]] = []
    ts_item, mask = store.times.values.item, store.mask
    for seq, (hits, _) in ranked:
        row = seq & mask
        if abs(ts_item(row) - item_ts) <= window_s:
            out.append((row, hits))
            if len(out) >= limit:
                break
    return out


def add_passage_hits(
    store: Store, found: dict[int, list[int]], passages: Passages, bands: int
) -> None:
    """Add to ``found`` the rows a passage of the item shares bands with: a row's count is
    the most bands one query shares with it, whole text or passage; its tie-break band is
    numbered past the whole text's bands, so a whole-text hit ranks first on a tie."""
    slots, checks = passages
    step = query_bands(bands)
    for start in range(0, slots.size, step):
        end = start + step
        for seq, (hits, band) in store.passage_hits(slots[start:end], checks[start:end]).items():
            f = found.get(seq)
            if f is None:
                found[seq] = [hits, bands + band]
            elif hits > f[0]:
                f[0] = hits
