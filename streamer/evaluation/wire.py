"""A Reuters-21578 story as the evaluation reads it: fields, facts and its input record.

The corpus keeps the old wire conventions (``<TICKER>`` tags, a dateline, a
trailing ``Reuter``, paragraphs indented by spaces); these functions read them
so that the rewrites and the labels start from what the wire actually sent.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from streamer.evaluation.similarity import TICKER

ORIGINAL_SOURCE = "reuters.example"

_NUMBER = re.compile(r"\d+(?:[.,:/-]\d+)*")
_CAPWORD = re.compile(r"(?<![\w'])[A-Z][A-Za-z&'.-]*[A-Za-z]")
_TITLE_WORD = re.compile(r"[A-Z0-9][A-Z0-9'&.-]*")
_PARA_SPLIT = re.compile(r"\n[ \t]{2,}|\n\s*\n")
_SIGN_OFF = re.compile(r"\s*\bREUTER\b\s*$", re.IGNORECASE)
_SENTENCE_END = re.compile(r"[.!?][\"']?\s+(?=[\"'A-Z0-9<(])")
# A full stop after these ends no sentence ("Acme Co. said", "Gary, Ind., makes").
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


def numbers(text: str) -> frozenset[str]:
    return frozenset(_NUMBER.findall(text))


def entities(story: dict) -> frozenset[str]:
    """Company/entity tokens: capitalized words that are not sentence- or paragraph-initial
    (ticker tags reduced to their words, as wires add and drop them between versions)."""
    text = TICKER.sub(lambda m: " " + m.group(1) + " ", story.get("body") or "")
    out: set[str] = set()
    for m in _CAPWORD.finditer(text):
        before = text[: m.start()].rstrip(" ")
        if not before or before[-1] in '.!?"\n(':
            continue
        out.add(m.group(0).rstrip("."))
    for ticker in TICKER.findall(story.get("body") or ""):
        out.difference_update(ticker.split())
    return frozenset(out)


def title_tickers(story: dict) -> frozenset[str]:
    return frozenset(t.strip() for t in TICKER.findall(story.get("title") or ""))


def city(story: dict) -> str:
    return (story.get("dateline") or "").split(",")[0].strip().upper()


def title_words(story: dict) -> set[str]:
    """Title words without tickers and without figures: what two versions' titles share."""
    title = TICKER.sub(" ", (story.get("title") or "").upper())
    return {w for w in _TITLE_WORD.findall(title) if not any(c.isdigit() for c in w)}


def story_time(story: dict) -> datetime | None:
    date = story.get("date")
    if not date:
        return None
    return datetime.fromisoformat(str(date).replace("Z", "+00:00"))


def paragraphs(body: str) -> list[str]:
    """Wire body -> paragraphs of single-spaced text, without the "Reuter" sign-off."""
    body = _SIGN_OFF.sub("", body.strip())
    paras = [" ".join(p.split()) for p in _PARA_SPLIT.split(body)]
    return [p for p in paras if p]


def split_sentences(paragraph: str) -> list[str]:
    out: list[str] = []
    start = 0
    for m in _SENTENCE_END.finditer(paragraph):
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


def word_count(text: str) -> int:
    return len(text.split())


def original_url(story: dict) -> str:
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
        "url": original_url(story),
        "source": ORIGINAL_SOURCE,
        "language": "en",
    }
    if story.get("date"):
        rec["published_at"] = story["date"]
    return rec
