"""Passage keys: how a long article finds the short text it quotes.

Whole-document MinHash bands find a pair with the probability of its Jaccard, and
a 300-word wire take quoted inside a 1,500-word article has a Jaccard near 0.1
for a containment near 0.9: it is rarely proposed, so never verified. A window of
the long article about the take's size has a high Jaccard with the take, though.
So a long item also queries the band tables with a few windows of its own text
(``PASSAGE_TOKENS`` tokens, side by side, at most ``MAX_PASSAGES`` of them spread
over the text), each on the first ``PASSAGE_BANDS`` bands only; what they find is
verified on the whole item by containment, as any candidate.

The keys are the item's own query, never stored: the index keeps nothing more per
article (memory stays as it was) and only long items pay a few band walks more.
They are a pure function of the article's fingerprint tokens: the stateless stage
works them out (``Preparer``), and a writer given an entry without them (from
``news.prepared``) works them out from the record's text, the same way.

The reverse case (a short item arriving after the long article it was cut from)
would need the long one's passages *stored*; with ~1 KB an article already spent,
it is left to the whole-document bands, the lead-cut containment test and the
window (see README, Dedup quality).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from streamer.config import DedupSettings
from streamer.dedup.bands import SLOT_BITS, band_keys, slot_positions
from streamer.text.fingerprint import Fingerprinter

PASSAGE_TOKENS = 100
MAX_PASSAGES = 8
PASSAGE_BANDS = 16
# Items shorter than this query with their whole-document bands alone.
MIN_TOKENS = 2 * PASSAGE_TOKENS

Passages = tuple[np.ndarray, np.ndarray]  # flat slots (windows x PASSAGE_BANDS), checks
NO_PASSAGES: Passages = (np.empty(0, dtype=np.int64), np.empty(0, dtype=np.uint16))


def window_starts(n_tokens: int) -> list[int]:
    """Where the windows start: side by side, at most ``MAX_PASSAGES`` spread evenly."""
    if n_tokens < MIN_TOKENS:
        return []
    count = n_tokens // PASSAGE_TOKENS
    starts = [k * PASSAGE_TOKENS for k in range(count)]
    if count > MAX_PASSAGES:
        picks = np.linspace(0, count - 1, MAX_PASSAGES).round().astype(int)
        starts = [starts[i] for i in dict.fromkeys(picks.tolist())]
    return starts


def passage_keys(
    tokens: Sequence[str], fingerprinter: Fingerprinter, settings: DedupSettings
) -> Passages:
    """The windows' head-table slots (at the least table size) and checks, band by band."""
    starts = window_starts(len(tokens))
    if not starts:
        return NO_PASSAGES
    rows = settings.num_perm // settings.lsh_bands
    bands = min(PASSAGE_BANDS, settings.lsh_bands)
    slots, checks = [], []
    for start in starts:
        shingles = fingerprinter.shingles(tokens[start : start + PASSAGE_TOKENS])
        keys = band_keys(fingerprinter.signature(shingles), settings.lsh_bands, rows)[:bands]
        s, c = slot_positions(keys, SLOT_BITS)
        slots.append(s)
        checks.append(c)
    return np.concatenate(slots), np.concatenate(checks)
