"""Entries and indexes for the dedup tests: a story as the Preparer builds it, and the chains."""

from __future__ import annotations

from streamer.config import DedupSettings
from streamer.dedup.entry import IndexEntry
from streamer.dedup.index import DedupIndex
from streamer.text.facts import extract_facts
from streamer.text.fingerprint import Fingerprinter, content_hash
from streamer.text.tokens import fingerprint_tokens

SETTINGS = DedupSettings()
FP = Fingerprinter(SETTINGS.num_perm, SETTINGS.seed, SETTINGS.shingle_size)
DAY = 86_400.0

STORY = (
    "Acme Widgets Inc said its board approved the purchase of Baxter Tools Corp for "
    "about 450 mln dlrs in cash, a deal that would make it the largest maker of hand "
    "tools in North America. Acme said the purchase price was 32 dlrs a share and that "
    "Baxter directors had agreed to recommend the offer to shareholders at a meeting "
    "planned for June. The company said it expected the acquisition to add to earnings "
    "in its first full year and that it would finance the deal with bank loans and cash "
    "on hand. Acme shares rose 1.25 dlrs to 28.50 dlrs in active trading on the New York "
    "Stock Exchange, while Baxter shares jumped four dlrs to 30.75 dlrs. Analysts said the "
    "price looked fair given the strong market position of Baxter in professional tools."
)
TITLE = "ACME WIDGETS TO BUY BAXTER TOOLS"


def make(
    article_id: str,
    text: str = STORY,
    title: str = TITLE,
    ts: float = 0.0,
    **overrides: object,
) -> IndexEntry:
    """An entry as the pipeline's Preparer builds one."""
    fp_title = fingerprint_tokens(title)
    fp_body = fingerprint_tokens(text)
    tokens = fp_title + fp_body
    shingles = FP.shingles(tokens)
    facts = extract_facts(title, text, fp_body)
    fields: dict[str, object] = {
        "id": article_id,
        "cluster_id": article_id,
        "ts": ts,
        "content_hash": content_hash(" ".join(fp_title) + "\n" + " ".join(fp_body)),
        "shingles": shingles,
        "signature": FP.signature(shingles),
        "numbers": frozenset(facts.numbers),
        "entities": frozenset(facts.entities),
        "n_tokens": len(tokens),
    }
    fields.update(overrides)
    return IndexEntry(**fields)  # type: ignore[arg-type]


def chained_rows(index: DedupIndex) -> set[int]:
    """Live rows reachable from the band heads (a walk skips removed rows)."""
    rows = set()
    store, chains = index.store, index.store.bands
    heads = chains.heads.reshape(index.bands, -1)
    for band in range(index.bands):
        for cur in heads[band][heads[band] < store.head].tolist():
            while store.tail <= cur < store.head:
                row = cur & store.mask
                if store.state[row] == 1:
                    rows.add(row)
                cur = int(chains.next[row * index.bands + band])
    return rows


def index_with(*entries: IndexEntry, settings: DedupSettings = SETTINGS) -> DedupIndex:
    index = DedupIndex(settings)
    for entry in entries:
        decision = index.decide(entry)
        index.add(entry.in_cluster(decision.cluster_id))
    return index
