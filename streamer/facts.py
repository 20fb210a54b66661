"""The facts two texts must share before they may be called the same story.

Templated wire items (dividends, earnings, price changes, bond issues) are
near-identical text about different news: the words agree, the numbers and the
names do not. These extractors pull out exactly those numbers and names so the
index can refuse such merges, whatever the shingle similarity says.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from streamer.models import Facts

_NUMBER_TOKEN = re.compile(r"\d")
_TICKER = re.compile(r"<([A-Z0-9][A-Z0-9.\-]{0,15})>")
# Capitalized words and runs of them ("Kumagai Gumi", "Cheung Kong"), and all-caps acronyms.
_NAME = re.compile(r"\b(?:[A-Z][a-z]+(?:[-'][A-Z]?[a-z]+)*|[A-Z]{2,6})\b")
_SENTENCE_START = re.compile(r"(?:^|[.!?:;\"“”]\s+|\n\s*)$")

# Capitalized words that carry no identity: sentence furniture, months, days,
# wire vocabulary. Kept short on purpose; a missing word costs little because
# the guard compares sets with a tolerance.
_NOT_NAMES = frozenset(
    ["the", "a", "an", "and", "but", "or", "of", "in", "on", "at", "to", "for", "from", "by", "with", "as", "it", "its", "he", "she", "they", "we", "i", "this", "that", "these", "those", "there", "their", "his", "her", "our", "you", "your", "said", "says", "will", "would", "could", "should", "may", "might", "can", "also", "however", "meanwhile", "while", "after", "before", "since", "mr", "mrs", "ms", "dr", "inc", "ltd", "co", "corp", "plc", "llc", "company", "group", "january", "february", "march", "april", "may", "june", "july", "august", "september", "october", "november", "december", "jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday", "reuter", "reuters", "update", "corrected", "ap", "afp"]
)


def numbers_from_tokens(tokens: Iterable[str]) -> list[str]:
    """Canonical number tokens, deduplicated, in first-seen order.

    The tokens come from ``normalize.fingerprint_tokens``, which already puts
    ``1.5 mln dlrs`` and ``$1.5 million`` into one form, so plain set equality
    works here.
    """
    seen: dict[str, None] = {}
    for tok in tokens:
        if _NUMBER_TOKEN.search(tok):
            seen.setdefault(tok, None)
    return list(seen)


def entities_from_text(text: str) -> list[str]:
    """Tickers and proper names, case-folded, deduplicated, in first-seen order.

    A capitalized word at the start of a sentence is ambiguous (it may be any
    word), so it counts only when it also appears capitalized elsewhere.
    """
    seen: dict[str, None] = {}
    for ticker in _TICKER.findall(text):
        seen.setdefault("$" + ticker.lower(), None)
    sentence_initial: set[str] = set()
    inner: set[str] = set()
    for m in _NAME.finditer(text):
        word = m.group(0)
        key = word.casefold()
        if key in _NOT_NAMES:
            continue
        if _SENTENCE_START.search(text, 0, m.start()) is not None:
            sentence_initial.add(key)
            continue
        inner.add(key)
        seen.setdefault(key, None)
    return [k for k in seen if k in inner or k.startswith("$")]


def extract_facts(title: str, text: str, fp_tokens: Iterable[str]) -> Facts:
    """Facts of one article: numbers from fingerprint tokens, names from display text.

    Titles in the wire corpus are all caps, which would make every word look
    like a name, so names come from the title only when it is mixed case.
    """
    name_source = text if title.isupper() else f"{title}.\n{text}"
    return Facts(numbers=numbers_from_tokens(fp_tokens), entities=entities_from_text(name_source))
