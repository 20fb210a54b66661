"""Throughput of normalize_content on Reuters wire stories, as plain text and as HTML pages.

Usage: python bench/bench_normalize.py [--limit N]
"""

from __future__ import annotations

import argparse
import gzip
import html
import json
import statistics
import sys
import time
from pathlib import Path

from streamer.text.content import normalize_content

CORPUS = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "reuters21578.jsonl.gz"
ROUNDS = 3

PAGE_HEAD = """<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>{title} | Wire Portal</title>
<script>window.__STATE__={{"ads":["top","mid"],"user":null}};</script>
<style>body{{font-family:sans-serif}} .share a{{margin:0 4px}}</style></head><body>
<nav class="main"><a href="/">Home</a><a href="/world">World</a><a href="/business">Business</a>
<a href="/markets">Markets</a><a href="/sport">Sport</a></nav><main><article><h1>{title}</h1>
<div class="byline">By Wire Staff</div>
<div class="share"><a href="#">Facebook</a><a href="#">Twitter</a><a href="#">Email</a></div>
<div class="story-body">"""
PAGE_TAIL = """</div><aside class="related"><h2>Related articles</h2><ul>
<li><a href="/a">Markets slide on rate fears</a></li><li><a href="/b">Gold hits record</a></li>
<li><a href="/c">Oil steadies after OPEC talks</a></li></ul></aside></article></main>
<footer><a href="/about">About</a><a href="/terms">Terms</a><p>&copy; 2024 Wire Portal</p></footer>
<script>track("pageview");</script></body></html>"""


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


def as_page(story: dict[str, str]) -> str:
    """Wrap a wire body the way a portal would: one <p> per wire paragraph."""
    paragraphs = [" ".join(p.split()) for p in story["body"].split("\n    ")]
    body = "".join(f"<p>{html.escape(p)}</p>\n" for p in paragraphs if p)
    return PAGE_HEAD.format(title=html.escape(story["title"] or "")) + body + PAGE_TAIL


def _rate(items: list[dict[str, str | None]]) -> float:
    rates = []
    for _ in range(ROUNDS):
        start = time.perf_counter()
        for item in items:
            normalize_content(title=item["title"], body=item["body"], html=item["html"])
        rates.append(len(items) / (time.perf_counter() - start))
    return statistics.median(rates)


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
    return {"normalize_plain_per_s": _rate(plain), "normalize_html_per_s": _rate(pages)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--limit", type=int, default=None, help="use the first N stories")
    args = parser.parse_args()
    result = run(args.limit)
    print(f"normalize plain: {result['normalize_plain_per_s']:,.0f} articles/s")
    print(f"normalize html: {result['normalize_html_per_s']:,.0f} articles/s")


if __name__ == "__main__":
    main()
