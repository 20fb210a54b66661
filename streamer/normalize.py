"""Turn raw article fields into display text and a stable fingerprint form.

Near-duplicate detection is only as good as the text it hashes: the same wire story
arrives as plain wire text, as a full portal page, machine-translated, wrapped in share
bars, galleries and bylines, with smart quotes, mojibake and each outlet's own style
("mln dlrs" vs "$ million").  Everything here is a pure function of its arguments; the
only state is lazily built caches (character tables, the language identifier).
"""

from __future__ import annotations

import html as _html
import math
import re
import sys
import unicodedata
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from email.utils import parsedate_to_datetime
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import ftfy

__all__ = [
    "NormalizedText",
    "canonical_url",
    "fingerprint_tokens",
    "normalize_content",
    "parse_published_at",
]

# Inputs are capped before the expensive stages so that a hostile or broken page costs
# bounded time; real articles are far below these sizes.
MAX_HTML_CHARS = 1_000_000
MAX_TEXT_CHARS = 1_000_000
MAX_TITLE_CHARS = 2_000
# Below this many characters a language guess is noise.
MIN_LANGUAGE_CHARS = 20
LANGUAGE_SAMPLE_CHARS = 200
MIN_LANGUAGE_CONFIDENCE = 0.5
_SETTLE_ROUNDS = 3


@dataclass(frozen=True, slots=True)
class NormalizedText:
    title: str
    text: str
    fp_title: str
    fp_body: str
    language: str | None


# --------------------------------------------------------------------------------------
# Characters
# --------------------------------------------------------------------------------------

_FTFY_CONFIG = ftfy.TextFixerConfig(
    # Entities are unescaped by our own, fixpoint-stable step: ftfy's "auto" mode depends
    # on whether a "<" happens to be present, which would break idempotence.
    unescape_html=False,
    normalization="NFKC",
    explain=False,
)

_ENTITY_RE = re.compile(r"&(?:#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|[A-Za-z][A-Za-z0-9]{1,31});")
_MAX_ENTITY_ROUNDS = 8

_QUOTES_DOUBLE = (
    "\u00ab\u00bb\u201c\u201d\u201e\u201f\u2033\u2036\u275d\u275e\u301d\u301e\u301f\uff02"
)
_QUOTES_SINGLE = "\u2018\u2019\u201a\u201b\u2032\u2035\u2039\u203a\u275b\u275c\uff07`\u00b4"
_DASHES = "\u2010\u2011\u2012\u2013\u2014\u2015\u2043\u2212\u2e3a\u2e3b\ufe58\ufe63\uff0d"
_LINE_BREAKS = "\u000b\u000c\u001c\u001d\u001e\u0085\u2028\u2029"


@lru_cache(maxsize=1)
def _char_table() -> dict[int, str | None]:
    """One pass of str.translate gives one form of quotes, dashes and spaces.

    Zero-width and other format characters are dropped because they make visually
    equal strings hash differently; lone surrogates are dropped because they cannot be
    encoded downstream.
    """
    table: dict[int, str | None] = {}
    for cp in range(sys.maxunicode + 1):
        cat = unicodedata.category(chr(cp))
        if cat == "Zs":
            table[cp] = " "
        elif cat in ("Cf", "Cs") or (cat == "Cc" and cp not in (9, 10)):
            table[cp] = None
    table.update({ord(c): '"' for c in _QUOTES_DOUBLE})
    table.update({ord(c): "'" for c in _QUOTES_SINGLE})
    table.update({ord(c): "-" for c in _DASHES})
    table.update({ord(c): "\n" for c in _LINE_BREAKS})
    table[ord("\t")] = " "
    table[ord("\u2026")] = "..."
    return table


_ASCII_TABLE: dict[int, str | None] = {cp: None for cp in range(32) if cp not in (9, 10)}
_ASCII_TABLE.update({9: " ", 11: "\n", 12: "\n", 28: "\n", 29: "\n", 30: "\n", 127: None})


def _unescape_entities(s: str) -> str:
    """Feeds double-escape ("&amp;amp;"); unescape to a fixpoint so output is stable."""
    for _ in range(_MAX_ENTITY_ROUNDS):
        if "&" not in s:
            break
        new = _ENTITY_RE.sub(lambda m: _html.unescape(m.group(0)), s)
        if new == s:
            break
        s = new
    return s


def _fix_chars(s: str) -> str:
    """Repair mojibake and settle on one spelling of every character."""
    if "\r" in s:
        s = s.replace("\r\n", "\n").replace("\r", "\n")
    s = _unescape_entities(s)
    if s.isascii():
        return s.translate(_ASCII_TABLE)
    try:
        s = ftfy.fix_text(s, _FTFY_CONFIG)
    except Exception:  # ftfy is heuristic code; a bad guess must not lose the article
        s = unicodedata.normalize("NFKC", s)
    table = _char_table()
    s = s.translate(table)
    # Dropping format characters can expose new compositions, and NFKC can produce
    # characters the table maps, so settle both (the second translate only maps).
    return unicodedata.normalize("NFKC", s).translate(table)


# --------------------------------------------------------------------------------------
# Markup
# --------------------------------------------------------------------------------------

_DROP_TAGS = (
    "head|script|style|noscript|template|svg|nav|header|footer|aside|form|iframe|button|"
    "select|figure|menu|dialog|object|canvas"
)
_DROP_TAG_RE = re.compile(rf"<(/?)({_DROP_TAGS})\b[^<>]{{0,2000}}>", re.IGNORECASE)
_DROP_TO_END = frozenset({"script", "style", "noscript", "template", "svg"})
_BLOCK_TAG_RE = re.compile(
    r"</?(?:p|div|section|article|main|li|ul|ol|dl|dt|dd|h[1-6]|tr|table|thead|tbody|"
    r"blockquote|pre|address|figcaption|details|summary|center|hr|body|html|head|title)"
    r"\b[^<>]{0,2000}>",
    re.IGNORECASE,
)
_BR_TAG_RE = re.compile(r"<br\b[^<>]{0,2000}>", re.IGNORECASE)
_INLINE_TAG_RE = re.compile(
    r"</?(?:a|b|i|u|s|em|strong|span|font|small|big|sup|sub|abbr|code|mark|q|cite|time|"
    r"ins|del|tt|var|kbd|samp|wbr|nobr)\b[^<>]{0,2000}>",
    re.IGNORECASE,
)
_ANY_TAG_RE = re.compile(r"<[A-Za-z/!?][^<>]*>")
_HTMLISH_RE = re.compile(
    r"</[A-Za-z][\w:-]*\s*>|<!--|<!doctype|"
    r"<(?:p|br|div|span|a|img|li|ul|ol|h[1-6]|table|tr|td|script|style|iframe|strong|em|"
    r"b|i|blockquote|figure|figcaption|section|article|header|footer|nav|aside|html|body|"
    r"head|meta|link|hr)\b[^<>]{0,2000}>",
    0,
)
# Reuters wire text marks tickers and unlisted company names with angle brackets:
# "<KUMT.TOK>", "<Li Ka-shing Foundations Ltd>".  They are content, not markup.
# A wire name tag may wrap onto the next line ("<Kumagai Gumi (Hong\nKong) Ltd>").
_ANGLE_RE = re.compile(r"<([^<>]{1,200})>")
_TICKER_RE = re.compile(r"[A-Z0-9][A-Z0-9&'-]{0,11}(?:\.[A-Z]{1,4})?")
_NAME_TAG_RE = re.compile(r"[A-Z][^<>=\"/]*")
_HTML_TAG_WORDS = (
    "a abbr address area article aside audio b base bdi bdo blockquote body br button "
    "canvas caption center cite code col colgroup data dd del details dfn dialog div dl dt "
    "em embed fieldset figcaption figure font footer form h1 h2 h3 h4 h5 h6 head header hr "
    "html i iframe img input ins kbd label legend li link main map mark menu meta meter nav "
    "noscript object ol optgroup option output p param picture pre progress q rp rt ruby s "
    "samp script section select small source span strong style sub summary sup svg table "
    "tbody td template textarea tfoot th thead time title tr track u ul var video wbr"
)
_HTML_TAG_NAMES = frozenset(_HTML_TAG_WORDS.split())


def _drop_blocks(s: str) -> str:
    """Remove script/style/nav/... elements in one linear pass (no regex backtracking)."""
    out: list[str] = []
    pos = 0
    depth = 0
    start = 0
    outer = ""
    for m in _DROP_TAG_RE.finditer(s):
        closing = m.group(1) == "/"
        name = m.group(2).lower()
        if not closing:
            if m.group(0).endswith("/>"):
                continue
            if depth == 0:
                start, outer = m.start(), name
            depth += 1
        elif depth:
            depth -= 1
            if depth == 0:
                out.append(s[pos:start])
                out.append("\n\n")
                pos = m.end()
    if depth and outer in _DROP_TO_END:
        out.append(s[pos:start])
        return "".join(out)
    out.append(s[pos:])
    return "".join(out)


def _drop_comments(s: str) -> str:
    """Strip <!-- --> comments with str.find so a page of unclosed comments stays linear."""
    if "<!--" not in s:
        return s
    out: list[str] = []
    pos = 0
    while True:
        i = s.find("<!--", pos)
        if i < 0:
            out.append(s[pos:])
            break
        out.append(s[pos:i])
        j = s.find("-->", i + 4)
        if j < 0:
            break
        pos = j + 3
    return " ".join(out)


def _strip_tags(s: str) -> str:
    """Linear HTML-to-text fallback for fragments and for pages the extractor rejects."""
    s = _drop_comments(s)
    s = _drop_blocks(s)
    s = _BLOCK_TAG_RE.sub("\n\n", s)
    s = _BR_TAG_RE.sub("\n", s)
    s = _INLINE_TAG_RE.sub("", s)
    return _ANY_TAG_RE.sub(" ", s)


def _angle_tag(m: re.Match[str]) -> str:
    inner = m.group(1)
    if "\n" in inner:
        if inner.count("\n") > 2:
            return " "
        inner = " ".join(inner.split())
    if _TICKER_RE.fullmatch(inner):
        return f"({inner})"
    if _NAME_TAG_RE.fullmatch(inner) and inner.split(None, 1)[0] not in _HTML_TAG_NAMES:
        return inner
    return " "


def _remove_markup(s: str) -> str:
    """Leave no tag in display text while keeping Reuters ticker and company tags."""
    if "<" not in s:
        return s
    if _HTMLISH_RE.search(s):
        s = _strip_tags(s)
    # Replacing one tag can make a new one ("<<a>b>" -> "< b>", "<<0>>" -> "<(0)>"),
    # which a second normalization would then remove: go on to a fixpoint. Every
    # replacement removes a "<" and a ">", so this ends.
    while True:
        s, n_angle = _ANGLE_RE.subn(_angle_tag, s)
        s, n_tags = _ANY_TAG_RE.subn(" ", s)
        if not (n_angle or n_tags):
            return s


# --------------------------------------------------------------------------------------
# Boilerplate
# --------------------------------------------------------------------------------------

_I = re.IGNORECASE
_SHARE_WORDS = (
    r"share(?: (?:this|on|via|the) ?\w*(?: \w+)?)?|tweet|email|e-mail|mail|print|facebook|"
    r"twitter|x|linkedin|whatsapp|pinterest|reddit|telegram|messenger|flipboard|"
    r"copy(?: the)? link|copy|save|bookmark|comments?|\d+ comments?|\d+ shares?"
)
_SHARE_RE = re.compile(rf"(?:(?:{_SHARE_WORDS})[\s|•·,/:-]*)+", _I)
_AD_RE = re.compile(
    r"(?:advertisement|advertising|sponsored(?: content)?|ad|promoted|paid content|"
    r"scroll to continue(?: with content)?|continue reading(?: below)?|"
    r"story continues below(?: advertisement)?"
    r"|skip to (?:main )?(?:content|navigation|advertisement)"
    r"|close|menu|search|home|loading\.*)\s*[:.]?",
    _I,
)
_PROMO_RE = re.compile(
    r"(?:subscribe|sign up|newsletter|get (?:our|the) [\w ]{0,40}newsletter|follow us|"
    r"join us on|download (?:our|the) app|click here|tap here|"
    r"support (?:our|independent) journalism|already a subscriber|log ?in to)\b.{0,150}",
    _I,
)
_READ_MORE_LINE_RE = re.compile(
    r"(?:read more|read also|also read|see also|related|more|recommended|watch|listen|"
    r"more on this)\s*[:>»|]\s*.{0,200}",
    _I,
)
_RELATED_HEAD_RE = re.compile(
    r"(?:read more|related(?: articles| stories| news| coverage| content| posts| links| topics)?"
    r"|more (?:stories|news|articles|from [\w .]{1,40}|on this (?:story|topic))"
    r"|you (?:may|might) also (?:like|be interested in)|recommended(?: for you| stories| articles)?"
    r"|most (?:read|popular|viewed|shared)|trending(?: now| stories)?|editor'?s picks"
    r"|latest (?:news|stories)|top stories|what to read next|further reading)\s*:?",
    _I,
)
_BULLET_RE = re.compile(r"[-*•·▪►>]\s")
_TERMINAL_RE = re.compile(r"[.!?;:]['\")\]]*$")
_NAME = r"[A-Z][\w.'-]*"
_PERSON = (
    rf"{_NAME}(?:\s+(?:{_NAME}|(?:de|da|di|del|della|der|den|van|von|la|le|du|dos|bin|al|el|ter)"
    rf"(?=\s))){{0,4}}"
)
_BYLINE_RE = re.compile(
    rf"(?:[Bb]y|BY|Written by|Posted by|Words by|Author:)\s+{_PERSON}"
    rf"(?:\s*(?:,|and|&)\s*{_PERSON})*"
    r"(?:\s*[,|/-]\s*[\w .,:/-]{0,80})?"
)
_CREDITS_RE = re.compile(
    r"\(?\s*(?:(?:additional|further) reporting|reporting|writing|editing|edited|compiled|"
    r"reported|research|graphics?|photos?|video|produced|translated)\s+by\b.{0,300}",
    _I,
)
_TRAILING_CREDITS_RE = re.compile(
    r"\s*\((?:(?:additional|further) )?(?:reporting|writing|editing|compiled|edited|"
    r"translated)\s+by\b[^()]{0,300}\)\s*$",
    _I,
)
_COPYRIGHT_RE = re.compile(
    r"(?:©|\(c\)\s|copyright\b|all rights reserved).{0,300}|.{0,200}all rights reserved\.?", _I
)
_INLINE_SIGNOFF_RE = re.compile(r"(?<=[.!?\"')\]])\s+(?:REUTER|Reuter)$")
_SIGNOFF_RE = re.compile(r"(?:-+\s*)?\(?reuters?\)?\s*\.?", _I)
# A gallery block needs its closing "Showing N photos" line, so its head may carry a
# caption; a head standing alone is only dropped when it is nothing but the label.
_GALLERY_HEAD_RE = re.compile(
    r"(?:photo ?gallery|image gallery|video gallery|picture gallery|gallery|slideshow|"
    r"in pictures|photos)\b.{0,150}",
    _I,
)
_GALLERY_LABEL_RE = re.compile(
    r"(?:photo ?gallery|image gallery|video gallery|picture gallery|gallery|slideshow|"
    r"in pictures|photos)\s*:?",
    _I,
)
_GALLERY_END_RE = re.compile(
    r"(?:showing|view(?: all)?|see(?: all)?|browse)?\s*\d+\s+(?:photos|images|pictures|"
    r"slides)\b.{0,30}|\d+ of \d+ (?:photos|images|pictures|slides)",
    _I,
)
# The first letters, in either case, of the alternatives of _GALLERY_HEAD_RE and
# _RELATED_HEAD_RE. Under IGNORECASE an ASCII character matches a letter only in its
# two cases, so a unit starting with any other ASCII character matches neither (the
# tests derive these sets from the parsed patterns).
_GALLERY_HEAD_INITIALS = frozenset("pivgsPIVGS")
_RELATED_HEAD_INITIALS = frozenset("rmytelwfRMYTELWF")
_GALLERY_MAX_UNITS = 15
_GALLERY_MAX_CHARS = 3000
_HEADLINE_MAX = 150
# One cheap check rejects most units before the specific rules run.
_CANDIDATE_PATTERN = (
    r"[-*•·▪►>(©\d]|by\b|written|posted|words|author|share|tweet|e-?mail|mail|print|face|"
    r"twit|x\b|link|whats|pint|redd|tele|mess|flip|cop|save|book|comm|adv|spon|ad\b|promo|"
    r"paid|scroll|cont|story|skip|clos|menu|search|home|load|subs|sign|news|get|follow|join|"
    r"down|click|tap|supp|alre|log|read|also|see|rel|more|rec|watch|list|you|most|trend|"
    r"edit|late|top|what|furth|add|report|writ|compil|research|graph|photo|video|prod|"
    r"transl|all|reut|-|gallery|image|picture|slide|in pictures|show|view|brow"
)
_CANDIDATE_RE = re.compile(_CANDIDATE_PATTERN, _I)


def _candidate_dispatch() -> dict[str, re.Pattern[str] | None]:
    """_CANDIDATE_RE cut down to the alternatives that can start with each ASCII character.

    An IGNORECASE alternation is tried one alternative at a time at every unit, and
    most units are not candidates; the alternatives that cannot match a unit's first
    character cannot match the unit, so leaving them out gives the same answer. An
    alternative that starts with an ASCII letter can only start with that letter in
    either case (IGNORECASE relates ASCII letters to non-ASCII ones only, such as "ſ"
    to "s", and units starting with non-ASCII characters keep the full pattern); the
    others are single-character patterns, tested against every ASCII character.
    """
    alternatives = _CANDIDATE_PATTERN.split("|")
    table: dict[str, re.Pattern[str] | None] = {}
    for cp in range(128):
        c = chr(cp)
        keep = []
        for alt in alternatives:
            if alt[0].isascii() and alt[0].isalpha():
                can_start = alt[0].lower() == c.lower()
            else:
                single = re.compile(alt, _I)
                if single.groups or single.fullmatch(c + c):
                    raise ValueError(f"candidate alternative {alt!r} is not one character")
                can_start = single.fullmatch(c) is not None
            if can_start:
                keep.append(alt)
        table[c] = re.compile("|".join(keep), _I) if keep else None
    return table


_CANDIDATE_BY_FIRST = _candidate_dispatch()


def _is_candidate_unit(u: str) -> bool:
    """``_CANDIDATE_RE.match(u)``, via the first character's alternatives when it is ASCII."""
    first = u[:1]
    if first and first.isascii():
        pattern = _CANDIDATE_BY_FIRST[first]
        return pattern is not None and pattern.match(u) is not None
    return _CANDIDATE_RE.match(u) is not None


def _is_boilerplate_unit(u: str) -> bool:
    if not _is_candidate_unit(u):
        return False
    n = len(u)
    return bool(
        (n <= 200 and (_SHARE_RE.fullmatch(u) or _AD_RE.fullmatch(u)))
        or (n <= 200 and _PROMO_RE.fullmatch(u))
        or (n <= 250 and _READ_MORE_LINE_RE.fullmatch(u))
        or (n <= 150 and _BYLINE_RE.fullmatch(u))
        or (n <= 320 and _CREDITS_RE.fullmatch(u))
        or (n <= 320 and _COPYRIGHT_RE.fullmatch(u))
        or (n <= 60 and _GALLERY_END_RE.fullmatch(u))
        or (n <= 20 and _GALLERY_LABEL_RE.fullmatch(u))
    )


def _filter_units(units: Sequence[str]) -> list[str]:
    """Drop boilerplate lines/paragraphs; blank units are kept as separators.

    The same function runs on raw lines and on built paragraphs, so that display text
    fed back in is a fixpoint.
    """
    out: list[str] = []
    i = 0
    n = len(units)
    while i < n:
        u = units[i]
        if not u:
            out.append(u)
            i += 1
            continue
        # Most units start with a character no head can start with: skip the regexes.
        first = u[0]
        other = first.isascii()
        if (
            len(u) <= 200
            and (first in _GALLERY_HEAD_INITIALS or not other)
            and _GALLERY_HEAD_RE.fullmatch(u)
        ):
            end = _gallery_end(units, i)
            if end is not None:
                i = end + 1
                continue
        if (
            len(u) <= 80
            and (first in _RELATED_HEAD_INITIALS or not other)
            and _RELATED_HEAD_RE.fullmatch(u)
        ):
            i += 1
            while i < n and (
                not units[i]
                or _BULLET_RE.match(units[i])
                or (len(units[i]) <= _HEADLINE_MAX and not _TERMINAL_RE.search(units[i]))
            ):
                i += 1
            continue
        if not _is_boilerplate_unit(u):
            out.append(u)
        i += 1
    return out


def _gallery_end(units: Sequence[str], start: int) -> int | None:
    seen = 0
    chars = 0
    for j in range(start + 1, len(units)):
        u = units[j]
        if not u:
            continue
        if len(u) <= 60 and _GALLERY_END_RE.fullmatch(u):
            return j
        seen += 1
        chars += len(u)
        if seen > _GALLERY_MAX_UNITS or chars > _GALLERY_MAX_CHARS:
            return None
    return None


_AGENCIES = (
    r"Reuters|Reuter|AP|AFP|UPI|dpa|DPA|Bloomberg|IANS|PTI|Xinhua|TASS|Interfax|ANSA|EFE|"
    r"Kyodo|Yonhap|RIA Novosti|CNN|BBC"
)
_DATELINE_RE = re.compile(
    r"(?P<city>[A-Z][A-Z'.-]*(?:\s+[A-Z][A-Z'.-]*){0,4}|[A-Z][a-z'.-]+(?:\s+[A-Z][a-z'.-]+){0,2})"
    r"(?:\s*,\s*[A-Z][A-Za-z .]{0,30}?)?"
    r"(?P<date>\s*,\s*(?:[A-Z][a-z]{2,8}\.?\s+\d{1,2}|\d{1,2}\s+[A-Z][a-z]{2,8}\.?)(?:\s*,?\s*\d{4})?)?"
    rf"(?P<agency>\s*\((?:{_AGENCIES})\))?"
    r"\s*-+\s+"
)


def _strip_dateline(p: str) -> str:
    m = _DATELINE_RE.match(p)
    if not m or not (m.group("date") or m.group("agency")):
        return p
    if not m.group("agency") and not m.group("city").isupper():
        return p
    return p[m.end() :]


def _finish(paras: list[str], title_fp: str) -> list[str]:
    """Paragraph-level rules; run to a fixpoint because each can expose the next."""
    while True:
        new = [p for p in _filter_units(paras) if p]
        # Pages repeat their headline above the story; it is the title, not the text.
        while (
            title_fp
            and new
            and len(new[0]) <= 2 * len(title_fp) + 20
            and " ".join(fingerprint_tokens(new[0])) == title_fp
        ):
            new.pop(0)
        while new:
            first = _strip_dateline(new[0]).strip()
            if first == new[0]:
                break
            new[0] = first
            if not first:
                new.pop(0)
        new = [_TRAILING_CREDITS_RE.sub("", p).strip() if p[-1:] == ")" else p for p in new]
        new = [p for p in new if p]
        while new and len(new[-1]) <= 20 and _SIGNOFF_RE.fullmatch(new[-1]):
            new.pop()
        if new and new[-1].endswith(("REUTER", "Reuter")):
            new[-1] = _INLINE_SIGNOFF_RE.sub("", new[-1])
        if new == paras:
            return new
        paras = new


def _build_paragraphs(lines: list[str], indented: list[bool]) -> list[str]:
    """Rejoin hard-wrapped wire lines; indentation or a finished sentence starts a new one."""
    paras: list[str] = []
    cur: list[str] = []
    for line, ind in zip(lines, indented, strict=True):
        if not line:
            if cur:
                paras.append(" ".join(cur))
                cur = []
            continue
        if cur and (ind or _BULLET_RE.match(line) or _TERMINAL_RE.search(cur[-1])):
            paras.append(" ".join(cur))
            cur = []
        cur.append(line)
    if cur:
        paras.append(" ".join(cur))
    return [" ".join(p.split()) for p in paras]


def _settle(clean: Callable[[str], str], s: str) -> str:
    """Run `clean` until its output stops changing.

    ftfy's guesses depend on neighbouring characters, so removing markup or joining
    lines can expose a new "mojibake" pattern in already-clean text.  Re-running on
    non-ASCII output (ASCII never reaches ftfy) makes display text a fixpoint.
    """
    out = clean(s)
    for _ in range(_SETTLE_ROUNDS):
        if out.isascii():
            break
        again = clean(out)
        if again == out:
            break
        out = again
    return out


def _clean_text(s: str, title_fp: str = "") -> str:
    return _settle(lambda t: _clean_text_once(t, title_fp), s)


def _clean_text_once(s: str, title_fp: str) -> str:
    s = _remove_markup(_fix_chars(s[:MAX_TEXT_CHARS]))
    raw = s.split("\n")
    lines = [" ".join(r.split()) for r in raw]
    indented = [r.startswith((" ", "\t")) for r in raw]
    keep = _filter_units(lines)
    if len(keep) != len(lines):
        # Indentation only matters for paragraph starts; recompute for kept lines.
        kept_ind: list[bool] = []
        j = 0
        for line, ind in zip(lines, indented, strict=True):
            if j < len(keep) and line == keep[j]:
                kept_ind.append(ind)
                j += 1
        lines, indented = keep, kept_ind
    return "\n\n".join(_finish(_build_paragraphs(lines, indented), title_fp))


# --------------------------------------------------------------------------------------
# Titles
# --------------------------------------------------------------------------------------

_TITLE_PREFIX_RE = re.compile(
    r"\(?(?:CORRECTED|CORRECTION|REFILE|REFILED|RPT|REPEAT|UPDATE(?:\s*\d+)?|"
    r"WRAPUP(?:\s*\d+)?|URGENT|FLASH|BREAKING(?: NEWS)?|EXCLUSIVE|ANALYSIS|FACTBOX|INSIGHT|"
    r"BRIEF|BUZZ|FEATURE|PREVIEW|TIMELINE|SPECIAL REPORT|LIVE|VIDEO|WATCH)\)?\s*[-:]+\s*"
)
_TITLE_PREFIX_CI_RE = re.compile(
    r"(?:breaking(?: news)?|update|updated|exclusive|live|watch|video)\s*:\s+", _I
)
_SITE_PIPE_RE = re.compile(r"\s+[|•·»]\s+([^|•·»]{1,60})$")
_SITE_DASH_RE = re.compile(r"\s+-+\s+([^-]{1,50})$")
_SITE_WORDS_RE = re.compile(
    r"\b(?:news|times|post|journal|herald|tribune|reuters|bloomberg|bbc|cnn|guardian|"
    r"telegraph|gazette|daily|online|today|express|mail|press|wire|agency|tv|radio|"
    r"magazine|chronicle|observer|independent|courier|monitor|insider|globe|channel|"
    r"network|media|ap|afp|dpa|tass|xinhua|forbes|politico|axios|npr|abc|nbc|cbs|fox|sky|"
    r"euronews|aljazeera|al jazeera|rt|sputnik|interfax|report|review|weekly|world)\b"
    r"|\.(?:com|net|org|co|io|info|news|ru|de|fr|uk|in)\b",
    _I,
)


def _clean_title(raw: str) -> str:
    return _settle(_clean_title_once, raw[:MAX_TITLE_CHARS])


def _clean_title_once(raw: str) -> str:
    s = _remove_markup(_fix_chars(raw))
    s = " ".join(s.split())
    while True:
        new = _TITLE_PREFIX_RE.sub("", s, count=1) if _TITLE_PREFIX_RE.match(s) else s
        if new == s and _TITLE_PREFIX_CI_RE.match(s):
            new = s[_TITLE_PREFIX_CI_RE.match(s).end() :]  # type: ignore[union-attr]
        m = _SITE_PIPE_RE.search(new)
        if m and len(m.group(1).split()) <= 6 and new[: m.start()].strip():
            new = new[: m.start()]
        m = _SITE_DASH_RE.search(new)
        if (
            m
            and len(m.group(1).split()) <= 5
            and _SITE_WORDS_RE.search(m.group(1))
            and len(new[: m.start()].split()) >= 3
        ):
            new = new[: m.start()]
        new = new.strip()
        if new == s or not new:
            return new or s
        s = new


def _html_title(page: str) -> str:
    """Title for pages that come without one: og:title beats <title>."""
    head = page[:200_000]
    m = _OG_TITLE_RE.search(head) or _TITLE_TAG_RE.search(head)
    return _html.unescape(m.group(1)) if m else ""


_OG_TITLE_RE = re.compile(
    r"<meta\s[^<>]{0,300}?property=[\"']og:title[\"'][^<>]{0,300}?content=[\"']([^\"'<>]{1,500})",
    _I,
)
_TITLE_TAG_RE = re.compile(r"<title\b[^<>]{0,300}>([^<>]{1,500})</title", _I)


# --------------------------------------------------------------------------------------
# HTML extraction
# --------------------------------------------------------------------------------------

_PAGE_RE = re.compile(
    r"<(?:html|body|head|nav|header|footer|aside|script|style|form|iframe|main|article|"
    r"meta|title)\b",
    _I,
)


def _extract_html(page: str) -> str:
    """Main text of a page; paragraphs separated by blank lines."""
    page = page[:MAX_HTML_CHARS]
    text: str | None = None
    if _PAGE_RE.search(page):
        try:
            text = _trafilatura_extract(page)
        except BaseException as exc:  # lxml/trafilatura on hostile input: fall back
            if isinstance(exc, KeyboardInterrupt | SystemExit):
                raise
            text = None
        if text:
            return text.replace("\n", "\n\n")
    return _strip_tags(page)


def _trafilatura_extract(page: str) -> str | None:
    import trafilatura

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return trafilatura.extract(
            page,
            fast=True,
            include_comments=False,
            include_tables=True,
            include_images=False,
            include_links=False,
            include_formatting=False,
            with_metadata=False,
            deduplicate=False,
        )


# --------------------------------------------------------------------------------------
# Language
# --------------------------------------------------------------------------------------


@lru_cache(maxsize=1)
def _language_identifier() -> Any:
    """py3langid ships its model in the wheel; restrict it to ISO 639-1 output codes."""
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    ident = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
    ident.set_languages([c for c in ident.labels if len(c) == 2 and c != "zxx"])
    return ident


# Function words that are English and not also common words of the other languages
# a news feed carries ("in", "an", "a", "die", "de" are left out on purpose).
_ENGLISH_MARKERS = frozenset(
    "the of and to is was that for with said from were has have been would which "
    "this but not its are will by at it he they after".split()
)
# Letters only: figures are not words of any language. (This pattern once shared its
# name with the fingerprint word pattern below, which silently replaced it; on the
# Reuters corpus letters-only moves 192 stories onto this path and 11 off it, and
# py3langid answers "en" for every one of them, so no answer changed.)
_LETTERS_RE = re.compile(r"[^\W\d_]+")


def _plainly_english(sample: str) -> bool:
    """Most of our traffic is English wire copy: recognise it by its function words.

    A statistical identifier costs about 0.3 ms a text, as much as all the rest
    of normalization; English prose is a sixth or more function words, with
    "the" among them, which no other language's text shows. Anything else
    still goes to the identifier.
    """
    if sample.isascii():
        # Lower-casing ASCII keeps every word's boundaries: the same words, casefolded.
        words = _LETTERS_RE.findall(sample.lower())
    else:
        words = [w.casefold() for w in _LETTERS_RE.findall(sample)]
    if len(words) < 12:
        return False
    hits = sum(map(_ENGLISH_MARKERS.__contains__, words))
    return "the" in words and hits >= 0.15 * len(words)


def _detect_language(sample: str) -> str | None:
    sample = sample[:LANGUAGE_SAMPLE_CHARS]
    if len(sample.strip()) < MIN_LANGUAGE_CHARS or not any(c.isalpha() for c in sample):
        return None
    if _plainly_english(sample):
        return "en"
    try:
        lang, prob = _language_identifier().classify(sample)
    except Exception:
        return None
    return str(lang) if prob >= MIN_LANGUAGE_CONFIDENCE else None


_LANG_TAG_RE = re.compile(r"\s*([A-Za-z]{2,3})(?:[-_][A-Za-z0-9]{1,8})*\s*")


def _given_language(language: str | None) -> str | None:
    if language is None or not language.strip():
        return None
    m = _LANG_TAG_RE.fullmatch(language)
    return m.group(1).lower() if m else language.strip().lower()


# --------------------------------------------------------------------------------------
# Public API: content
# --------------------------------------------------------------------------------------


def normalize_content(
    *, title: str | None, body: str | None, html: str | None, language: str | None = None
) -> NormalizedText:
    """Clean an article for display and fingerprinting; never raises on str input."""
    if title is not None and title.strip():
        clean_title = _clean_title(title)
    elif html:
        clean_title = _clean_title(_html_title(html[:MAX_HTML_CHARS]))
    else:
        clean_title = ""
    fp_title = " ".join(fingerprint_tokens(clean_title))
    text = ""
    if html and html.strip():
        text = _clean_text(_extract_html(html), fp_title)
    if not text and body:
        text = _clean_text(body, fp_title)
    lang = _given_language(language)
    if lang is None:
        # Wire titles are often all capitals, which reads as another language; the body
        # decides unless it is too short to.
        sample = text if len(text) >= 100 else f"{clean_title}\n{text}"
        lang = _detect_language(sample)
    return NormalizedText(
        title=clean_title,
        text=text,
        fp_title=fp_title,
        fp_body=" ".join(fingerprint_tokens(text)),
        language=lang,
    )


# --------------------------------------------------------------------------------------
# Fingerprint tokens
# --------------------------------------------------------------------------------------

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
_DOLLAR_QUALIFIERS = {
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
_QUAL = (
    r"(?:(?P<qual>us|american|canadian|cdn|australian|aust|hk|hong kong|nz|new zealand|"
    r"singapore|taiwan)\s?)?"
)
_CURRENCY_PREFIX = r"(?P<cur>(?:us|a|c|hk|nz|s)?\s?\$|£|€|¥)"
# Everything that is not a plain word: tickers, numbers with their scale and unit, and
# unit words that need more than a synonym table ("per cent", "U.S. dlrs").
_SPECIAL_RE = re.compile(
    r"(?=[<($£€¥\d.pacdhnstu])(?<![^\W_])(?:"
    r"(?P<ticker>[<(][a-z0-9]{1,12}\.[a-z]{1,4}[>)])"
    rf"|{_CURRENCY_PREFIX}?\s?"
    r"(?P<num>\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?|(?<![\w.])\.\d+)"
    r"(?:(?P<attached>mn|bn|tn|(?(cur)(?:m|b|k)|(?!)))(?![^\W_])"
    r"|\s?(?P<scale>mln|million|millions|bln|billion|billions|tln|trillion|trillions|"
    r"thousand|thousands|mn|bn)\b)?"
    r"(?:\s?(?P<unit>%|pct|percent|per\s?cent\b|" + _QUAL + r"(?:dlrs|dlr|dollars|dollar)\b"
    r"|cts\b|cents\b|cent\b|usd\b|stg\b|sterling\b|yen\b|euros\b|euro\b|eur\b|gbp\b|jpy\b))?"
    r"(?![^\W_])"
    r"|(?P<percent>per\s?cent\b)"
    r"|(?P<dollar>" + _QUAL.replace("qual", "qual2") + r"(?:dlrs|dlr|dollars|dollar)\b)"
    r")"
)
# _SPECIAL_RE tries its lookahead at every position of a text, and most positions start
# no match. Every match has an "anchor" near its start: a digit (a number), one of
# "$£€¥" (a currency before the number), "<" or "(" (a ticker), "cent" (per cent),
# "dlr" or "dollar" (a dollar word after a qualifier such as "new zealand "). What
# comes before a match's first anchor holds no other anchor (a currency qualifier such
# as "hk ", "per ", a dollar qualifier and a space), so the first anchor at or after
# the start of a match is at most this far after it: 3 for a character ("hk $"), 4 for
# "cent" ("per cent"), 12 for a dollar word ("new zealand dlrs"); matches are looked
# for only that far before each anchor, and the engine skips the rest in C.
_SPECIAL_CHAR_REACH = 3
_SPECIAL_WORD_REACH = {
    "cent": 4,
    "dlr": max(map(len, _DOLLAR_QUALIFIERS)) + 1,
    "dollar": max(map(len, _DOLLAR_QUALIFIERS)) + 1,
}
_SPECIAL_CHAR_ANCHOR_RE = re.compile(r"[\d$£€¥<(]")
_SPECIAL_ASCII_ANCHOR_RE = re.compile(r"[0-9$<(]")  # the same on ASCII text, from a bitmap
_SPECIAL_WORD_ANCHOR_RE = re.compile("|".join(_SPECIAL_WORD_REACH))
# _SPECIAL_RE at the first of the next few positions where it matches; the empty group
# "at" marks where that is. It closes before any other group, so ``lastgroup`` is the
# same as for _SPECIAL_RE's own match there.
_SPECIAL_WINDOW = max(_SPECIAL_CHAR_REACH, *_SPECIAL_WORD_REACH.values())
_SPECIAL_WINDOW_RE = re.compile(rf"(?s:.{{0,{_SPECIAL_WINDOW}}}?)(?P<at>)(?:{_SPECIAL_RE.pattern})")


def _special_sub(s: str) -> str:
    """``_SPECIAL_RE.sub(_special_tokens, s)``, looking for matches only near anchors.

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
    emitted = scan = 0
    next_char = (_SPECIAL_ASCII_ANCHOR_RE if s.isascii() else _SPECIAL_CHAR_ANCHOR_RE).search
    window = _SPECIAL_WINDOW_RE.match
    while True:
        while wi < n_words and words[wi][0] < scan:
            wi += 1
        c = next_char(s, scan)
        if c is not None and (wi == n_words or c.start() <= words[wi][0]):
            lo = c.start() - _SPECIAL_CHAR_REACH
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
        out.append(_special_tokens(m))
        emitted = scan = m.end()
    if not out:
        return s
    out.append(s[emitted:])
    return "".join(out)


_WORD_RE = re.compile(r"[^\W_]+(?:\.[^\W_]+)*")
_ASCII_WORD_RE = re.compile(r"[A-Za-z0-9]+(?:\.[A-Za-z0-9]+)*")
_ACRONYM_RE = re.compile(r"(?<![^\W_])(?:[^\W\d_]\.){2,}")
# Every acronym match at p has ".x." (a letter between two dots) at p + 1. This
# literal-first pattern finds those in a fraction of the time _ACRONYM_RE takes to
# scan a text, and most texts have none.
_ACRONYM_HINT_RE = re.compile(r"\.[^\W\d_]\.")


def _join_acronyms(s: str) -> str:
    """``_ACRONYM_RE.sub`` dropping the dots of each match, trying only where one can start.

    A match starts one character before a ".x." hint, so the leftmost match at or
    after ``scan`` is the first success of ``_ACRONYM_RE.match`` at ``h - 1`` for the
    hints ``h`` after ``scan``, in order (hints may overlap: ".a.b." has two).
    """
    out: list[str] = []
    emitted = scan = 0
    hint = _ACRONYM_HINT_RE.search
    acronym = _ACRONYM_RE.match
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
            code = _DOLLAR_QUALIFIERS[qual] if qual else (code or "usd")
    tokens = [_canonical_number(m.group("num"), exponent)]
    if code:
        tokens.append(code)
    return tokens


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
        s = _join_acronyms(s)
    if "'" in s:
        s = _APOSTROPHE_RE.sub(_drop_apostrophe, s)
    s = _special_sub(s)
    # On ASCII text [^\W_] is exactly [A-Za-z0-9], which the engine tests from a bitmap.
    words = (_ASCII_WORD_RE if s.isascii() else _WORD_RE).findall(s)
    return list(map(_WORD_SYNONYMS.get, words, words))  # syn.get(w, w), looped in C


def _drop_apostrophe(m: re.Match[str]) -> str:
    """Possessive "'s" and in-word apostrophes go; quotes around words stay separators."""
    i = m.start()
    before = m.string[i - 1] if i else " "
    return "" if before.isalnum() else m.group(0)


def _special_tokens(m: re.Match[str]) -> str:
    kind = m.lastgroup
    if kind == "ticker":
        out = m.group("ticker")[1:-1]
    elif kind == "percent":
        out = "pct"
    elif kind == "dollar":
        qual = m.group("qual2")
        out = _DOLLAR_QUALIFIERS[qual] if qual else "usd"
    else:
        out = " ".join(_number_tokens(m))
    return f" {out} "


# --------------------------------------------------------------------------------------
# URLs
# --------------------------------------------------------------------------------------

# Tracking parameters courlan's own list misses or keeps.
_TRACKER_WORDS = (
    "fbclid gclid dclid msclkid yclid igshid mc_cid mc_eid _ga _gl ref ref_src ref_url "
    "cmpid cmp s_cid ocid ncid icid mbid ito sr_share smid soc_src "
    "soc_trk wt.mc_id __twitter_impression"
)
_EXTRA_TRACKERS = frozenset(_TRACKER_WORDS.split())


# URLs that are already in canonical form: a lower-case http(s) scheme, a lower-case
# host of ASCII letters, digits, dots and hyphens (no "xn--" label: courlan decodes
# punycode), no user, port, query or fragment, and a path of non-empty segments of
# characters that percent-quoting leaves alone and that are not dot segments. For
# these courlan and urlsplit change nothing, so the canonical form is the URL itself
# (with "/" for an empty path); checked against the full path in the tests.
_CANONICAL_URL_RE = re.compile(
    r"https?://[a-z0-9-]+(?:\.[a-z0-9-]+)*(?:/(?!\.)[A-Za-z0-9_.~-]+)*/?", re.ASCII
)


def canonical_url(url: str | None) -> str | None:
    """One spelling per article URL so re-fetched or re-shared links compare equal."""
    if url is None:
        return None
    url = url.strip()
    if _CANONICAL_URL_RE.fullmatch(url) and "xn--" not in url:
        return url if url.count("/") > 2 else url + "/"
    return _canonical_url_general(url)


def _canonical_url_general(url: str) -> str | None:
    """``canonical_url`` of a stripped URL by the full route: urlsplit, courlan, our trackers."""
    if not url or any(c.isspace() for c in url):
        return None
    if url.startswith("//"):
        url = "https:" + url
    try:
        from courlan import normalize_url

        parts = urlsplit(url)
        if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
            return None
        _ = parts.port  # raises ValueError on a non-numeric or out-of-range port
        normalized = urlsplit(normalize_url(url, strict=False))
    except (ValueError, TypeError, UnicodeError):
        return None
    query = "&".join(
        sorted(
            q
            for q in normalized.query.split("&")
            if q
            and q.split("=", 1)[0].lower() not in _EXTRA_TRACKERS
            and not q.lower().startswith("utm_")
        )
    )
    path = normalized.path or "/"
    return urlunsplit((normalized.scheme, normalized.netloc, path, query, ""))


# --------------------------------------------------------------------------------------
# Dates
# --------------------------------------------------------------------------------------

_FUTURE_SLACK = timedelta(days=1)
_MAX_DATE_CHARS = 200
_YEAR_RE = re.compile(r"(?<!\d)\d{4}(?!\d)")
# email.utils is lenient to the point of dropping AM/PM; only trust it on RFC 2822 shapes.
_RFC2822_RE = re.compile(
    r"(?:[A-Za-z]{3},\s*)?\d{1,2}\s+[A-Za-z]{3}\s+\d{4}\s+\d{1,2}:\d{2}(?::\d{2})?"
    r"\s*(?:[+-]\d{4}|[A-Z]{1,5})?\s*$"
)
_EPOCH_RE = re.compile(r"[+-]?\d{9,}(?:\.\d+)?")
_TZINFOS: dict[str, int] = {
    "UTC": 0,
    "UT": 0,
    "GMT": 0,
    "Z": 0,
    "EST": -5 * 3600,
    "EDT": -4 * 3600,
    "CST": -6 * 3600,
    "CDT": -5 * 3600,
    "MST": -7 * 3600,
    "MDT": -6 * 3600,
    "PST": -8 * 3600,
    "PDT": -7 * 3600,
    "BST": 3600,
    "CET": 3600,
    "CEST": 7200,
    "EET": 7200,
    "EEST": 3 * 3600,
    "MSK": 3 * 3600,
    "JST": 9 * 3600,
    "KST": 9 * 3600,
    "AEST": 10 * 3600,
    "AEDT": 11 * 3600,
}
_DATEUTIL_DEFAULT = datetime(2000, 1, 1)


def _from_epoch(value: float) -> datetime | None:
    if not math.isfinite(value):
        return None
    magnitude = abs(value)
    if magnitude >= 1e17:
        value /= 1e9
    elif magnitude >= 1e14:
        value /= 1e6
    elif magnitude >= 1e11:
        value /= 1e3
    try:
        return datetime.fromtimestamp(value, tz=UTC)
    except (OverflowError, OSError, ValueError):
        return None


def _parse_date_string(s: str) -> datetime | None:
    if _EPOCH_RE.fullmatch(s):
        return _from_epoch(float(s))
    try:
        return datetime.fromisoformat(s.replace("Z", "+00:00") if s.endswith("Z") else s)
    except ValueError:
        pass
    if not _YEAR_RE.search(s):
        return None  # dateutil fills missing parts from a default: "5" is not a date
    if _RFC2822_RE.match(s):
        try:
            return parsedate_to_datetime(s)
        except (TypeError, ValueError, IndexError):
            pass
    from dateutil import parser as du_parser

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return du_parser.parse(s, default=_DATEUTIL_DEFAULT, tzinfos=_TZINFOS)
    except (ValueError, OverflowError, TypeError, LookupError):
        return None


def _as_utc(dt: datetime) -> datetime:
    return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt.astimezone(UTC)


def parse_published_at(
    value: str | int | float | None, *, now: datetime
) -> tuple[datetime, str | None]:
    """A usable UTC publication time, or `now` with the reason the input was rejected."""
    now = _as_utc(now)
    if value is None or (isinstance(value, str) and not value.strip()):
        return now, "missing"
    parsed: datetime | None
    if isinstance(value, bool):
        parsed = None
    elif isinstance(value, int | float):
        try:
            parsed = _from_epoch(float(value))
        except OverflowError:
            parsed = None
    elif isinstance(value, str):
        s = value.strip()
        parsed = _parse_date_string(s) if len(s) <= _MAX_DATE_CHARS else None
    else:
        parsed = None
    if parsed is None:
        return now, "unparseable"
    try:
        parsed = _as_utc(parsed)
    except (OverflowError, ValueError):
        return now, "unparseable"
    if parsed.year < 1900:
        return now, "before_1900"
    if parsed > now + _FUTURE_SLACK:
        return now, "future"
    return parsed, None
