"""The seven ways a republisher rewrites a wire story, each an input record for news.raw.

Every kind is one function of a :class:`Draft` (what all kinds share: the
story's parts, the outlet, the URL) and the stream's ``random.Random``; the
draws happen in a fixed order, so a seed gives the same stream on every run.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from email.utils import format_datetime, parsedate_to_datetime
from typing import Any

from streamer.evaluation import pages, restyle
from streamer.evaluation.similarity import TICKER
from streamer.evaluation.wire import (
    original_record,
    paragraphs,
    split_sentences,
    story_time,
    word_count,
)

REWRITE_SOURCES = (
    "wire.example",
    "dailyglobe.example",
    "portal.example",
    "metrotimes.example",
    "newsdigest.example",
)


@dataclass(frozen=True)
class Draft:
    """The parts of one story every kind of rewrite starts from."""

    title: str  # the wire title, tickers and all
    body: str  # the original record's body: dateline + wire body, sign-off kept
    dateline: str
    city: str
    paras: list[str]  # the wire body's paragraphs, sign-off dropped
    source: str  # the outlet that republishes
    url: str
    year: int

    @property
    def site(self) -> str:
        return pages.SITE_NAMES[self.source]

    @property
    def lead(self) -> str:
        return f"{self.dateline} {self.paras[0]}" if self.dateline else self.paras[0]

    def with_dateline(self, text: str) -> str:
        return f"{self.dateline} {text}" if self.dateline else text


Fields = dict[str, str]


def _resend(d: Draft, rng: random.Random) -> Fields:
    return {
        "title": d.title,
        "body": d.body,
        "source": rng.choice(("wire.example", "newsdigest.example")),
    }


def _html_page(d: Draft, rng: random.Random) -> Fields:
    page_title = restyle.title_case(d.title) if rng.random() < 0.6 else d.title
    return {
        "title": f"{page_title} | {d.site}",
        "html": pages.html_page(page_title, [d.lead, *d.paras[1:]], d.source, rng),
    }


def _restyle(d: Draft, rng: random.Random) -> Fields:
    t = restyle.title_case(d.title)
    title = f"UPDATE 1-{t}" if rng.random() < 0.5 else f"{t} | {d.site}"
    new_paras = [restyle.restyle_text(p, rng) for p in d.paras]
    if d.city and rng.random() < 0.6:
        new_paras[0] = f"{d.city.title()} ({d.site}) - {new_paras[0]}"
    byline = rng.choice(("By Staff Writer", f"By a {d.site} reporter", "By Our Business Desk"))
    rights = f"\u00a9 {d.year} {d.site}. All rights reserved."
    return {"title": title, "body": "\n\n".join([byline, *new_paras, rights])}


def _truncate(d: Draft, rng: random.Random) -> Fields:
    sentences = [s for p in d.paras for s in split_sentences(p)]
    n = len(sentences)
    if n >= 3:
        kept = sentences[: min(n - 1, max(2, round(n * rng.uniform(0.4, 0.7))))]
    elif n == 2:
        kept = sentences[:1]
    else:  # one-sentence story: cut it after its first clauses
        words = sentences[0].split()
        kept = [" ".join(words[: max(1, min(len(words) - 1, int(len(words) * 0.6)))])]
    return {"title": d.title, "body": d.with_dateline(" ".join(kept))}


def _light_edit(d: Draft, rng: random.Random) -> Fields:
    sentences = [s for p in d.paras for s in split_sentences(p)]
    n_words = sum(word_count(x) for x in sentences)
    n_subs = min(6, max(2, n_words // 40))
    edited, _ = restyle.replace_words(" ".join(sentences), restyle.SYNONYMS, 0.5, rng, n_subs)
    sentences = split_sentences(edited) or [edited]
    if len(sentences) >= 4 and rng.random() < 0.5:
        del sentences[rng.randrange(1, len(sentences))]
    else:
        sentences.insert(rng.randint(1, len(sentences)), rng.choice(restyle.COMMENTARY))
    text = restyle.add_typos(" ".join(sentences), rng.randint(1, 1 + n_words // 150), rng)
    title = restyle.title_case(d.title) if rng.random() < 0.5 else d.title
    return {"title": title, "body": d.with_dateline(text)}


def _translate_like(d: Draft, rng: random.Random) -> Fields:
    out_paras = []
    for p in d.paras:
        p = restyle.restyle_text(p, rng).replace("\u2019", "'")
        p, _ = restyle.replace_words(p, restyle.SYNONYMS, 0.35, rng, None)
        p, _ = restyle.replace_words(p, restyle.FUNCTION_WORDS, 0.2, rng, None)
        out_paras.append(p)
    if d.city:
        out_paras[0] = f"{d.city.title()}. {out_paras[0]}"
    title, _ = restyle.replace_words(
        restyle.sentence_case(d.title), restyle.SYNONYMS, 0.5, rng, None
    )
    return {"title": title, "body": "\n\n".join(out_paras)}


def _boilerplate_insert(d: Draft, rng: random.Random) -> Fields:
    block = pages.inserted_block(rng)
    body_paras = [d.lead, *d.paras[1:]]
    cut = max(1, len(body_paras) // 2)
    return {
        "title": d.title,
        "body": "\n\n".join([*body_paras[:cut], block, *body_paras[cut:]]),
        "url": d.url + f"?utm_source=rss&utm_medium=feed&utm_campaign={rng.randrange(10**6)}",
    }


# In this order: the stream draws kinds with ``rng.sample(KINDS, n)``.
_REWRITERS: dict[str, Callable[[Draft, random.Random], Fields]] = {
    "resend": _resend,
    "html_page": _html_page,
    "restyle": _restyle,
    "truncate": _truncate,
    "light_edit": _light_edit,
    "translate_like": _translate_like,
    "boilerplate_insert": _boilerplate_insert,
}
KINDS: tuple[str, ...] = tuple(_REWRITERS)


def _slug(title: str) -> str:
    words = re.findall(r"[a-z0-9]+", TICKER.sub(" ", title.lower()))
    return "-".join(words[:8]) or "story"


def _format_time(when: datetime, rng: random.Random) -> str:
    """One of the three spellings feeds use: UTC ``Z``, a local offset, RFC 2822."""
    style = rng.randrange(3)
    if style == 0:
        return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    if style == 1:
        return when.astimezone(timezone(timedelta(hours=rng.choice([-5, 1, 2, 9])))).isoformat()
    return format_datetime(when.astimezone(UTC))


def parse_time(value: str) -> datetime:
    """A rewrite's ``published_at`` back to a datetime, whichever spelling it got."""
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return parsedate_to_datetime(value)


def make_rewrite(story: dict, kind: str, rng: random.Random, *, index: int = 1) -> dict:
    """A republisher's version of a Reuters ``story`` as an input record for news.raw.

    ``kind`` is one of :data:`KINDS`. The record has ``id`` ``r{newid}-rw{index}-{kind}``,
    ``title``, ``body`` (or ``html`` for ``html_page``), ``url``, ``source`` and a
    ``published_at`` 3 minutes to 6 hours after the original.
    """
    rewriter = _REWRITERS.get(kind)
    if rewriter is None:
        raise ValueError(f"unknown rewrite kind {kind!r}; expected one of {KINDS}")
    original = original_record(story)
    title = original["title"]
    dateline = (story.get("dateline") or "").strip()
    paras = paragraphs(story.get("body") or "")
    if not paras:
        raise ValueError(f"story {story.get('newid')} has no body text")
    source = rng.choice(REWRITE_SOURCES)
    base_time = story_time(story) or datetime(1987, 3, 1, tzinfo=UTC)
    when = base_time + timedelta(minutes=rng.randint(3, 360), seconds=rng.randint(0, 59))
    url = f"https://{source}/news/{when:%Y/%m/%d}/{_slug(title)}-{story['newid']}"
    rec: dict[str, Any] = {
        "id": f"r{story['newid']}-rw{index}-{kind}",
        "source": source,
        "url": url,
        "published_at": _format_time(when, rng),
    }
    draft = Draft(
        title=title,
        body=original["body"],
        dateline=dateline,
        city=dateline.split(",")[0].strip() if dateline else "",
        paras=paras,
        source=source,
        url=url,
        year=base_time.year,
    )
    rec.update(rewriter(draft, rng))
    return rec
