"""Press Association wire copy as its readers see it: slug block, hard wraps and codes gone.

PA sends copy in an old teleprinter layout that no paper prints: a slug block
(rules of dashes, ``12:34 21/06/00: Page 1 (HHH) COURTS Boy``), editorial notes
(``(with pic)``, ``(reopens)``, ``Embargoed to ...``), an all-caps headline, a
``By ..., PA News`` byline, lines hard-wrapped at 80 columns, ``<`` at each
paragraph's end (and a control character at the next one's start), a sign-off
code (``mf``, ``mfl``, ``end``), ``#`` for the pound sign and ``quotes like this''.
Left in, they are shingles and "facts" (the slug's time and date, ``COURTS``,
``PA``) that no newspaper version of the story carries, so the wire take and the
paper's article it became look like different texts.

``split_wire`` is applied only to text that shows the layout (a slug line, or
``<`` ending several lines): any other text passes untouched.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_SLUG = re.compile(r"^\s*\d\d:\d\d \d\d/\d\d/\d\d:.*$", re.MULTILINE)
_PARA_END = re.compile(r"<[ \t]*$", re.MULTILINE)
_RULE = re.compile(r"^\s*-{10,}\s*$")
# A paragraph break: "<" ending a line, a control character starting one, or a blank line.
_BREAK = re.compile(r"<[ \t]*\n|\n[ \t]*[\x00-\x08\x0b-\x1f]+|\n[ \t]*\n")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f]")
# Editorial notes: short ones only, so an advisory that is all note stays a text.
_NOTE = re.compile(
    r"^(?:\([^()]{0,100}\)|embargoed\b.*|attention\b.*|(?:new |night)?lead\b.*|substitute\b.*)$",
    re.IGNORECASE,
)
_BYLINE = re.compile(r"^By [^.]{1,80}\b(?:PA|Press Association)\b.*$")
_SIGN_OFF = re.compile(r"^(?:[a-z]{1,4}|ends?|END|ENDS|Ends|more|MORE)$")
_POUND = re.compile(r"#(?=\d)")
_WIRE_DASH = re.compile(r"(?<=\s)_(?=\s)")


@dataclass(frozen=True, slots=True)
class WireText:
    headline: str
    body: str


def looks_like_wire(text: str) -> bool:
    """A PA slug line near the top, or ``<`` ending three lines or more."""
    if _SLUG.search(text, 0, 1200) is not None:
        return True
    return any(count >= 3 for count, _ in enumerate(_PARA_END.finditer(text), start=1))


def _is_headline(paragraph: str) -> bool:
    letters = [c for c in paragraph if c.isalpha()]
    return len(letters) >= 4 and not any(c.islower() for c in letters)


def wire_characters(text: str) -> str:
    """The old wire charset in today's: ``#`` before a figure is ``£``, ``quotes''."""
    text = _POUND.sub("£", text)
    text = text.replace("``", '"').replace("''", '"').replace("`", "'")
    return _WIRE_DASH.sub("-", text)


def split_wire(text: str) -> WireText:
    """The headline and the body (paragraphs one per line pair) of a PA wire text."""
    lines = text.split("\n")
    head = 0
    # The slug block: the lines at the top that are blank, rules of dashes or slug lines
    # (only at the top, so that what is left never starts with one: a fixpoint).
    while head < len(lines) and (
        not lines[head].strip() or _RULE.match(lines[head]) or _SLUG.match(lines[head])
    ):
        head += 1
    raw = "\n".join(lines[head:])
    paragraphs = [" ".join(_CONTROL.sub(" ", p).split()) for p in _BREAK.split(raw)]
    paragraphs = [p.rstrip("<").rstrip() for p in paragraphs]
    paragraphs = [p for p in paragraphs if p]
    headline = ""
    start = 0
    # Editorial notes and the headline come before the first paragraph of prose.
    while start < len(paragraphs) and start < 6:
        p = paragraphs[start]
        if _NOTE.match(p):
            start += 1
        elif _is_headline(p):
            headline = p
            start += 1
        else:
            break
    if start < len(paragraphs) and _BYLINE.match(paragraphs[start]):
        start += 1
    end = len(paragraphs)
    while end > start and _SIGN_OFF.match(paragraphs[end - 1]):
        end -= 1
    body = "\n\n".join(wire_characters(p) for p in paragraphs[start:end])
    return WireText(wire_characters(headline), body)
