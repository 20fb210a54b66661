"""The phrases a synonym table cannot put into one spelling: tickers, amounts, "per cent".

Outlets write one figure many ways: "1.5 mln dlrs", "$1.5 million", "US$1,500,000",
"1.5 million U.S. dollars". Every amount becomes its canonical number followed by a
currency or unit code ("1500000 usd"), and a ticker mark its bare symbol, so the
fingerprint and the facts compare figures, not styles. Runs on case-folded text.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

_SCALES: dict[str, int] = {
    "thousand": 3,
    "thousands": 3,
    "k": 3,
    "mln": 6,
    "million": 6,
    "millions": 6,
    "mn": 6,
    "m": 6,
    "bln": 9,
    "billion": 9,
    "billions": 9,
    "bn": 9,
    "b": 9,
    "tln": 12,
    "trillion": 12,
    "trillions": 12,
    "tn": 12,
}
_CURRENCY_SYMBOLS = {
    "$": "usd",
    "us$": "usd",
    "a$": "aud",
    "c$": "cad",
    "hk$": "hkd",
    "nz$": "nzd",
    "s$": "sgd",
    "£": "gbp",
    "€": "eur",
    "¥": "jpy",
}
DOLLAR_QUALIFIERS = {
    "us": "usd",
    "american": "usd",
    "canadian": "cad",
    "cdn": "cad",
    "australian": "aud",
    "aust": "aud",
    "hk": "hkd",
    "hong kong": "hkd",
    "nz": "nzd",
    "new zealand": "nzd",
    "singapore": "sgd",
    "taiwan": "twd",
}
_UNIT_CODES = {
    "%": "pct",
    "pct": "pct",
    "percent": "pct",
    "usd": "usd",
    "stg": "gbp",
    "sterling": "gbp",
    "gbp": "gbp",
    "yen": "jpy",
    "jpy": "jpy",
    "euros": "eur",
    "euro": "eur",
    "eur": "eur",
}
QUAL = (
    r"(?:(?P<qual>us|american|canadian|cdn|australian|aust|hk|hong kong|nz|new zealand|"
    r"singapore|taiwan)\s?)?"
)
CURRENCY_PREFIX = r"(?P<cur>(?:us|a|c|hk|nz|s)?\s?\$|£|€|¥)"
# Everything that is not a plain word: tickers, numbers with their scale and unit, and
# unit words that need more than a synonym table ("per cent", "U.S. dlrs").
SPECIAL_RE = re.compile(
    r"(?=[<($£€¥\d.pacdhnstu])(?<![^\W_])(?:"
    r"(?P<ticker>[<(][a-z0-9]{1,12}\.[a-z]{1,4}[>)])"
    rf"|{CURRENCY_PREFIX}?\s?"
    r"(?P<num>\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?|(?<![\w.])\.\d+)"
    r"(?:(?P<attached>mn|bn|tn|(?(cur)(?:m|b|k)|(?!)))(?![^\W_])"
    r"|\s?(?P<scale>mln|million|millions|bln|billion|billions|tln|trillion|trillions|"
    r"thousand|thousands|mn|bn)\b)?"
    r"(?:\s?(?P<unit>%|pct|percent|per\s?cent\b|" + QUAL + r"(?:dlrs|dlr|dollars|dollar)\b"
    r"|cts\b|cents\b|cent\b|usd\b|stg\b|sterling\b|yen\b|euros\b|euro\b|eur\b|gbp\b|jpy\b))?"
    r"(?![^\W_])"
    r"|(?P<percent>per\s?cent\b)"
    r"|(?P<dollar>" + QUAL.replace("qual", "qual2") + r"(?:dlrs|dlr|dollars|dollar)\b)"
    r")"
)


def _canonical_number(num: str, exponent: int) -> str:
    digits = num.replace(",", "")
    if exponent == 0 and digits.isdigit():
        return digits.lstrip("0") or "0"
    try:
        value = Decimal(digits).scaleb(exponent)
    except (InvalidOperation, ValueError):
        return digits
    if value.is_zero():
        return "0"
    return format(value.normalize(), "f")


def _number_tokens(m: re.Match[str]) -> list[str]:
    exponent = 0
    scale = m.group("attached") or m.group("scale")
    if scale:
        exponent = _SCALES[scale]
    unit = m.group("unit")
    cur = m.group("cur")
    code: str | None = _CURRENCY_SYMBOLS.get(cur.replace(" ", "")) if cur else None
    if unit:
        u = " ".join(unit.split())
        if u in ("cts", "cents", "cent"):
            exponent -= 2
            code = code or "usd"
        elif u.startswith("per"):
            code = "pct"
        elif u in _UNIT_CODES:
            code = _UNIT_CODES[u]
        else:  # a dollar word, maybe qualified
            qual = m.group("qual")
            code = DOLLAR_QUALIFIERS[qual] if qual else (code or "usd")
    tokens = [_canonical_number(m.group("num"), exponent)]
    if code:
        tokens.append(code)
    return tokens


def special_tokens(m: re.Match[str]) -> str:
    """The canonical tokens of one ``SPECIAL_RE`` match, spaced off from its neighbours."""
    kind = m.lastgroup
    if kind == "ticker":
        out = m.group("ticker")[1:-1]
    elif kind == "percent":
        out = "pct"
    elif kind == "dollar":
        qual = m.group("qual2")
        out = DOLLAR_QUALIFIERS[qual] if qual else "usd"
    else:
        out = " ".join(_number_tokens(m))
    return f" {out} "


# SPECIAL_RE tries its lookahead at every position of a text, and most positions start
# no match. Every match has an "anchor" near its start: a digit (a number), one of
# "$£€¥" (a currency before the number), "<" or "(" (a ticker), "cent" (per cent),
# "dlr" or "dollar" (a dollar word after a qualifier such as "new zealand "). What
# comes before a match's first anchor holds no other anchor (a currency qualifier such
# as "hk ", "per ", a dollar qualifier and a space), so the first anchor at or after
# the start of a match is at most this far after it: 3 for a character ("hk $"), 4 for
# "cent" ("per cent"), 12 for a dollar word ("new zealand dlrs"); matches are looked
# for only that far before each anchor, and the engine skips the rest in C.
SPECIAL_CHAR_REACH = 3
_SPECIAL_WORD_REACH = {
    "cent": 4,
    "dlr": max(map(len, DOLLAR_QUALIFIERS)) + 1,
    "dollar": max(map(len, DOLLAR_QUALIFIERS)) + 1,
}
_SPECIAL_CHAR_ANCHOR_RE = re.compile(r"[\d$£€¥<(]")
_SPECIAL_ASCII_ANCHOR_RE = re.compile(r"[0-9$<(]")  # the same on ASCII text, from a bitmap
_SPECIAL_WORD_ANCHOR_RE = re.compile("|".join(_SPECIAL_WORD_REACH))
# SPECIAL_RE at the first of the next few positions where it matches; the empty group
# "at" marks where that is. It closes before any other group, so ``lastgroup`` is the
# same as for SPECIAL_RE's own match there.
_SPECIAL_WINDOW = max(SPECIAL_CHAR_REACH, *_SPECIAL_WORD_REACH.values())
_SPECIAL_WINDOW_RE = re.compile(rf"(?s:.{{0,{_SPECIAL_WINDOW}}}?)(?P<at>)(?:{SPECIAL_RE.pattern})")


def special_sub(s: str) -> str:
    """``SPECIAL_RE.sub(special_tokens, s)``, looking for matches only near anchors.

    ``re.sub`` takes the leftmost match at or after the end of the previous one. With
    ``scan`` the position before which no further match can start, and ``a`` the first
    anchor at or after it, no match starts before ``a`` minus that anchor's reach (a
    match's first anchor is within its reach of the start, and there is none between
    ``scan`` and ``a``), so a window from there gives that same leftmost match; when
    the window holds none, the search goes on after it.
    """
    words: list[tuple[int, int]] = (
        [(m.start(), _SPECIAL_WORD_REACH[m.group()]) for m in _SPECIAL_WORD_ANCHOR_RE.finditer(s)]
        if "cent" in s or "dlr" in s or "dollar" in s
        else []
    )
    n_words = len(words)
    wi = 0
    out: list[str] = []
    seen: dict[str, str] = {}
    emitted = scan = 0
    next_char = (_SPECIAL_ASCII_ANCHOR_RE if s.isascii() else _SPECIAL_CHAR_ANCHOR_RE).search
    window = _SPECIAL_WINDOW_RE.match
    # The first character anchor at or after ``scan``, searched again only once ``scan``
    # has passed it: searching from every window would rescan to the end of a text
    # without one ("per cent " x 58,000 took 56 s).
    c = next_char(s, 0)
    while True:
        while wi < n_words and words[wi][0] < scan:
            wi += 1
        if c is not None and c.start() < scan:
            c = next_char(s, scan)
        if c is not None and (wi == n_words or c.start() <= words[wi][0]):
            lo = c.start() - SPECIAL_CHAR_REACH
        elif wi < n_words:
            lo = words[wi][0] - words[wi][1]
        else:
            break
        lo = max(lo, scan)
        m = window(s, lo)
        if m is None:
            scan = lo + _SPECIAL_WINDOW + 1
            continue
        out.append(s[emitted : m.start("at")])
        # A match's tokens follow from its text (its groups are how the pattern parses
        # that text); a text of thousands of one figure computes them once.
        text = m.group(0)[m.end("at") - m.start() :]
        tokens = seen.get(text)
        if tokens is None:
            tokens = seen[text] = special_tokens(m)
        out.append(tokens)
        emitted = scan = m.end()
    if not out:
        return s
    out.append(s[emitted:])
    return "".join(out)
