"""The journal applied one record at a time: an index that follows the writer's as it goes.

Recovery used to fold the whole journal by key and load what was left; a
standby that tails the journal cannot wait for the end, so this applies each
record as it is read, in journal order, which is the order the writer made
the changes in:

* an entry is indexed as its decision indexed it (``journal.load_entry``:
  the same code ``rebuild_index`` uses), replacing an article of the same id,
  and evicting what the window evicted then;
* a tombstone removes the article (usually gone already: the window evicted
  it when the entry that moved the clock was applied);
* a checkpoint is kept, the latest per input partition, for the take-over.

Nothing is held but the index and those checkpoints: the feed's memory is the
window's. What the window evicted here but the journal has not tombstoned yet
(the writer died between an entry and its tombstones, or an entry could not be
loaded) is kept in ``untombstoned`` so that whoever takes over writes those
tombstones, as recovery always has.

The check of entries journaled before times were checked (no ``date_fallback``)
needs the latest checkpoint's ``written_at``; here it is the latest read so far,
and before any checkpoint has been read, the wall clock (what the checkpoints
record, and never earlier than any of them).
"""

from __future__ import annotations

import time

from streamer.dedup import journal
from streamer.dedup.index import DedupIndex
from streamer.models import Checkpoint
from streamer.text.fingerprint import Fingerprinter


class JournalFeed:
    """Applies journal records, in order, to ``index``."""

    def __init__(self, index: DedupIndex, fingerprinter: Fingerprinter) -> None:
        self.index = index
        self.fingerprinter = fingerprinter
        # Parses each record (key spaces, legacy keys, skips); its entries are drained at once.
        self.parsed = journal.JournalState()
        self.untombstoned: set[str] = set()
        self.loaded = 0
        self.removed = 0

    @property
    def checkpoints(self) -> dict[tuple[str, int], Checkpoint]:
        return self.parsed.checkpoints

    @property
    def records(self) -> int:
        return self.parsed.records_read

    @property
    def skipped(self) -> int:
        return self.parsed.skipped

    def horizon(self) -> float:
        if not self.parsed.checkpoints:
            return journal.LEGACY_FUTURE_SLACK_S + time.time()
        return journal.legacy_horizon(self.parsed.checkpoints.values())

    def apply(self, key: bytes | None, value: bytes | None) -> None:
        """One journal record; a record that cannot be read or loaded is counted, never raised."""
        if value is None and key is not None:
            self.parsed.records_read += 1
            article_id = journal.article_id_of(key)
            self.removed += self.index.remove(article_id)
            self.untombstoned.discard(article_id)
            return
        self.parsed.apply(key, value)
        while self.parsed.entries:
            article_id, entry = self.parsed.entries.popitem()
            try:
                evicted = journal.load_entry(entry, self.index, self.fingerprinter, self.horizon())
            except Exception as exc:
                self.parsed.skip(journal.article_key(article_id), exc)
                self.untombstoned.add(article_id)  # its tombstone heals the journal
                continue
            self.loaded += 1
            self.untombstoned.discard(article_id)
            self.untombstoned.update(evicted)

    def take_untombstoned(self) -> list[str]:
        """The ids to tombstone now (the caller writes them), in a stable order."""
        ids = sorted(self.untombstoned)
        self.untombstoned.clear()
        return ids
