"""JSON Lines in and out for ``streamer dedup``: backfills and evaluations.

It feeds the same ``Pipeline`` as the Kafka adapter, record by record in file
order, so a file and a single-partition topic with the same lines get the same
decisions.
"""

from __future__ import annotations

import gzip
import io
import logging
import sys
import time
from collections import Counter
from collections.abc import Iterable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import IO, Any, cast

import orjson

from streamer.config import Settings
from streamer.models import Outcome
from streamer.pipeline import Pipeline
from streamer.records import InputRecord, Result

log = logging.getLogger(__name__)

OUTPUT_FILES = {
    Outcome.CLEAN: "clean.jsonl",
    Outcome.DUPLICATE: "duplicates.jsonl",
    Outcome.DEADLETTER: "deadletter.jsonl",
}


def open_input(path: str) -> IO[bytes]:
    """``-`` is stdin; ``.gz`` is decompressed on the fly."""
    if path == "-":
        stream: IO[bytes] = sys.stdin.buffer
        head = stream.peek(2)[:2] if hasattr(stream, "peek") else b""
        return cast(IO[bytes], gzip.GzipFile(fileobj=stream)) if head == b"\x1f\x8b" else stream
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"input file not found: {path}")
    if p.suffix == ".gz":
        return cast(IO[bytes], gzip.open(p, "rb"))
    return p.open("rb")


def read_records(stream: IO[bytes], name: str = "file") -> Iterator[InputRecord]:
    """One record per line; the line number is the offset, so dead letters point at it.

    Blank lines are separators, not records, and are skipped.
    """
    for line_no, line in enumerate(stream, start=1):
        value = line.rstrip(b"\r\n")
        if not value.strip():
            continue
        yield InputRecord(value=value, key=None, topic=name, partition=0, offset=line_no)


def records_from_dicts(items: Iterable[dict[str, Any] | bytes]) -> Iterator[InputRecord]:
    for n, item in enumerate(items, start=1):
        value = item if isinstance(item, bytes) else orjson.dumps(item)
        yield InputRecord(value=value, topic="memory", partition=0, offset=n)


def dedup_records(
    items: Iterable[dict[str, Any] | bytes], settings: Settings | None = None
) -> list[Result]:
    """Run the pipeline over in-memory records; evaluations call this."""
    pipeline = Pipeline(settings or Settings())
    return pipeline.process(records_from_dicts(items))


def run_file(
    input_path: str,
    out_dir: Path,
    settings: Settings,
    progress_every: int = 10_000,
) -> Counter[str]:
    """Dedup ``input_path`` into ``out_dir``; returns counts per outcome."""
    pipeline = Pipeline(settings)
    counts: Counter[str] = Counter()
    started = time.monotonic()
    name = "stdin" if input_path == "-" else Path(input_path).name
    with ExitStack() as stack:
        source = stack.enter_context(open_input(input_path))
        out_dir.mkdir(parents=True, exist_ok=True)
        outs: dict[Outcome, io.BufferedWriter] = {
            outcome: stack.enter_context((out_dir / fname).open("wb"))
            for outcome, fname in OUTPUT_FILES.items()
        }
        for record in read_records(source, name):
            (result,) = pipeline.process([record])
            outs[result.outcome].write(result.value + b"\n")
            counts[result.outcome.value] += 1
            total = sum(counts.values())
            if progress_every and total % progress_every == 0:
                rate = total / max(time.monotonic() - started, 1e-9)
                log.info(
                    "dedup progress",
                    extra={"records": total, "rate_per_s": round(rate), **counts},
                )
    log.info("dedup finished", extra={"records": sum(counts.values()), **counts})
    return counts
