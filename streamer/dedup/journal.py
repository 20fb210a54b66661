"""The index's changelog: encoding its changes and rebuilding the index from them.

The journal is a compacted topic keyed by article id, so it holds at most one
entry per article in the window (eviction writes a tombstone), plus one
checkpoint per input partition. Replaying it in order gives back the index as
of the last journaled batch; the Kafka adapter decides what to do about the
inputs after that point.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from streamer.dedup.entry import IndexEntry
from streamer.dedup.index import DedupIndex
from streamer.models import Checkpoint, Coordinates, JournalEntry, Outcome
from streamer.records import partition_key, u32_b64, u32_from_b64
from streamer.text.fingerprint import Fingerprinter

CHECKPOINT_PREFIX = b"__checkpoint__/"


def checkpoint_key(topic: str, partition: int) -> bytes:
    return CHECKPOINT_PREFIX + partition_key(topic, partition).encode()


def encode_entry(
    entry: IndexEntry,
    outcome: Outcome,
    input_coords: Coordinates | None,
    output_coords: Coordinates | None,
) -> tuple[bytes, bytes]:
    """(key, value) for one indexed article."""
    value = JournalEntry(
        id=entry.id,
        cluster_id=entry.cluster_id,
        ts=entry.ts,
        content_hash=entry.content_hash,
        n_tokens=entry.n_tokens,
        shingles_b64=u32_b64(entry.shingles),
        numbers=sorted(entry.numbers),
        entities=sorted(entry.entities),
        outcome=outcome,
        input=input_coords,
        output=output_coords,
    )
    return entry.id.encode(), value.model_dump_json().encode()


def encode_checkpoint(
    topic: str,
    partition: int,
    next_offset: int,
    outputs: dict[str, int],
    upstream: dict[str, int],
    now: datetime,
) -> tuple[bytes, bytes]:
    cp = Checkpoint(
        topic=topic,
        partition=partition,
        next_offset=next_offset,
        outputs=outputs,
        upstream=upstream,
        written_at=now,
    )
    return checkpoint_key(topic, partition), cp.model_dump_json().encode()


def decode_entry(entry: JournalEntry, fingerprinter: Fingerprinter) -> IndexEntry:
    """Back to an index entry; the signature is recomputed rather than stored (half the bytes)."""
    shingles = u32_from_b64(entry.shingles_b64)
    return IndexEntry(
        id=entry.id,
        cluster_id=entry.cluster_id,
        ts=entry.ts,
        content_hash=entry.content_hash,
        shingles=shingles,
        signature=fingerprinter.signature(shingles),
        numbers=frozenset(entry.numbers),
        entities=frozenset(entry.entities),
        n_tokens=entry.n_tokens,
    )


@dataclass
class JournalState:
    """The journal folded by key: what compaction would leave."""

    entries: dict[str, JournalEntry] = field(default_factory=dict)
    checkpoints: dict[tuple[str, int], Checkpoint] = field(default_factory=dict)
    records_read: int = 0

    def apply(self, key: bytes | None, value: bytes | None) -> None:
        self.records_read += 1
        if key is None:
            return
        if key.startswith(CHECKPOINT_PREFIX):
            if value is not None:
                cp = Checkpoint.model_validate_json(value)
                self.checkpoints[(cp.topic, cp.partition)] = cp
            return
        article_id = key.decode("utf-8", errors="replace")
        if value is None:
            self.entries.pop(article_id, None)
        else:
            self.entries[article_id] = JournalEntry.model_validate_json(value)


def replay(records: Iterable[tuple[bytes | None, bytes | None]]) -> JournalState:
    state = JournalState()
    for key, value in records:
        state.apply(key, value)
    return state


def rebuild_index(
    state: JournalState, index: DedupIndex, fingerprinter: Fingerprinter
) -> tuple[int, list[str]]:
    """Load every live entry into ``index`` in journal order.

    Returns how many were loaded and the ids the window evicted while loading,
    for which the caller writes tombstones, so a journal never keeps what the
    index no longer holds.
    """
    loaded = 0
    evicted: list[str] = []
    for entry in state.entries.values():
        if entry.id in index:
            continue
        evicted.extend(index.add(decode_entry(entry, fingerprinter)))
        loaded += 1
    return loaded, evicted
