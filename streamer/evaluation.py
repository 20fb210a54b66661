"""Labeled-stream generator and scorer for ``make eval``.

Measures the dedup quality (precision, recall, F1, hard-negative false-positive rate and
per-rewrite-kind recall) of a system next to a naive MinHash baseline, on a labeled stream
built from the Reuters-21578 corpus (``../shared/data/reuters21578.jsonl.gz`` relative to
the repository root; never copied into the repository).

The stream contains, in publication order:

* originals: Reuters stories as input records (``id`` ``r{newid}``, source ``reuters.example``);
* rewrites of them made by :func:`make_rewrite` (``r{newid}-rw{k}-{kind}``), published
  minutes to hours after their original, in the ways real republishers rewrite wire copy;
* both members of hard-negative pairs from :func:`find_hard_negatives`: real, distinct
  Reuters stories that look alike (templated dividends, price changes, money-market notes)
  but are different news.

Ground truth: each original and its rewrites form one true cluster. The corpus itself holds
real re-sends, so originals whose bodies are word-5-shingle Jaccard >= 0.9 with the same set
of numbers (this includes identical normalized bodies) are grouped into one true cluster
(unless their titles carry different tickers: a templated notice of another company), and
originals that look like an *update or correction* of another selected story (similar but
neither a re-send nor distinct templated news) are left out of the stream, so that neither
answer is wrong for them.

Usage::

    python -m streamer.evaluation [--originals N] [--seed S] [--write-stream PATH]
    python -m streamer.evaluation --labels PATH.labels.json --decisions OUT.jsonl [...]
"""

from __future__ import annotations

import argparse
import gzip
import html
import importlib
import inspect
import json
import math
import random
import re
import sys
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from email.utils import format_datetime
from itertools import combinations
from pathlib import Path
from typing import Any

__all__ = [
    "KINDS",
    "Labels",
    "Scores",
    "build_stream",
    "evaluate",
    "find_hard_negatives",
    "load_reuters",
    "main",
    "make_rewrite",
    "naive_decisions",
    "score",
]

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CORPUS = REPO_ROOT.parent / "shared" / "data" / "reuters21578.jsonl.gz"

KINDS: tuple[str, ...] = (
    "resend",
    "html_page",
    "restyle",
    "truncate",
    "light_edit",
    "translate_like",
    "boilerplate_insert",
)

GOAL_F1 = 0.97
GOAL_HARD_NEGATIVE_FP = 0.01

ORIGINAL_SOURCE = "reuters.example"
REWRITE_SOURCES = (
    "wire.example",
    "dailyglobe.example",
    "portal.example",
    "metrotimes.example",
    "newsdigest.example",
)

# --------------------------------------------------------------------------------------
# Corpus


class CorpusMissingError(FileNotFoundError):
    """The Reuters-21578 JSONL corpus is not where it was expected."""


def load_reuters(path: str | Path = DEFAULT_CORPUS, limit: int | None = None) -> list[dict]:
    """Load Reuters-21578 stories (one JSON object a line, gzip or plain) in file order."""
    p = Path(path)
    if not p.is_file():
        raise CorpusMissingError(
            f"Reuters-21578 corpus not found at {p}; it is expected at "
            "../shared/data/reuters21578.jsonl.gz relative to the repository "
            "(it is not shipped with the project)"
        )
    opener: Callable[..., Any] = gzip.open if p.suffix == ".gz" else open
    stories: list[dict] = []
    with opener(p, "rt", encoding="utf-8") as fh:
        for line in fh:
            if not line.strip():
                continue
            stories.append(json.loads(line))
            if limit is not None and len(stories) >= limit:
                break
    return stories


# --------------------------------------------------------------------------------------
# Text helpers

_TOKEN = re.compile(r"[a-z0-9]+(?:[.,'/-][a-z0-9]+)*")
_NUMBER = re.compile(r"\d+(?:[.,:/-]\d+)*")
_TICKER = re.compile(r"<([^<>]+)>")
_CAPWORD = re.compile(r"(?<![\w'])[A-Z][A-Za-z&'.-]*[A-Za-z]")
_TITLE_WORD = re.compile(r"[A-Z0-9][A-Z0-9'&.-]*")
_PARA_SPLIT = re.compile(r"\n[ \t]{2,}|\n\s*\n")
_SIGN_OFF = re.compile(r"\s*\bREUTER\b\s*$", re.IGNORECASE)
_ABBREV = {
    "co",
    "corp",
    "inc",
    "ltd",
    "mr",
    "mrs",
    "dr",
    "st",
    "jan",
    "feb",
    "aug",
    "sept",
    "oct",
    "nov",
    "dec",
    "no",
    "vs",
    "u.s",
    "u.k",
    "calif",
    "bros",
    "gov",
    "sen",
    "rep",
}


def _norm_tokens(text: str) -> list[str]:
    return _TOKEN.findall(text.lower())


def _shingles(text: str, k: int = 5) -> frozenset[str]:
    words = _norm_tokens(_TICKER.sub(r" \1 ", text))
    if len(words) <= k:
        return frozenset([" ".join(words)]) if words else frozenset()
    return frozenset(" ".join(words[i : i + k]) for i in range(len(words) - k + 1))


def _jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    if not a and not b:
        return 1.0
    inter = len(a & b)
    return inter / (len(a) + len(b) - inter)


def _numbers(text: str) -> frozenset[str]:
    return frozenset(_NUMBER.findall(text))


def _entities(story: dict) -> frozenset[str]:
    """Company/entity tokens: capitalized words that are not sentence- or paragraph-initial
    (ticker tags reduced to their words, as wires add and drop them between versions)."""
    text = _TICKER.sub(lambda m: " " + m.group(1) + " ", story.get("body") or "")
    out: set[str] = set()
    for m in _CAPWORD.finditer(text):
        before = text[: m.start()].rstrip(" ")
        if not before or before[-1] in '.!?"\n(':
            continue
        out.add(m.group(0).rstrip("."))
    for ticker in _TICKER.findall(story.get("body") or ""):
        out.difference_update(ticker.split())
    return frozenset(out)


def _title_tickers(story: dict) -> frozenset[str]:
    return frozenset(t.strip() for t in _TICKER.findall(story.get("title") or ""))


def _city(story: dict) -> str:
    return (story.get("dateline") or "").split(",")[0].strip().upper()


def _title_words(story: dict) -> set[str]:
    title = _TICKER.sub(" ", (story.get("title") or "").upper())
    return {w for w in _TITLE_WORD.findall(title) if not any(c.isdigit() for c in w)}


def _story_time(story: dict) -> datetime | None:
    date = story.get("date")
    if not date:
        return None
    return datetime.fromisoformat(str(date).replace("Z", "+00:00"))


def _paragraphs(body: str) -> list[str]:
    """Wire body -> paragraphs of single-spaced text, without the "Reuter" sign-off."""
    body = _SIGN_OFF.sub("", body.strip())
    paras = [" ".join(p.split()) for p in _PARA_SPLIT.split(body)]
    return [p for p in paras if p]


def _split_sentences(paragraph: str) -> list[str]:
    out: list[str] = []
    start = 0
    for m in re.finditer(r"[.!?][\"']?\s+(?=[\"'A-Z0-9<(])", paragraph):
        head = paragraph[start : m.start()]
        last = head.split()[-1].lower().rstrip(".") if head.split() else ""
        if last in _ABBREV or (len(last) == 1 and last.isalpha()):
            continue
        out.append(paragraph[start : m.end()].strip())
        start = m.end()
    tail = paragraph[start:].strip()
    if tail:
        out.append(tail)
    return out


def _word_count(text: str) -> int:
    return len(text.split())


# --------------------------------------------------------------------------------------
# Input records


def _original_url(story: dict) -> str:
    return f"https://{ORIGINAL_SOURCE}/article/{story['newid']}"


def original_record(story: dict) -> dict:
    """The Reuters story as it arrives on news.raw: dateline + wire body, sign-off kept."""
    body = story.get("body") or ""
    dateline = (story.get("dateline") or "").strip()
    if dateline:
        body = dateline + " " + body.lstrip()
    rec: dict[str, Any] = {
        "id": f"r{story['newid']}",
        "title": story.get("title") or "",
        "body": body,
        "url": _original_url(story),
        "source": ORIGINAL_SOURCE,
        "language": "en",
    }
    if story.get("date"):
        rec["published_at"] = story["date"]
    return rec


def _slug(title: str) -> str:
    words = re.findall(r"[a-z0-9]+", _TICKER.sub(" ", title.lower()))
    return "-".join(words[:8]) or "story"


def _title_case(title: str) -> str:
    small = {"a", "an", "and", "as", "at", "by", "for", "in", "of", "on", "or", "to", "vs"}
    words = []
    for i, w in enumerate(title.split()):
        lw = w.lower()
        if w.startswith("<") or (len(w) <= 4 and w.isupper() and "." in w):
            words.append(w)
        elif i > 0 and lw in small:
            words.append(lw)
        else:
            words.append(lw[:1].upper() + lw[1:])
    return " ".join(words)


def _sentence_case(title: str) -> str:
    t = _TICKER.sub("", title).lower()
    t = " ".join(t.split())
    return t[:1].upper() + t[1:]


# --- restyling (house style of a newspaper web site)

_MONEY = re.compile(
    r"\b(\d+(?:[.,]\d+)*(?:-\d+/\d+)?)\s+(mln|billion|bln)\s+(?:U\.S\.\s+)?(dlrs|dlr)\b",
    re.IGNORECASE,
)


def _thousands(text: str) -> str:
    return re.sub(
        r"(?<![\d.,/-])(\d{5,})(?![\d.,/-])",
        lambda m: f"{int(m.group(1)):,}",
        text,
    )


def _smart_quotes(text: str) -> str:
    text = re.sub(r'"(?=\w)', "\u201c", text)
    text = text.replace('"', "\u201d")
    return text.replace("'", "\u2019")


def _restyle_text(text: str, rng: random.Random) -> str:
    dollar_sign = rng.random() < 0.5
    if dollar_sign:
        text = _MONEY.sub(
            lambda m: f"${m.group(1)} {'million' if m.group(2).lower() == 'mln' else 'billion'}",
            text,
        )
    text = re.sub(r"\bmln\b", "million", text)
    text = re.sub(r"\bbln\b", "billion", text)
    text = re.sub(r"\bdlrs?\b", "dollars", text)
    text = re.sub(r"\bpct\b", "percent", text)
    text = re.sub(r"\bcts\b", "cents", text)
    text = re.sub(r"\bqtr\b", "quarter", text, flags=re.IGNORECASE)
    text = _TICKER.sub(lambda m: f"({m.group(1)})", text)
    text = _thousands(text)
    return _smart_quotes(text)


# --- light edits and machine-translation-like paraphrase

_SYNONYMS: dict[str, list[str]] = {
    "said": ["says", "stated", "reported"],
    "company": ["firm", "group"],
    "companies": ["firms", "groups"],
    "rise": ["increase", "gain"],
    "rose": ["climbed", "increased", "gained"],
    "fell": ["declined", "dropped", "slipped"],
    "increase": ["rise", "gain"],
    "decline": ["drop", "fall"],
    "expected": ["anticipated", "forecast"],
    "about": ["around", "roughly"],
    "also": ["additionally", "as well"],
    "buy": ["purchase", "acquire"],
    "bought": ["purchased", "acquired"],
    "sell": ["dispose of", "divest"],
    "sold": ["disposed of", "divested"],
    "plan": ["intend", "propose"],
    "plans": ["intends", "proposes"],
    "agreed": ["consented", "accepted"],
    "shares": ["stock", "equity"],
    "government": ["administration", "authorities"],
    "officials": ["representatives", "authorities"],
    "market": ["marketplace", "exchange"],
    "year": ["twelve months"],
    "told": ["informed", "said to"],
    "however": ["nevertheless", "though"],
    "because": ["since", "as"],
    "announced": ["declared", "disclosed"],
    "profit": ["earnings", "gain"],
    "loss": ["deficit", "shortfall"],
    "week": ["seven days"],
    "sources": ["people familiar with the matter"],
    "big": ["large", "major"],
    "major": ["big", "leading"],
    "trade": ["commerce", "trading"],
    "prices": ["rates", "quotations"],
    "price": ["rate", "quotation"],
    "increased": ["raised", "boosted"],
    "reduced": ["cut", "lowered"],
    "higher": ["up", "greater"],
    "lower": ["down", "smaller"],
    "agreement": ["accord", "deal"],
    "talks": ["negotiations", "discussions"],
    "begin": ["start", "commence"],
    "end": ["finish", "close"],
    "help": ["assist", "support"],
}

_FUNCTION_WORDS: dict[str, list[str]] = {
    "the": ["a", "this", ""],
    "a": ["one", "the", ""],
    "of": ["from", "for"],
    "in": ["within", "at"],
    "on": ["upon", "about"],
    "to": ["towards", "in order to"],
    "for": ["regarding", "towards"],
    "with": ["along with", "together with"],
    "and": ["as well as", "while"],
    "will": ["is going to", "shall"],
    "which": ["that", "what"],
    "that": ["which", ""],
    "is": ["was", "remains"],
    "was": ["has been", "is"],
    "by": ["via", "through"],
    "it": ["this", "he"],
    "its": ["his", "their"],
    "at": ["in", "by"],
    "from": ["of", "out of"],
    "but": ["however", "yet"],
    "has": ["had", "have"],
    "would": ["will", "should"],
}

_COMMENTARY = (
    "Analysts said the move had been widely anticipated.",
    "The announcement came after the close of trading.",
    "A spokesman declined to comment further.",
    "Market reaction was muted in early dealings.",
    "Further details were not immediately available.",
    "The news was in line with earlier indications.",
)


def _match_case(word: str, repl: str) -> str:
    if not repl:
        return repl
    if word.isupper() and len(word) > 1:
        return repl.upper()
    if word[:1].isupper():
        return repl[:1].upper() + repl[1:]
    return repl


def _replace_words(
    text: str, table: dict[str, list[str]], prob: float, rng: random.Random, limit: int | None
) -> tuple[str, int]:
    count = 0

    def sub(m: re.Match[str]) -> str:
        nonlocal count
        word = m.group(0)
        choices = table.get(word.lower())
        if not choices or (limit is not None and count >= limit) or rng.random() >= prob:
            return word
        count += 1
        return _match_case(word, rng.choice(choices))

    out = re.sub(r"[A-Za-z]+", sub, text)
    return re.sub(r"  +", " ", out).replace(" ,", ","), count


def _typo(word: str, rng: random.Random) -> str:
    if len(word) < 5:
        return word
    i = rng.randrange(1, len(word) - 2)
    if rng.random() < 0.5:
        return word[:i] + word[i + 1] + word[i] + word[i + 2 :]
    return word[:i] + word[i + 1 :]


def _add_typos(text: str, n: int, rng: random.Random) -> str:
    words = text.split(" ")
    idx = [i for i, w in enumerate(words) if w.isalpha() and w.islower() and len(w) >= 5]
    for i in rng.sample(idx, min(n, len(idx))):
        words[i] = _typo(words[i], rng)
    return " ".join(words)


# --- portal boilerplate of our own writing

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

_SITE_NAMES = {
    "wire.example": "Wire Example",
    "dailyglobe.example": "Daily Globe",
    "portal.example": "Portal News",
    "metrotimes.example": "Metro Times",
    "newsdigest.example": "News Digest",
}


def _html_page(title: str, paragraphs: Sequence[str], source: str, rng: random.Random) -> str:
    site = _SITE_NAMES.get(source, "Portal News")
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


def _format_time(when: datetime, rng: random.Random) -> str:
    style = rng.randrange(3)
    if style == 0:
        return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    if style == 1:
        return when.astimezone(timezone(timedelta(hours=rng.choice([-5, 1, 2, 9])))).isoformat()
    return format_datetime(when.astimezone(UTC))


def _dateline_parts(story: dict) -> tuple[str, str]:
    dateline = (story.get("dateline") or "").strip()
    city = dateline.split(",")[0].strip() if dateline else ""
    return dateline, city


def make_rewrite(story: dict, kind: str, rng: random.Random, *, index: int = 1) -> dict:
    """A republisher's version of a Reuters ``story`` as an input record for news.raw.

    ``kind`` is one of :data:`KINDS`. The record has ``id`` ``r{newid}-rw{index}-{kind}``,
    ``title``, ``body`` (or ``html`` for ``html_page``), ``url``, ``source`` and a
    ``published_at`` 3 minutes to 6 hours after the original.
    """
    if kind not in KINDS:
        raise ValueError(f"unknown rewrite kind {kind!r}; expected one of {KINDS}")
    original = original_record(story)
    title = original["title"]
    dateline, city = _dateline_parts(story)
    paras = _paragraphs(story.get("body") or "")
    if not paras:
        raise ValueError(f"story {story.get('newid')} has no body text")
    source = rng.choice(REWRITE_SOURCES)
    site = _SITE_NAMES[source]
    base_time = _story_time(story) or datetime(1987, 3, 1, tzinfo=UTC)
    when = base_time + timedelta(minutes=rng.randint(3, 360), seconds=rng.randint(0, 59))
    url = f"https://{source}/news/{when:%Y/%m/%d}/{_slug(title)}-{story['newid']}"
    rec: dict[str, Any] = {
        "id": f"r{story['newid']}-rw{index}-{kind}",
        "source": source,
        "url": url,
        "published_at": _format_time(when, rng),
    }
    lead = f"{dateline} {paras[0]}" if dateline else paras[0]

    if kind == "resend":
        rec["title"] = title
        rec["body"] = original["body"]
        rec["source"] = rng.choice(("wire.example", "newsdigest.example"))
    elif kind == "html_page":
        page_title = _title_case(title) if rng.random() < 0.6 else title
        rec["title"] = f"{page_title} | {site}"
        rec["html"] = _html_page(page_title, [lead, *paras[1:]], source, rng)
    elif kind == "restyle":
        t = _title_case(title)
        rec["title"] = f"UPDATE 1-{t}" if rng.random() < 0.5 else f"{t} | {site}"
        new_paras = [_restyle_text(p, rng) for p in paras]
        if city and rng.random() < 0.6:
            new_paras[0] = f"{city.title()} ({site}) - {new_paras[0]}"
        byline = rng.choice(("By Staff Writer", f"By a {site} reporter", "By Our Business Desk"))
        year = base_time.year
        rec["body"] = "\n\n".join(
            [byline, *new_paras, f"\u00a9 {year} {site}. All rights reserved."]
        )
    elif kind == "truncate":
        sentences = [s for p in paras for s in _split_sentences(p)]
        n = len(sentences)
        if n >= 3:
            kept = sentences[: min(n - 1, max(2, round(n * rng.uniform(0.4, 0.7))))]
        elif n == 2:
            kept = sentences[:1]
        else:  # one-sentence story: cut it after its first clauses
            words = sentences[0].split()
            kept = [" ".join(words[: max(1, min(len(words) - 1, int(len(words) * 0.6)))])]
        text = " ".join(kept)
        rec["title"] = title
        rec["body"] = f"{dateline} {text}" if dateline else text
    elif kind == "light_edit":
        sentences = [s for p in paras for s in _split_sentences(p)]
        n_words = sum(_word_count(x) for x in sentences)
        n_subs = min(6, max(2, n_words // 40))
        edited, _ = _replace_words(" ".join(sentences), _SYNONYMS, 0.5, rng, n_subs)
        sentences = _split_sentences(edited) or [edited]
        if len(sentences) >= 4 and rng.random() < 0.5:
            del sentences[rng.randrange(1, len(sentences))]
        else:
            sentences.insert(rng.randint(1, len(sentences)), rng.choice(_COMMENTARY))
        text = _add_typos(" ".join(sentences), rng.randint(1, 1 + n_words // 150), rng)
        rec["title"] = _title_case(title) if rng.random() < 0.5 else title
        rec["body"] = f"{dateline} {text}" if dateline else text
    elif kind == "translate_like":
        out_paras = []
        for p in paras:
            p = _restyle_text(p, rng).replace("\u2019", "'")
            p, _ = _replace_words(p, _SYNONYMS, 0.35, rng, None)
            p, _ = _replace_words(p, _FUNCTION_WORDS, 0.2, rng, None)
            out_paras.append(p)
        if city:
            out_paras[0] = f"{city.title()}. {out_paras[0]}"
        t, _ = _replace_words(_sentence_case(title), _SYNONYMS, 0.5, rng, None)
        rec["title"] = t
        rec["body"] = "\n\n".join(out_paras)
    elif kind == "boilerplate_insert":
        if rng.random() < 0.5:
            head, caption, count = rng.choice(_GALLERIES)
            block = (
                f"{head}\n{caption}\n\n"
                "Pictures from our photographers and agencies, updated through the day.\n\n"
                f"{count}"
            )
        else:
            items = "\n".join(f"- {r}" for r in rng.sample(_RELATED, 3))
            block = f"Read more:\n{items}"
        body_paras = [lead, *paras[1:]]
        cut = max(1, len(body_paras) // 2)
        rec["title"] = title
        rec["body"] = "\n\n".join([*body_paras[:cut], block, *body_paras[cut:]])
        rec["url"] = url + f"?utm_source=rss&utm_medium=feed&utm_campaign={rng.randrange(10**6)}"
    return rec


# --------------------------------------------------------------------------------------
# Similar pairs, true clusters and hard negatives


def _similar_pairs(
    sets: Sequence[frozenset[str]], threshold: float
) -> dict[tuple[int, int], float]:
    """Exact all-pairs Jaccard >= threshold via prefix filtering (rarest tokens first)."""
    freq: dict[str, int] = defaultdict(int)
    for s in sets:
        for t in s:
            freq[t] += 1
    index: dict[str, list[int]] = defaultdict(list)
    out: dict[tuple[int, int], float] = {}
    for i, s in enumerate(sets):
        if not s:
            continue
        ordered = sorted(s, key=lambda t: (freq[t], t))
        prefix = len(s) - math.ceil(threshold * len(s)) + 1
        candidates: set[int] = set()
        for t in ordered[:prefix]:
            candidates.update(index[t])
            index[t].append(i)
        for j in candidates:
            other = sets[j]
            small, large = sorted((len(s), len(other)))
            if small < threshold * large:
                continue
            jac = _jaccard(s, other)
            if jac >= threshold:
                out[(j, i)] = jac
    return out


@dataclass
class _Prepared:
    stories: list[dict]
    sh5: list[frozenset[str]]
    numbers: list[frozenset[str]]

    @classmethod
    def of(cls, stories: Sequence[dict]) -> _Prepared:
        lst = list(stories)
        return cls(
            lst,
            [_shingles(s.get("body") or "") for s in lst],
            [_numbers(s.get("body") or "") for s in lst],
        )


def _true_groups(prep: _Prepared) -> list[int]:
    """Union-find root (lowest index) per story: re-sends of one story share a root.

    Re-sends: body word-5-shingle Jaccard >= 0.9 and the same set of numbers, unless the
    titles name different tickers (identical templated bodies of two companies).
    """
    parent = list(range(len(prep.stories)))

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for (i, j), _jac in _similar_pairs(prep.sh5, 0.9).items():
        ti = frozenset(_TICKER.findall(prep.stories[i].get("title") or ""))
        tj = frozenset(_TICKER.findall(prep.stories[j].get("title") or ""))
        if ti and tj and ti != tj:
            continue  # same boilerplate body, different companies: different news
        if prep.numbers[i] == prep.numbers[j]:
            ri, rj = find(i), find(j)
            if ri != rj:
                parent[max(ri, rj)] = min(ri, rj)
    return [find(i) for i in range(len(parent))]


def _is_substitution(a: frozenset[str], b: frozenset[str]) -> bool:
    return bool(a - b) and bool(b - a)


def _looks_like_update(a: dict, b: dict, jac5: float) -> bool:
    """True if b may be an update/correction/re-titled re-send of a (same story)."""
    ta, tb = _title_words(a), _title_words(b)
    title_j = len(ta & tb) / max(1, len(ta | tb))
    same_title = (
        " ".join((a.get("title") or "").split()).upper()
        == " ".join((b.get("title") or "").split()).upper()
    )
    da, db = _story_time(a), _story_time(b)
    gap = abs((da - db).total_seconds()) if da is not None and db is not None else math.inf
    if same_title and (jac5 >= 0.9 or gap < 7 * 86400):
        return True
    same_city = bool(_city(a)) and _city(a) == _city(b)
    return gap < 86400 and (title_j >= 0.4 or same_city)


def _distinct_news(a: dict, b: dict, jac5: float) -> bool:
    """Templated look-alikes that are different news (the hard-negative criteria)."""
    na, nb = _numbers(a.get("body") or ""), _numbers(b.get("body") or "")
    ea, eb = _entities(a), _entities(b)
    xa, xb = _title_tickers(a), _title_tickers(b)
    if not (_is_substitution(na, nb) or _is_substitution(ea, eb) or (xa and xb and xa != xb)):
        return False
    return not _looks_like_update(a, b, jac5)


def find_hard_negatives(
    stories: Sequence[dict], n: int, rng: random.Random
) -> list[tuple[dict, dict]]:
    """Pairs of real, distinct Reuters stories that look alike but are different news.

    Criteria (all must hold):

    1. Candidates come from buckets: same first three title words (tickers removed), same
       first four body words with numbers masked (templates such as ``Qtly div # cts``),
       same first topic; all pairs inside a bucket (chunks of 500) are compared exactly.
    2. Look-alike: Jaccard of the bodies' word 3-shingle sets (lower-case, tickers kept as
       words) >= 0.5.
    3. Different news: the two bodies *substitute* slot values: each has a number the other
       lacks, or each has a company/entity token (capitalized word that is not
       sentence-initial; ticker tags do not count, wires add and drop them) the other lacks;
       or both titles carry tickers and they differ. One-sided additions do not count:
       those are updates that add detail.
    4. Not a re-send, correction or update of one story: excluded are pairs with the same
       title that are 5-shingle Jaccard >= 0.9 or published within 7 days of each other,
       and pairs published within 24 hours of each other whose title words (tickers and
       numbers removed) have Jaccard >= 0.4 or whose datelines name the same city.

    Returns up to ``n`` pairs (earlier story first), sampled with ``rng``; fewer if the
    corpus holds fewer.
    """
    lst = [s for s in stories if (s.get("body") or "").strip()]
    sh3 = [_shingles(s.get("body") or "", 3) for s in lst]
    buckets: dict[str, list[int]] = defaultdict(list)
    for i, s in enumerate(lst):
        title = _TICKER.sub(" ", s.get("title") or "").split()
        buckets["T:" + " ".join(title[:3]).upper()].append(i)
        words = _norm_tokens(s.get("body") or "")[:4]
        masked = ["#" if any(c.isdigit() for c in w) else w for w in words]
        buckets["B:" + " ".join(masked)].append(i)
        for topic in (s.get("topics") or [])[:1]:
            buckets["P:" + topic].append(i)
    found: dict[tuple[int, int], float] = {}
    for members in buckets.values():
        for start in range(0, len(members), 500):
            for i, j in combinations(members[start : start + 500], 2):
                key = (min(i, j), max(i, j))
                if key in found:
                    continue
                jac = _jaccard(sh3[i], sh3[j])
                if jac >= 0.5:
                    found[key] = jac
    pairs: list[tuple[dict, dict]] = []
    for i, j in sorted(found):
        a, b = lst[i], lst[j]
        jac5 = _jaccard(_shingles(a.get("body") or ""), _shingles(b.get("body") or ""))
        if _distinct_news(a, b, jac5):
            ta = _story_time(a) or datetime.min.replace(tzinfo=UTC)
            tb = _story_time(b) or datetime.min.replace(tzinfo=UTC)
            pairs.append((a, b) if ta <= tb else (b, a))
    rng.shuffle(pairs)
    return pairs[:n]


# --------------------------------------------------------------------------------------
# Stream and labels


@dataclass
class Labels:
    """Ground truth of a stream: true cluster and kind of each record id, stream order."""

    cluster: dict[str, str] = field(default_factory=dict)
    kind: dict[str, str] = field(default_factory=dict)
    order: list[str] = field(default_factory=list)
    hard_negative_pairs: list[tuple[str, str]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "cluster": self.cluster,
            "kind": self.kind,
            "order": self.order,
            "hard_negative_pairs": [list(p) for p in self.hard_negative_pairs],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Labels:
        return cls(
            cluster=dict(data["cluster"]),
            kind=dict(data["kind"]),
            order=list(data["order"]),
            hard_negative_pairs=[(a, b) for a, b in data["hard_negative_pairs"]],
        )


def build_stream(
    stories: Sequence[dict],
    n_originals: int = 1500,
    rewrites_per_original: float = 1.5,
    n_hard_negative_pairs: int = 300,
    seed: int = 0,
) -> tuple[list[dict], Labels]:
    """A labeled input stream in publication order (see the module docstring).

    Each original gets ``floor(rewrites_per_original)`` rewrites plus one more with the
    probability of the fractional part, of distinct kinds. Deterministic for a seed.
    """
    rng = random.Random(seed)
    dated = [s for s in stories if s.get("date") and _word_count(s.get("body") or "") >= 5]
    pool = [s for s in dated if _word_count(s.get("body") or "") >= 30]
    hard = find_hard_negatives(dated, n_hard_negative_pairs, random.Random(seed + 1))
    originals = rng.sample(pool, min(n_originals, len(pool)))

    chosen: dict[int, dict] = {}
    for s in originals:
        chosen[s["newid"]] = s
    for a, b in hard:
        chosen.setdefault(a["newid"], a)
        chosen.setdefault(b["newid"], b)
    ordered = sorted(chosen.values(), key=lambda s: (s["date"], s["newid"]))
    prep = _Prepared.of(ordered)
    roots = _true_groups(prep)

    # Leave out stories that look like an update/correction of an earlier chosen one.
    dropped: set[int] = set()
    for (i, j), jac in sorted(_similar_pairs(prep.sh5, 0.5).items()):
        if roots[i] == roots[j] or i in dropped:
            continue
        if not _distinct_news(ordered[i], ordered[j], jac):
            dropped.add(j)
    hard_ids = [
        (a["newid"], b["newid"])
        for a, b in hard
        if a["newid"] not in {ordered[k]["newid"] for k in dropped}
        and b["newid"] not in {ordered[k]["newid"] for k in dropped}
    ]
    index_of = {s["newid"]: k for k, s in enumerate(ordered)}
    hard_ids = [(a, b) for a, b in hard_ids if roots[index_of[a]] != roots[index_of[b]]]
    original_ids = {s["newid"] for s in originals}

    labels = Labels()
    timed: list[tuple[datetime, int, dict]] = []
    seq = 0
    whole = int(rewrites_per_original)
    frac = rewrites_per_original - whole
    for k, story in enumerate(ordered):
        if k in dropped:
            continue
        rec = original_record(story)
        cluster = f"r{ordered[roots[k]]['newid']}"
        labels.cluster[rec["id"]] = cluster
        labels.kind[rec["id"]] = "original" if roots[k] == k else "corpus_duplicate"
        when = _story_time(story)
        assert when is not None
        timed.append((when, seq, rec))
        seq += 1
        if story["newid"] not in original_ids:
            continue
        n_rw = whole + (1 if rng.random() < frac else 0)
        for idx, kind in enumerate(rng.sample(KINDS, min(n_rw, len(KINDS))), start=1):
            rw = make_rewrite(story, kind, rng, index=idx)
            labels.cluster[rw["id"]] = cluster
            labels.kind[rw["id"]] = kind
            timed.append((_parse_time(rw["published_at"]), seq, rw))
            seq += 1
    timed.sort(key=lambda t: (t[0], t[1]))
    records = [r for _, _, r in timed]
    labels.order = [r["id"] for r in records]
    position = {rid: i for i, rid in enumerate(labels.order)}
    for a, b in hard_ids:
        ia, ib = f"r{a}", f"r{b}"
        if ia in position and ib in position:
            pair = (ia, ib) if position[ia] < position[ib] else (ib, ia)
            labels.hard_negative_pairs.append(pair)
            for rid in pair:
                if labels.kind[rid] == "original" and int(rid[1:]) not in original_ids:
                    labels.kind[rid] = "hard_negative"
    return records, labels


def _parse_time(value: str) -> datetime:
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        from email.utils import parsedate_to_datetime

        return parsedate_to_datetime(value)


# --------------------------------------------------------------------------------------
# Scoring


@dataclass
class Scores:
    tp: int = 0
    fp: int = 0
    fn: int = 0
    tn: int = 0
    precision: float = 0.0
    recall: float = 0.0
    f1: float = 0.0
    hard_negative_pairs: int = 0
    hard_negative_fp: int = 0
    hard_negative_fp_rate: float = 0.0
    per_kind: dict[str, tuple[int, int]] = field(default_factory=dict)
    records: int = 0
    seconds: float = 0.0

    def per_kind_recall(self) -> dict[str, float]:
        return {k: (f / t if t else float("nan")) for k, (f, t) in self.per_kind.items()}

    def meets_goal(self) -> bool:
        return self.f1 >= GOAL_F1 and self.hard_negative_fp_rate <= GOAL_HARD_NEGATIVE_FP


def score(decisions: dict[str, str | None], labels: Labels) -> Scores:
    """Pairwise-decision metrics of ``decisions`` (record id -> duplicate_of or None).

    Records absent from ``decisions`` (dead letters) are excluded; "earlier" means earlier
    in the stream among scored records. A record is a true positive if it is marked a
    duplicate of a record of its own true cluster, a false positive if marked a duplicate
    of another cluster's record (or of an unknown id, or with no earlier member of its
    cluster), a false negative if not marked although an earlier member of its cluster
    exists, a true negative otherwise.
    """
    s = Scores()
    seen_clusters: set[str] = set()
    per_kind_found: dict[str, int] = defaultdict(int)
    per_kind_total: dict[str, int] = defaultdict(int)
    for rid in labels.order:
        if rid not in decisions:
            continue
        s.records += 1
        cluster = labels.cluster[rid]
        has_earlier = cluster in seen_clusters
        seen_clusters.add(cluster)
        target = decisions[rid]
        kind = labels.kind.get(rid, "original")
        if has_earlier:
            per_kind_total[kind] += 1
        if target is None:
            if has_earlier:
                s.fn += 1
            else:
                s.tn += 1
            continue
        if has_earlier and labels.cluster.get(target) == cluster:
            s.tp += 1
            per_kind_found[kind] += 1
        else:
            s.fp += 1
    s.precision = s.tp / (s.tp + s.fp) if s.tp + s.fp else 1.0
    s.recall = s.tp / (s.tp + s.fn) if s.tp + s.fn else 1.0
    pr = s.precision + s.recall
    s.f1 = 2 * s.precision * s.recall / pr if pr else 0.0
    for a, b in labels.hard_negative_pairs:
        if a not in decisions or b not in decisions:
            continue
        s.hard_negative_pairs += 1
        target = decisions[b]
        if target is not None and (target == a or labels.cluster.get(target) == labels.cluster[a]):
            s.hard_negative_fp += 1
    if s.hard_negative_pairs:
        s.hard_negative_fp_rate = s.hard_negative_fp / s.hard_negative_pairs
    s.per_kind = {k: (per_kind_found[k], per_kind_total[k]) for k in sorted(per_kind_total)}
    return s


# --------------------------------------------------------------------------------------
# Naive baseline

_TAG = re.compile(r"<[^>]*>")


def _naive_text(rec: dict) -> str:
    body = rec.get("body")
    if not isinstance(body, str) or not body.strip():
        body = _TAG.sub(" ", rec.get("html") or "")
    return f"{rec.get('title') or ''} {body}"


def naive_decisions(records: Iterable[dict]) -> dict[str, str | None]:
    """Word 5-shingles (lower-case, whitespace split), MinHash 128, LSH 0.8, first seen wins.

    Every record is indexed; a record with candidates is a duplicate of the root (first
    seen member) of the earliest-seen candidate.
    """
    from datasketch import MinHash, MinHashLSH

    lsh = MinHashLSH(threshold=0.8, num_perm=128)
    first_seen: dict[str, int] = {}
    root: dict[str, str] = {}
    out: dict[str, str | None] = {}
    for n, rec in enumerate(records):
        rid = str(rec["id"])
        words = _naive_text(rec).lower().split()
        grams = {" ".join(words[i : i + 5]) for i in range(max(1, len(words) - 4))}
        mh = MinHash(num_perm=128)
        mh.update_batch([g.encode("utf-8") for g in grams])
        cands = [c for c in lsh.query(mh) if c in first_seen]
        if cands:
            earliest = min(cands, key=lambda c: first_seen[c])
            out[rid] = root[earliest]
            root[rid] = root[earliest]
        else:
            out[rid] = None
            root[rid] = rid
        if rid not in first_seen:
            first_seen[rid] = n
            lsh.insert(rid, mh)
    return out


# --------------------------------------------------------------------------------------
# Running systems


System = Callable[[list[dict]], dict[str, str | None]]


def evaluate(system: System, records: list[dict], labels: Labels) -> Scores:
    """Run ``system`` on the stream and score its decisions."""
    start = time.perf_counter()
    decisions = system(records)
    elapsed = time.perf_counter() - start
    s = score(decisions, labels)
    s.seconds = elapsed
    return s


def _outcome_field(outcome: Any, *names: str) -> Any:
    for name in names:
        if isinstance(outcome, dict) and name in outcome:
            return outcome[name]
        if hasattr(outcome, name):
            return getattr(outcome, name)
    return None


def _files_io_system() -> System | None:
    """Adapter to ``streamer.files_io.dedup_records`` if the project provides it."""
    try:
        files_io = importlib.import_module("streamer.files_io")
    except ImportError:
        return None
    dedup = getattr(files_io, "dedup_records", None)
    if dedup is None:
        return None

    def settings_arg() -> list[Any]:
        params = inspect.signature(dedup).parameters
        p = params.get("settings")
        if p is None or p.default is not inspect.Parameter.empty:
            return []
        for mod_name in ("streamer.settings", "streamer.config"):
            try:
                mod = importlib.import_module(mod_name)
            except ImportError:
                continue
            cls = getattr(mod, "Settings", None)
            if cls is not None:
                return [cls()]
        raise RuntimeError("dedup_records needs settings but no streamer Settings class found")

    def system(records: list[dict]) -> dict[str, str | None]:
        out: dict[str, str | None] = {}
        for outcome in dedup(records, *settings_arg()):
            status = _outcome_field(outcome, "outcome", "topic", "kind", "status", "route")
            status = str(getattr(status, "value", status) or "")
            if "dead" in status.lower():
                continue
            rid = _outcome_field(outcome, "article_id", "id", "record_id")
            payload: Any = None
            value = _outcome_field(outcome, "value")
            if isinstance(value, bytes | str):
                try:
                    payload = json.loads(value)
                except ValueError:
                    payload = None
            if rid is None and isinstance(payload, dict):
                rid = payload.get("id")
            if rid is None:
                continue
            dup = _outcome_field(outcome, "duplicate_of")
            decision = _outcome_field(outcome, "decision")
            if dup is None and decision is not None:
                dup = _outcome_field(decision, "duplicate_of")
            if dup is None and isinstance(payload, dict):
                dup = payload.get("duplicate_of")
            out[str(rid)] = None if dup is None else str(dup)
        return out

    return system


def _fmt(x: float) -> str:
    return "   n/a" if x != x else f"{x:6.3f}"


def format_table(results: dict[str, Scores], labels: Labels) -> str:
    names = list(results)
    lines = []
    w = 22
    header = f"{'':{w}}" + "".join(f"{n:>18}" for n in names)
    lines.append(header)
    lines.append("-" * len(header))

    def row(label: str, values: list[str]) -> None:
        lines.append(f"{label:{w}}" + "".join(f"{v:>18}" for v in values))

    row("precision", [_fmt(results[n].precision) for n in names])
    row("recall", [_fmt(results[n].recall) for n in names])
    row("F1", [_fmt(results[n].f1) for n in names])
    row(
        "hard-negative FP rate",
        [
            f"{results[n].hard_negative_fp_rate:.3f} ({results[n].hard_negative_fp}/"
            f"{results[n].hard_negative_pairs})"
            for n in names
        ],
    )
    row("TP / FP / FN", [f"{r.tp}/{r.fp}/{r.fn}" for r in results.values()])
    row("records scored", [str(r.records) for r in results.values()])
    row("seconds", [f"{r.seconds:.1f}" for r in results.values()])
    kinds = sorted({k for r in results.values() for k in r.per_kind})
    lines.append("recall by kind:")
    for k in kinds:
        cells = []
        for n in names:
            f_, t_ = results[n].per_kind.get(k, (0, 0))
            cells.append(f"{f_ / t_:.3f} ({f_}/{t_})" if t_ else "n/a")
        row(f"  {k}", cells)
    for n in names:
        r = results[n]
        verdict = "MET" if r.meets_goal() else "NOT met"
        lines.append(
            f"goal (F1 >= {GOAL_F1}, hard-negative FP <= {GOAL_HARD_NEGATIVE_FP:.0%}) "
            f"for {n}: {verdict}"
        )
    return "\n".join(lines)


def _load_decisions(path: Path) -> dict[str, str | None]:
    out: dict[str, str | None] = {}
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                obj = json.loads(line)
                out[str(obj["id"])] = obj.get("duplicate_of")
    return out


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="python -m streamer.evaluation", description=__doc__.split("\n\n")[0]
    )
    ap.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    ap.add_argument("--originals", type=int, default=1500)
    ap.add_argument("--rewrites", type=float, default=1.5, help="mean rewrites per original")
    ap.add_argument("--hard-negatives", type=int, default=300)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument(
        "--write-stream",
        type=Path,
        help="write the stream as JSONL to PATH and its labels to PATH.labels.json",
    )
    ap.add_argument("--labels", type=Path, help="score saved decisions against these labels")
    ap.add_argument(
        "--decisions",
        type=Path,
        action="append",
        help="JSONL of published records ({id, duplicate_of}), e.g. the clean and "
        "duplicates outputs of the CLI; repeatable; needs --labels",
    )
    ap.add_argument("--no-system", action="store_true", help="run the naive baseline only")
    args = ap.parse_args(argv)

    if args.labels:
        if not args.decisions:
            ap.error("--labels needs --decisions")
        labels = Labels.from_json(json.loads(args.labels.read_text(encoding="utf-8")))
        decisions: dict[str, str | None] = {}
        for p in args.decisions:
            decisions.update(_load_decisions(p))
        print(format_table({"decisions": score(decisions, labels)}, labels))
        return 0

    t0 = time.perf_counter()
    try:
        stories = load_reuters(args.corpus)
    except CorpusMissingError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    records, labels = build_stream(
        stories, args.originals, args.rewrites, args.hard_negatives, args.seed
    )
    built = time.perf_counter() - t0
    n_rw = sum(1 for k in labels.kind.values() if k in KINDS)
    print(
        f"stream: {len(records)} records ({len(records) - n_rw} corpus stories, {n_rw} "
        f"rewrites, {len(labels.hard_negative_pairs)} hard-negative pairs, "
        f"{len(set(labels.cluster.values()))} true clusters); built in {built:.1f}s"
    )
    if args.write_stream:
        path: Path = args.write_stream
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("w", encoding="utf-8") as fh:
            for rec in records:
                fh.write(json.dumps(rec, ensure_ascii=False) + "\n")
        labels_path = path.with_name(path.name + ".labels.json")
        labels_path.write_text(json.dumps(labels.to_json()), encoding="utf-8")
        print(f"wrote {path} and {labels_path}")

    results: dict[str, Scores] = {}
    system = None if args.no_system else _files_io_system()
    if system is not None:
        try:
            results["system"] = evaluate(system, records, labels)
        except Exception as exc:
            print(f"system run failed: {type(exc).__name__}: {exc}", file=sys.stderr)
    elif not args.no_system:
        print("system: streamer.files_io.dedup_records not available; naive baseline only")
    results["naive"] = evaluate(naive_decisions, records, labels)
    print(format_table(results, labels))
    print(f"total time {time.perf_counter() - t0:.1f}s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
