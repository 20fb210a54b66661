"""Shared helpers for the benchmarks: the Reuters corpus, input records, timing."""

from __future__ import annotations

import gzip
import json
import os
import statistics
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
CORPUS = REPO.parent / "shared" / "data" / "reuters21578.jsonl.gz"


class CorpusMissing(RuntimeError):
    """The Reuters corpus is not where the benchmarks look for it."""


def load_stories(limit: int | None = None) -> list[dict[str, Any]]:
    if not CORPUS.is_file():
        raise CorpusMissing(f"Reuters corpus not found at {CORPUS} (see ../shared/data/README.md)")
    stories: list[dict[str, Any]] = []
    with gzip.open(CORPUS, "rt", encoding="utf-8") as fh:
        for line in fh:
            stories.append(json.loads(line))
            if limit is not None and len(stories) >= limit:
                break
    # One story (the first) has no date; a date-less input falls back to the wall clock,
    # which would move the index's window 39 years ahead and evict everything before it.
    # Give it its neighbour's date.
    last = next((s["date"] for s in stories if s.get("date")), None)
    for s in stories:
        if s.get("date"):
            last = s["date"]
        else:
            s["date"] = last
    return stories


def input_record(story: dict[str, Any]) -> dict[str, Any]:
    """A Reuters story as an input record of the service's contract (as the tests build it)."""
    return {
        "id": f"r{story['newid']}",
        "title": story.get("title") or "",
        "body": story["body"],
        "url": f"https://wire.example/story/{story['newid']}",
        "source": "reuters",
        "published_at": story.get("date"),
    }


def input_values(limit: int | None = None) -> list[bytes]:
    return [json.dumps(input_record(s)).encode() for s in load_stories(limit)]


def median_rate(n: int, fn: Callable[[], Any], rounds: int) -> tuple[float, list[float]]:
    """Items per second of ``fn`` over ``n`` items: the median of ``rounds`` timed calls."""
    rates = []
    for _ in range(rounds):
        start = time.perf_counter()
        fn()
        rates.append(n / (time.perf_counter() - start))
    return statistics.median(rates), rates


def tag() -> str:
    return uuid.uuid4().hex[:8]


def rss_bytes() -> int:
    """Resident set size of this process, from /proc (Linux)."""
    with open(f"/proc/{os.getpid()}/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("no VmRSS in /proc/self/status")
