"""Story paragraphs from clean lines: wire lines rejoined, furniture dropped, ends trimmed.

Wire copy is hard-wrapped, with indented paragraph starts; pages give one paragraph
per block. ``boilerplate`` drops the furniture among the lines and paragraphs; the
trims here (a repeated headline and a dateline at the start, credits at the end of a
paragraph, a sign-off at the end) work on whole paragraphs, and each can expose the
next, so they run to a fixpoint.
"""

from __future__ import annotations

import re

from streamer.text.boilerplate import BULLET_RE, TERMINAL_RE, filter_units
from streamer.text.tokens import fingerprint_tokens

_I = re.IGNORECASE
_TRAILING_CREDITS_RE = re.compile(
    r"\s*\((?:(?:additional|further) )?(?:reporting|writing|editing|compiled|edited|"
    r"translated)\s+by\b[^()]{0,300}\)\s*$",
    _I,
)
_INLINE_SIGNOFF_RE = re.compile(r"(?<=[.!?\"')\]])\s+(?:REUTER|Reuter)$")
_SIGNOFF_RE = re.compile(r"(?:-+\s*)?\(?reuters?\)?\s*\.?", _I)
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
        new = [p for p in filter_units(paras) if p]
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
        if cur and (ind or BULLET_RE.match(line) or TERMINAL_RE.search(cur[-1])):
            paras.append(" ".join(cur))
            cur = []
        cur.append(line)
    if cur:
        paras.append(" ".join(cur))
    return [" ".join(p.split()) for p in paras]


def story_paragraphs(text: str, title_fp: str) -> list[str]:
    """The story's paragraphs of a text without markup, in display form.

    ``title_fp`` is the fingerprint form of the title, so that a headline repeated
    above the story can be recognised in any spelling.
    """
    raw = text.split("\n")
    lines = [" ".join(r.split()) for r in raw]
    indented = [r.startswith((" ", "\t")) for r in raw]
    keep = filter_units(lines)
    if len(keep) != len(lines):
        # Indentation only matters for paragraph starts; recompute for kept lines.
        kept_ind: list[bool] = []
        j = 0
        for line, ind in zip(lines, indented, strict=True):
            if j < len(keep) and line == keep[j]:
                kept_ind.append(ind)
                j += 1
        lines, indented = keep, kept_ind
    return _finish(_build_paragraphs(lines, indented), title_fp)
