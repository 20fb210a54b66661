"""Passage keys: how a long article finds the short text it quotes.

Whole-document MinHash bands find a pair with the probability of its Jaccard, and
a 300-word wire take quoted inside a 1,500-word article has a Jaccard near 0.1
for a containment near 0.9: it is rarely proposed, so never verified. A window of
the long article about the take's size has a high Jaccard with the take, though.
So a long item also queries the band tables with a few windows of its own text
(``PASSAGE_TOKENS`` tokens, side by side, at most ``MAX_PASSAGES`` of them spread
over the text), each on the first ``PASSAGE_BANDS`` bands only; what they find is
verified on the whole item by containment, as any candidate.

The window keys are the item's own query, never stored, and only long items pay a
few band walks more. They are a pure function of the article's fingerprint
tokens: the stateless stage works them out (``Preparer``), and a writer given an
entry without them (from ``news.prepared``) works them out from the record's text,
the same way.

The reverse case, a short item arriving after the long article it was cut from
(a paper's 60-word brief of a 500-word wire story, printed the next morning),
needs the long one's passage *stored*, and ~1 KB an article is already spent. So
a long article's first ``PASSAGE_BANDS`` bands hold its *lead* window's keys (the
first ``PASSAGE_TOKENS`` tokens) in place of its whole text's: no byte more per
article, and the bands the windows query are the ones the leads sit in, so a
brief finds the lead it was cut from and a window finds a brief, both through the
one table. Briefs are cut from the top (three of the four METER briefs after
their wire story came from its first 120 words). The whole text keeps the other
bands (48 of 64 by default: recall at the Jaccard threshold 0.3 is 0.989 against
0.998 with all 64). The lead rows replace the first rows of the MinHash
signature (``with_lead``), so the entry, the prepared record and the journal
carry them as they carry the signature; the journal keeps them beside the
shingles, since the shingle *set* no longer knows which came first.
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


def query_bands(bands: int) -> int:
    """How many of the first bands the windows query and a long article's lead holds:
    ``PASSAGE_BANDS``, or a quarter of the bands when there are fewer than 64."""
    return max(1, min(PASSAGE_BANDS, bands // 4))


def lead_rows(
    tokens: Sequence[str], fingerprinter: Fingerprinter, settings: DedupSettings
) -> np.ndarray | None:
    """The MinHash rows of a long article's lead window for its first bands (None when
    the article is short: its whole text is its lead)."""
    rows = lead_size(settings, len(tokens))
    if not rows:
        return None
    return fingerprinter.signature(fingerprinter.shingles(tokens[:PASSAGE_TOKENS]))[:rows]


def lead_size(settings: DedupSettings, n_tokens: int) -> int:
    """How many of a signature's first rows are the lead's: 0 for a short article."""
    if n_tokens < MIN_TOKENS:
        return 0
    return query_bands(settings.lsh_bands) * (settings.num_perm // settings.lsh_bands)


def with_lead(signature: np.ndarray, lead: np.ndarray | None) -> np.ndarray:
    """The signature the bands are cut from: the whole text's, its first rows the lead's."""
    if lead is None or not lead.size:
        return signature
    out = np.array(signature, dtype=np.uint32)
    out[: lead.size] = lead
    return out


def passage_keys(
    tokens: Sequence[str], fingerprinter: Fingerprinter, settings: DedupSettings
) -> Passages:
    """The windows' head-table slots (at the least table size) and checks, band by band.

    The first window is the item's lead: its own bands query that one (``with_lead``)."""
    starts = window_starts(len(tokens))[1:]
    if not starts:
        return NO_PASSAGES
    rows = settings.num_perm // settings.lsh_bands
    bands = query_bands(settings.lsh_bands)
    slots, checks = [], []
    for start in starts:
        shingles = fingerprinter.shingles(tokens[start : start + PASSAGE_TOKENS])
        keys = band_keys(fingerprinter.signature(shingles), settings.lsh_bands, rows)[:bands]
        s, c = slot_positions(keys, SLOT_BITS)
        slots.append(s)
        checks.append(c)
    return np.concatenate(slots), np.concatenate(checks)
