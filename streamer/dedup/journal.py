"""The index's changelog: encoding its changes and rebuilding the index from them.

The journal is a compacted topic keyed by article id, so it holds at most one
entry per article in the window (eviction writes a tombstone), plus one
checkpoint per input partition. Replaying it in order gives back the index as
of the last journaled batch; the Kafka adapter decides what to do about the
inputs after that point.

Key spaces. Compaction keeps one record per key, so an article and a checkpoint
must never share one, whatever the article's id: a checkpoint's key starts with
``__checkpoint__/``, and an article's key is its id's UTF-8 unless that starts
with the same bytes, in which case it is escaped behind a 0xFF byte (which no
UTF-8 text holds, so an escaped key is no other id's). Journals written before the
escape hold such ids under their bare key: a value there that is not a checkpoint
but an entry is read as the article it is.

A record that cannot be read (a value that does not parse, a key in no space)
is skipped and counted, never raised: one record must not make every restart fail.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from pydantic import ValidationError

from streamer import SCHEMA_VERSION
from streamer.dedup.entry import IndexEntry
from streamer.dedup.index import DedupIndex
from streamer.dedup.passages import with_lead
from streamer.models import Checkpoint, Coordinates, JournalEntry, Outcome, record_json
from streamer.records import parse_partition_key, partition_key, u32_b64, u32_from_b64
from streamer.text.fingerprint import Fingerprinter

CHECKPOINT_PREFIX = b"__checkpoint__/"
ESCAPE = b"\xff"  # before an article key that would otherwise start with CHECKPOINT_PREFIX
# Room for ``,"output":{"topic":...,"partition":...,"offset":...}``, spliced into an entry
# once its output is acknowledged: a topic name (at most 249 of [a-zA-Z0-9._-] in Kafka)
# and two 64-bit numbers.
OUTPUT_POSITION_BYTES = 512
MAX_PROBLEMS_KEPT = 10
_NOT_IN_BODY = frozenset({"output"})
# Entries written before they said which time they carry (no ``date_fallback`` member)
# were timed by rules that believed a producer's timestamp: one of them may be stamped
# far in the future and, the newest, shut the window for good. Such an entry is not
# loaded when it is further than this past the latest checkpoint's ``written_at`` (the
# journal's own record of the wall clock, so the rebuild stays a function of the
# journal): a day, what those rules allowed past the Kafka timestamp.
LEGACY_FUTURE_SLACK_S = 86_400.0


def article_key(article_id: str) -> bytes:
    """The journal key of an article: never a checkpoint's (see the module docstring)."""
    raw = article_id.encode()
    return ESCAPE + raw if raw.startswith(CHECKPOINT_PREFIX) else raw


def article_id_of(key: bytes) -> str:
    """The article id a journal key names (the inverse of ``article_key``): for a tombstone,
    whose value says nothing. A bare key is decoded as ``JournalState`` decodes it."""
    if key.startswith(ESCAPE):
        return key[len(ESCAPE) :].decode("utf-8")
    return key.decode("utf-8", errors="replace")


def checkpoint_key(topic: str, partition: int) -> bytes:
    return CHECKPOINT_PREFIX + partition_key(topic, partition).encode()


def entry_body(
    entry: IndexEntry,
    outcome: Outcome,
    input_coords: Coordinates | None,
    date_fallback: str | None = None,
    lead_rows: int = 0,
) -> bytes:
    """An indexed article's journal value, all but where its output went.

    ``lead_rows``: how many of the signature's first rows are its lead window's
    (``passages.lead_size``); they are kept, the rest is recomputed from the shingles.

    Built at the decision, so that its size is checked before anything is
    produced; ``with_output`` completes it once the output is acknowledged. The
    bytes are ``JournalEntry(...).model_dump_json()``'s, written by orjson
    (``record_json``): the one ordered writer builds one for every article.
    """
    values = {
        "id": entry.id,
        "cluster_id": entry.cluster_id,
        "ts": float(entry.ts),
        "content_hash": entry.content_hash,
        "n_tokens": int(entry.n_tokens),
        "shingles_b64": u32_b64(entry.shingles),
        "numbers": sorted(entry.numbers),
        "entities": sorted(entry.entities),
        "outcome": outcome,
        "input": input_coords,
        "date_fallback": date_fallback,
        "lead_b64": u32_b64(entry.signature[:lead_rows]) if lead_rows else None,
        "schema_version": SCHEMA_VERSION,
    }
    return record_json(JournalEntry, values, exclude=_NOT_IN_BODY)


def with_output(body: bytes, output_coords: Coordinates | None) -> bytes:
    """``entry_body`` with its output position: one more member of the JSON object."""
    output = b"null" if output_coords is None else record_json(Coordinates, dict(output_coords))
    return body[:-1] + b',"output":' + output + b"}"


def encode_entry(
    entry: IndexEntry,
    outcome: Outcome,
    input_coords: Coordinates | None,
    output_coords: Coordinates | None,
    date_fallback: str | None = None,
    lead_rows: int = 0,
) -> tuple[bytes, bytes]:
    """(key, value) for one indexed article."""
    body = entry_body(entry, outcome, input_coords, date_fallback, lead_rows)
    return article_key(entry.id), with_output(body, output_coords)


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
    """Back to an index entry; the signature is recomputed rather than stored (half the bytes),
    but for a long article's lead rows, which the entry carries."""
    if not math.isfinite(entry.ts):
        raise ValueError(f"ts is {entry.ts}")
    if not 0 <= entry.n_tokens < 1 << 32:  # the store keeps it as uint32
        raise ValueError(f"n_tokens is {entry.n_tokens}")
    shingles = u32_from_b64(entry.shingles_b64)
    signature = fingerprinter.signature(shingles)
    if entry.lead_b64:
        lead = u32_from_b64(entry.lead_b64)
        if lead.size > signature.size:
            raise ValueError(f"{lead.size} lead rows for a signature of {signature.size}")
        signature = with_lead(signature, lead)
    return IndexEntry(
        id=entry.id,
        cluster_id=entry.cluster_id,
        ts=entry.ts,
        content_hash=entry.content_hash,
        shingles=shingles,
        signature=signature,
        numbers=frozenset(entry.numbers),
        entities=frozenset(entry.entities),
        n_tokens=entry.n_tokens,
    )


def _checkpoint(value: bytes) -> Checkpoint:
    """A checkpoint that recovery can act on (it seeks to these offsets): else ValueError."""
    cp = Checkpoint.model_validate_json(value)
    for key in (*cp.outputs, *cp.upstream):
        parse_partition_key(key)  # what recovery will do with them: fail here, not there
    if min(cp.next_offset, cp.partition, *cp.outputs.values()) < 0:
        raise ValueError("a negative partition or offset")
    return cp


@dataclass
class JournalState:
    """The journal folded by key: what compaction would leave.

    ``skipped`` counts the records that could not be read (and, after
    ``rebuild_index``, the entries that could not be loaded); ``problems`` says
    what was wrong with the first few, for the recovery log.
    """

    entries: dict[str, JournalEntry] = field(default_factory=dict)
    checkpoints: dict[tuple[str, int], Checkpoint] = field(default_factory=dict)
    records_read: int = 0
    skipped: int = 0
    problems: list[str] = field(default_factory=list)

    def apply(self, key: bytes | None, value: bytes | None) -> None:
        self.records_read += 1
        try:
            self._apply(key, value)
        except Exception as exc:  # a record is data: whatever is wrong with it, skip it
            self.skip(key, exc)

    def skip(self, key: bytes | None, exc: Exception) -> None:
        self.skipped += 1
        if len(self.problems) < MAX_PROBLEMS_KEPT:
            shown = repr(key[:80]) if key is not None else "no key"
            self.problems.append(f"{shown}: {type(exc).__name__}: {str(exc)[:300]}")

    def _apply(self, key: bytes | None, value: bytes | None) -> None:
        if key is None:
            raise ValueError("a journal record without a key")
        if key.startswith(ESCAPE):
            self._article(key[len(ESCAPE) :].decode("utf-8"), value)
        elif key.startswith(CHECKPOINT_PREFIX):
            self._checkpoint_or_legacy_article(key, value)
        else:
            self._article(key.decode("utf-8", errors="replace"), value)

    def _article(self, article_id: str, value: bytes | None) -> None:
        if value is None:
            self.entries.pop(article_id, None)
        else:
            self.entries[article_id] = JournalEntry.model_validate_json(value)

    def _checkpoint_or_legacy_article(self, key: bytes, value: bytes | None) -> None:
        """A checkpoint, or an article journaled under a checkpoint's key before the escape.

        Checkpoints are never tombstoned, so a tombstone here can only be such an
        article's.
        """
        article_id = key.decode("utf-8", errors="replace")
        if value is None:
            self.entries.pop(article_id, None)
            return
        try:
            cp = _checkpoint(value)
        except (ValidationError, ValueError) as not_a_checkpoint:
            try:
                entry = JournalEntry.model_validate_json(value)
            except ValidationError:
                raise not_a_checkpoint from None
            self.entries[article_id] = entry
            return
        self.checkpoints[(cp.topic, cp.partition)] = cp


def replay(records: Iterable[tuple[bytes | None, bytes | None]]) -> JournalState:
    state = JournalState()
    for key, value in records:
        state.apply(key, value)
    return state


def legacy_horizon(checkpoints: Iterable[Checkpoint]) -> float:
    """Past this ``ts`` an entry without ``date_fallback`` is not loaded (see the constant)."""
    return LEGACY_FUTURE_SLACK_S + max(
        (cp.written_at.timestamp() for cp in checkpoints), default=math.inf
    )


def load_entry(
    entry: JournalEntry, index: DedupIndex, fingerprinter: Fingerprinter, horizon: float
) -> list[str]:
    """Index one journal entry as its decision did; the ids the window evicted.

    Raises (ValueError and whatever decoding raises) for an entry that cannot be
    loaded; the caller counts it and tombstones it. Shared by ``rebuild_index``
    and the incremental feed of a standby (``streamer.dedup.feed``).
    """
    if "date_fallback" not in entry.model_fields_set and entry.ts > horizon:
        raise ValueError(f"ts {entry.ts} of an entry from before times were checked")
    item = decode_entry(entry, fingerprinter)
    return index.add(item, dated=entry.date_fallback is None)


def rebuild_index(
    state: JournalState, index: DedupIndex, fingerprinter: Fingerprinter
) -> tuple[int, list[str]]:
    """Load every live entry into ``index`` in journal order.

    Returns how many were loaded and the ids the window evicted while loading,
    for which the caller writes tombstones, so a journal never keeps what the
    index no longer holds. An entry that cannot be loaded (or an old one stamped
    past ``LEGACY_FUTURE_SLACK_S``) is skipped, counted in ``state`` and returned
    with them. Each entry moves the window's clock as it did when it was decided: a
    time the decision gave (``date_fallback``) does not.
    """
    loaded = 0
    evicted: list[str] = []
    horizon = legacy_horizon(state.checkpoints.values())
    for article_id, entry in state.entries.items():
        if entry.id in index:
            continue
        try:
            evicted.extend(load_entry(entry, index, fingerprinter, horizon))
        except Exception as exc:
            state.skip(article_key(article_id), exc)
            evicted.append(article_id)  # its tombstone heals the journal
            continue
        loaded += 1
    return loaded, evicted
