"""What a news portal wraps around a story: its page, its related links, its galleries.

All of it our own writing (site names, headlines, captions), never text from a
real site; it is what normalization must strip, so the rewrites carry it.
"""

from __future__ import annotations

import html
import random
from collections.abc import Sequence

_RELATED = (
    "Five things to watch in the markets this week",
    "Analysis: why investors are rethinking their bond bets",
    "Regional airports report record summer traffic",
    "Opinion: the budget debate nobody wants to have",
    "Tech stocks wobble as rate worries return",
    "Farmers brace for a late frost across the plains",
    "City council approves new harbour bridge design",
    "Explainer: how commodity futures are priced",
)

_GALLERIES = (
    ("Photo gallery", "Scenes from the trading floor", "Showing 7 photos"),
    ("Photo gallery", "A year in pictures: markets and money", "Showing 12 photos"),
    ("Photo gallery", "Harvest season across the grain belt", "Showing 9 photos"),
)

SITE_NAMES = {
    "wire.example": "Wire Example",
    "dailyglobe.example": "Daily Globe",
    "portal.example": "Portal News",
    "metrotimes.example": "Metro Times",
    "newsdigest.example": "News Digest",
}


def html_page(title: str, paragraphs: Sequence[str], source: str, rng: random.Random) -> str:
    site = SITE_NAMES.get(source, "Portal News")
    related = rng.sample(_RELATED, 4)
    paras = "\n".join(f"      <p>{html.escape(p, quote=False)}</p>" for p in paragraphs)
    items = "\n".join(
        f'        <li><a href="/story/{i}">{html.escape(r)}</a></li>' for i, r in enumerate(related)
    )
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>{html.escape(title)} | {site}</title>
  <script>window.dataLayer = window.dataLayer || [];</script>
</head>
<body>
  <header>
    <nav><a href="/">Home</a> <a href="/business">Business</a> <a href="/markets">Markets</a>
      <a href="/world">World</a> <a href="/sport">Sport</a> <a href="/subscribe">Subscribe</a></nav>
  </header>
  <main>
    <div class="share-bar">Share on Facebook | Share on Twitter | Share by Email</div>
    <article>
      <h1>{html.escape(title)}</h1>
      <p class="byline">By {site} staff, with wire services</p>
{paras}
    </article>
    <aside class="related">
      <h3>Related articles</h3>
      <ul>
{items}
      </ul>
    </aside>
  </main>
  <footer>
    <p>&copy; 2024 {site} Media Ltd. All rights reserved.</p>
    <p><a href="/privacy">Privacy policy</a> | <a href="/terms">Terms of use</a> |
      <a href="/contact">Contact us</a></p>
  </footer>
</body>
</html>
"""


def inserted_block(rng: random.Random) -> str:
    """A photo-gallery or "Read more" block, as portals paste into the middle of a body."""
    if rng.random() < 0.5:
        head, caption, count = rng.choice(_GALLERIES)
        return (
            f"{head}\n{caption}\n\n"
            "Pictures from our photographers and agencies, updated through the day.\n\n"
            f"{count}"
        )
    items = "\n".join(f"- {r}" for r in rng.sample(_RELATED, 3))
    return f"Read more:\n{items}"


PORTAL_HEAD = """<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>{title} | Wire Portal</title>
<script>window.__STATE__={{"ads":["top","mid"],"user":null}};</script>
<style>body{{font-family:sans-serif}} .share a{{margin:0 4px}}</style></head><body>
<nav class="main"><a href="/">Home</a><a href="/world">World</a><a href="/business">Business</a>
<a href="/markets">Markets</a><a href="/sport">Sport</a></nav><main><article><h1>{title}</h1>
<div class="byline">By Wire Staff</div>
<div class="share"><a href="#">Facebook</a><a href="#">Twitter</a><a href="#">Email</a></div>
<div class="story-body">"""
PORTAL_TAIL = """</div><aside class="related"><h2>Related articles</h2><ul>
<li><a href="/a">Markets slide on rate fears</a></li><li><a href="/b">Gold hits record</a></li>
<li><a href="/c">Oil steadies after OPEC talks</a></li></ul></aside></article></main>
<footer><a href="/about">About</a><a href="/terms">Terms</a><p>&copy; 2024 Wire Portal</p></footer>
<script>track("pageview");</script></body></html>"""


def portal_page(story: dict[str, str]) -> str:
    """A wire story as one fixed portal page (one <p> per wire paragraph): the benchmark's page.

    Fixed, unlike ``html_page``, so that a rate measured on it is comparable run to run.
    """
    paragraphs = [" ".join(p.split()) for p in story["body"].split("\n    ")]
    body = "".join(f"<p>{html.escape(p)}</p>\n" for p in paragraphs if p)
    return PORTAL_HEAD.format(title=html.escape(story["title"] or "")) + body + PORTAL_TAIL
