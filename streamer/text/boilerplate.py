"""Which lines and paragraphs are page furniture rather than story.

Share bars, ads, promos, "read more" lines, related-link lists, bylines, credits,
copyright notices and photo galleries are what outlets add around the same wire
text; left in, they make two copies of one story look different and two different
stories look alike. A "unit" is one line of raw text or one built paragraph: the same
filter runs on both, so display text fed back in is a fixpoint.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

_I = re.IGNORECASE
_SHARE_WORDS = (
    r"share(?: (?:this|on|via|the|by) ?\w*(?: \w+)?)?|tweet|email|e-mail|mail|print|facebook|"
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
RELATED_HEAD_RE = re.compile(
    r"(?:read more|related(?: articles| stories| news| coverage| content| posts| links| topics)?"
    r"|more (?:stories|news|articles|from [\w .]{1,40}|on this (?:story|topic))"
    r"|you (?:may|might) also (?:like|be interested in)|recommended(?: for you| stories| articles)?"
    r"|most (?:read|popular|viewed|shared)|trending(?: now| stories)?|editor'?s picks"
    r"|latest (?:news|stories)|top stories|what to read next|further reading)\s*:?",
    _I,
)
BULLET_RE = re.compile(r"[-*•·▪►>]\s")
TERMINAL_RE = re.compile(r"[.!?;:]['\")\]]*$")
_NAME = r"[A-Z][\w.'-]*"
_PERSON = (
    rf"{_NAME}(?:\s+(?:{_NAME}|(?:de|da|di|del|della|der|den|van|von|la|le|du|dos|bin|al|el|ter)"
    rf"(?=\s))){{0,4}}"
)
_BYLINE_RE = re.compile(
    rf"(?:[Bb]y|BY|Written by|Posted by|Words by|Author:)\s+{_PERSON}"
    rf"(?:\s*(?:,|and|&)\s*{_PERSON})*"
    # a desk rather than a person: "By Metro Times staff, with wire services"
    r"(?:\s+(?:staff(?: writers?| reporters?)?|correspondents?|reporters?))?"
    r"(?:\s*[,|/-]\s*[\w .,:/-]{0,80})?"
)
_CREDITS_RE = re.compile(
    r"\(?\s*(?:(?:additional|further) reporting|reporting|writing|editing|edited|compiled|"
    r"reported|research|graphics?|photos?|video|produced|translated)\s+by\b.{0,300}",
    _I,
)
_COPYRIGHT_RE = re.compile(
    r"(?:©|\(c\)\s|copyright\b|all rights reserved).{0,300}|.{0,200}all rights reserved\.?", _I
)
# A gallery block needs its closing "Showing N photos" line, so its head may carry a
# caption; a head standing alone is only dropped when it is nothing but the label.
GALLERY_HEAD_RE = re.compile(
    r"(?:photo ?gallery|image gallery|video gallery|picture gallery|gallery|slideshow|"
    r"in pictures|photos)\b.{0,150}",
    _I,
)
_GALLERY_LABEL_RE = re.compile(
    r"(?:photo ?gallery|image gallery|video gallery|picture gallery|gallery|slideshow|"
    r"in pictures|photos)\s*:?",
    _I,
)
GALLERY_END_RE = re.compile(
    r"(?:showing|view(?: all)?|see(?: all)?|browse)?\s*\d+\s+(?:photos|images|pictures|"
    r"slides)\b.{0,30}|\d+ of \d+ (?:photos|images|pictures|slides)",
    _I,
)
# The first letters, in either case, of the alternatives of GALLERY_HEAD_RE and
# RELATED_HEAD_RE. Under IGNORECASE an ASCII character matches a letter only in its
# two cases, so a unit starting with any other ASCII character matches neither (the
# tests derive these sets from the parsed patterns).
GALLERY_HEAD_INITIALS = frozenset("pivgsPIVGS")
RELATED_HEAD_INITIALS = frozenset("rmytelwfRMYTELWF")
_GALLERY_MAX_UNITS = 15
_GALLERY_MAX_CHARS = 3000
HEADLINE_MAX = 150
# One cheap check rejects most units before the specific rules run.
_CANDIDATE_PATTERN = (
    r"[-*•·▪►>(©\d]|by\b|written|posted|words|author|share|tweet|e-?mail|mail|print|face|"
    r"twit|x\b|link|whats|pint|redd|tele|mess|flip|cop|save|book|comm|adv|spon|ad\b|promo|"
    r"paid|scroll|cont|story|skip|clos|menu|search|home|load|subs|sign|news|get|follow|join|"
    r"down|click|tap|supp|alre|log|read|also|see|rel|more|rec|watch|list|you|most|trend|"
    r"edit|late|top|what|furth|add|report|writ|compil|research|graph|photo|video|prod|"
    r"transl|all|reut|-|gallery|image|picture|slide|in pictures|show|view|brow"
)
CANDIDATE_RE = re.compile(_CANDIDATE_PATTERN, _I)


def _candidate_dispatch() -> dict[str, re.Pattern[str] | None]:
    """CANDIDATE_RE cut down to the alternatives that can start with each ASCII character.

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


def is_candidate_unit(u: str) -> bool:
    """``CANDIDATE_RE.match(u)``, via the first character's alternatives when it is ASCII."""
    first = u[:1]
    if first and first.isascii():
        pattern = _CANDIDATE_BY_FIRST[first]
        return pattern is not None and pattern.match(u) is not None
    return CANDIDATE_RE.match(u) is not None


# Each furniture rule with the longest unit it applies to.
_RULES: tuple[tuple[int, re.Pattern[str]], ...] = (
    (200, _SHARE_RE),
    (200, _AD_RE),
    (200, _PROMO_RE),
    (250, _READ_MORE_LINE_RE),
    (150, _BYLINE_RE),
    (320, _CREDITS_RE),
    (320, _COPYRIGHT_RE),
    (60, GALLERY_END_RE),
    (20, _GALLERY_LABEL_RE),
)


def _rules_by_length() -> tuple[tuple[int, re.Pattern[str]], ...]:
    """For each length bound, one pattern: the alternation of the rules a unit that long meets.

    Trying nine patterns one call at a time cost a unit that starts like furniture
    (a bullet, a number) ~8 us, and a text of 130,000 "- x" lines seconds. The
    alternation fullmatches exactly when one of its rules does; each rule keeps its
    own flags in a scoped group.
    """
    out = []
    for bound in sorted({limit for limit, _ in _RULES}):
        parts = [
            f"(?{'i' if rule.flags & re.IGNORECASE else '-i'}:{rule.pattern})"
            for limit, rule in _RULES
            if limit >= bound
        ]
        out.append((bound, re.compile("|".join(parts))))
    return tuple(out)


_RULES_BY_LENGTH = _rules_by_length()


def is_boilerplate_unit(u: str) -> bool:
    """Whether one unit, on its own, is furniture: any rule of ``_RULES`` that applies to it."""
    if not is_candidate_unit(u):
        return False
    n = len(u)
    for bound, rules in _RULES_BY_LENGTH:
        if n <= bound:
            return rules.fullmatch(u) is not None
    return False


def filter_units(units: Sequence[str]) -> list[str]:
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
            and (first in GALLERY_HEAD_INITIALS or not other)
            and GALLERY_HEAD_RE.fullmatch(u)
        ):
            end = _gallery_end(units, i)
            if end is not None:
                i = end + 1
                continue
        if (
            len(u) <= 80
            and (first in RELATED_HEAD_INITIALS or not other)
            and RELATED_HEAD_RE.fullmatch(u)
        ):
            i += 1
            while i < n and (
                not units[i]
                or BULLET_RE.match(units[i])
                or (len(units[i]) <= HEADLINE_MAX and not TERMINAL_RE.search(units[i]))
            ):
                i += 1
            continue
        if not is_boilerplate_unit(u):
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
        if len(u) <= 60 and GALLERY_END_RE.fullmatch(u):
            return j
        seen += 1
        chars += len(u)
        if seen > _GALLERY_MAX_UNITS or chars > _GALLERY_MAX_CHARS:
            return None
    return None
