"""Throughput of normalize_content on Reuters wire stories, as plain text and as HTML pages.

Usage: python bench/bench_normalize.py [--limit N]
"""

from __future__ import annotations

import argparse
import gzip
import json
import statistics
import sys
import time
from pathlib import Path

from streamer.evaluation.pages import portal_page as as_page
from streamer.text.content import normalize_content

CORPUS = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "reuters21578.jsonl.gz"
ROUNDS = 3


def load_stories(limit: int | None) -> list[dict[str, str]]:
    if not CORPUS.exists():
        sys.exit(f"Reuters corpus not found at {CORPUS}; benchmark needs ../shared/data")
    stories: list[dict[str, str]] = []
    with gzip.open(CORPUS, "rt", encoding="utf-8") as f:
        for line in f:
            stories.append(json.loads(line))
            if limit is not None and len(stories) >= limit:
                break
    return stories


def _rates(items: list[dict[str, str | None]]) -> tuple[float, float]:
    """Articles per second of wall time and per second of CPU time (medians of rounds).

    The CPU rate is the one-core figure: on a shared machine wall time also counts
    what the other processes took.
    """
    wall, cpu = [], []
    for _ in range(ROUNDS):
        start, start_cpu = time.perf_counter(), time.process_time()
        for item in items:
            normalize_content(title=item["title"], body=item["body"], html=item["html"])
        wall.append(len(items) / (time.perf_counter() - start))
        cpu.append(len(items) / max(time.process_time() - start_cpu, 1e-9))
    return statistics.median(wall), statistics.median(cpu)


def run(limit: int | None) -> dict[str, float]:
    """Articles per second (median of rounds) for plain bodies and for HTML pages."""
    stories = load_stories(limit)
    # Warm lazy caches (language model, character tables, trafilatura import) first.
    normalize_content(
        title="warm up", body="Warm up the language model once.", html=as_page(stories[0])
    )
    plain: list[dict[str, str | None]] = [
        {"title": s["title"], "body": s["body"], "html": None} for s in stories
    ]
    pages: list[dict[str, str | None]] = [
        {"title": None, "body": None, "html": as_page(s)} for s in stories
    ]
    plain_wall, plain_cpu = _rates(plain)
    html_wall, html_cpu = _rates(pages)
    return {
        "normalize_plain_per_s": plain_wall,
        "normalize_html_per_s": html_wall,
        "normalize_plain_per_cpu_s": plain_cpu,
        "normalize_html_per_cpu_s": html_cpu,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--limit", type=int, default=None, help="use the first N stories")
    args = parser.parse_args()
    result = run(args.limit)
    for kind in ("plain", "html"):
        print(
            f"normalize {kind}: {result[f'normalize_{kind}_per_s']:,.0f} articles/s,"
            f" {result[f'normalize_{kind}_per_cpu_s']:,.0f} per CPU-second"
        )


if __name__ == "__main__":
    main()
