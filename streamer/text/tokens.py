"""Fingerprint tokens: the words of a text as every outlet would spell them.

Case, accents, punctuation, acronym dots, possessives and the spelling of numbers,
currencies and units differ between outlets and say nothing about the story; the
tokens keep only what does. The fingerprint shingles them and the facts read their
numbers, so both see one spelling.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from streamer.text.special_phrases import special_sub

_WORD_SYNONYMS = {
    "percent": "pct",
    "pct": "pct",
    "percentage": "pct",
    "mln": "million",
    "mn": "million",
    "millions": "million",
    "bln": "billion",
    "bn": "billion",
    "billions": "billion",
    "tln": "trillion",
    "dlr": "usd",
    "dlrs": "usd",
    "dollar": "usd",
    "dollars": "usd",
    "usd": "usd",
    "cts": "cents",
    "cent": "cents",
    "ct": "cents",
    "stg": "gbp",
    "sterling": "gbp",
    "yen": "jpy",
    "euro": "eur",
    "euros": "eur",
}

WORD_RE = re.compile(r"[^\W_]+(?:\.[^\W_]+)*")
ASCII_WORD_RE = re.compile(r"[A-Za-z0-9]+(?:\.[A-Za-z0-9]+)*")
ACRONYM_RE = re.compile(r"(?<![^\W_])(?:[^\W\d_]\.){2,}")
# Every acronym match at p has ".x." (a letter between two dots) at p + 1. This
# literal-first pattern finds those in a fraction of the time ACRONYM_RE takes to
# scan a text, and most texts have none.
ACRONYM_HINT_RE = re.compile(r"\.[^\W\d_]\.")


def join_acronyms(s: str) -> str:
    """``ACRONYM_RE.sub`` dropping the dots of each match, trying only where one can start.

    A match starts one character before a ".x." hint, so the leftmost match at or
    after ``scan`` is the first success of ``ACRONYM_RE.match`` at ``h - 1`` for the
    hints ``h`` after ``scan``, in order (hints may overlap: ".a.b." has two).
    """
    out: list[str] = []
    emitted = scan = 0
    hint = ACRONYM_HINT_RE.search
    acronym = ACRONYM_RE.match
    h = hint(s, 1)
    while h is not None:
        m = acronym(s, h.start() - 1)
        if m is None:
            h = hint(s, h.start() + 1)
            continue
        out.append(s[emitted : m.start()])
        out.append(m.group(0).replace(".", ""))
        emitted = scan = m.end()
        h = hint(s, scan + 1)
    if not out:
        return s
    out.append(s[emitted:])
    return "".join(out)


# Literal-first patterns let the regex engine skip ahead; a leading lookbehind would be
# tried at every position of every article.
_APOSTROPHE_RE = re.compile(r"'(?:s\b|(?=[^\W_]))")


@lru_cache(maxsize=1)
def _fold_table() -> dict[int, str]:
    """Latin accents differ between outlets ("Zürich"/"Zurich"); fold them only."""
    table: dict[int, str] = {}
    for cp in range(0xC0, 0x250):
        base = unicodedata.normalize("NFKD", chr(cp))
        stripped = "".join(c for c in base if not unicodedata.combining(c))
        if stripped and stripped != chr(cp) and stripped.isascii():
            table[cp] = stripped.lower()
    table.update({ord("ß"): "ss", ord("æ"): "ae", ord("ø"): "o", ord("đ"): "d", ord("ł"): "l"})
    table.update({ord("œ"): "oe", ord("þ"): "th", ord("ð"): "d", ord("ı"): "i"})
    return table


def fingerprint_tokens(text: str) -> list[str]:
    """Tokens that survive outlet style: case, accents, punctuation, number and unit forms.

    Numbers stay tokens (so templated wire items with different figures stay apart) but
    in one spelling: "1.5 mln dlrs", "$1.5 million" and "1,500,000 dollars" all give
    ["1500000", "usd"].
    """
    if not text:
        return []
    s = text.casefold()
    if not s.isascii():
        s = s.translate(_fold_table())
    if "." in s:
        s = join_acronyms(s)
    if "'" in s:
        s = _APOSTROPHE_RE.sub(_drop_apostrophe, s)
    s = special_sub(s)
    # On ASCII text [^\W_] is exactly [A-Za-z0-9], which the engine tests from a bitmap.
    words = (ASCII_WORD_RE if s.isascii() else WORD_RE).findall(s)
    return list(map(_WORD_SYNONYMS.get, words, words))  # syn.get(w, w), looped in C


def _drop_apostrophe(m: re.Match[str]) -> str:
    """Possessive "'s" and in-word apostrophes go; quotes around words stay separators."""
    i = m.start()
    before = m.string[i - 1] if i else " "
    return "" if before.isalnum() else m.group(0)
