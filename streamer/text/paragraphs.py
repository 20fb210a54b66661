"""Story paragraphs from clean lines: wire lines rejoined, furniture dropped, ends trimmed.

Wire copy is hard-wrapped, with indented paragraph starts; pages give one paragraph
per block. ``boilerplate`` drops the furniture among the lines and paragraphs; the
trims here (a repeated headline and a dateline at the start, credits at the end of a
paragraph, a sign-off at the end) work on whole paragraphs, and each can expose the
next, so they run to a fixpoint.
"""

from __future__ import annotations

import re

from streamer.text.boilerplate import (
    BULLET_RE,
    GALLERY_END_RE,
    GALLERY_HEAD_RE,
    HEADLINE_MAX,
    RELATED_HEAD_RE,
    TERMINAL_RE,
    filter_units,
    is_boilerplate_unit,
)
from streamer.text.tokens import fingerprint_tokens

_I = re.IGNORECASE
# A credit closing a paragraph, "(Reporting by Jane Doe; Editing by John Roe)"; the
# trailing ones go, each with the spaces before it (``_credits_start``).
_CREDIT_RE = re.compile(
    r"\((?:(?:additional|further) )?(?:reporting|writing|editing|compiled|edited|"
    r"translated)\s+by\b[^()]{0,300}\)",
    _I,
)
# "... said. REUTER": a sign-off after a closing mark and spaces ends the last paragraph.
_SIGNOFF_AFTER = frozenset(".!?\"')]")
_MAX_FINISH_ROUNDS = 16
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


def _strip_datelines(p: str) -> str:
    """``p`` without its leading datelines (a wire story can carry two), then stripped.

    Matches at a position rather than on a slice of what is left, so that a
    paragraph of thousands of datelines costs one pass, not one copy each.
    """
    pos = 0
    n = len(p)
    while True:
        m = _DATELINE_RE.match(p, pos)
        if not m or not (m.group("date") or m.group("agency")):
            break
        if not m.group("agency") and not m.group("city").isupper():
            break
        pos = m.end()
        while pos < n and p[pos].isspace():
            pos += 1
    return p[pos:].strip() if pos else p


def _credits_start(p: str, end: int) -> int:
    """Where ``p[:end]`` ends once its trailing credits (and the spaces before each) are gone.

    A regex substitution anchored at the end removed one credit and searched the
    whole paragraph to find it; a paragraph of repeated credits took one search per
    credit. A credit's "(" is the last one before the final ")", so each is found
    from the end, and the cost is the length of what is removed.
    """
    while end and p[end - 1] == ")":
        i = p.rfind("(", 0, end - 1)
        if i < 0 or p.find(")", i, end - 1) >= 0 or not _CREDIT_RE.fullmatch(p, i, end):
            break
        end = i
        while end and p[end - 1].isspace():
            end -= 1
    return end


def _without_credits(p: str) -> str:
    end = _credits_start(p, len(p))
    return p if end == len(p) else p[:end].strip()


def _last_trimmed(p: str) -> str:
    """The last paragraph without trailing credits and "REUTER" sign-offs, in any order.

    Each removal can expose the other ("... (reporting by A) Reuter"); both are found
    from the end, so a paragraph of alternating ones costs its length once.
    """
    end = len(p)
    while True:
        end = _credits_start(p, end)
        if not p.endswith(("REUTER", "Reuter"), 0, end):
            break
        # "said. REUTER": spaces after a closing mark, then the sign-off.
        k = end - 6
        while k and p[k - 1].isspace():
            k -= 1
        if k == end - 6 or not k or p[k - 1] not in _SIGNOFF_AFTER:
            break
        end = k
    return p if end == len(p) else p[:end].strip()


def _is_headline(p: str, title_fp: str) -> bool:
    return bool(
        title_fp
        and len(p) <= 2 * len(title_fp) + 20
        and " ".join(fingerprint_tokens(p)) == title_fp
    )


def _edge_unit_dropped(p: str) -> bool:
    """Whether ``filter_units`` drops ``p`` wherever it stands, whatever is around it.

    A boilerplate unit is dropped on its own; a gallery head or end may be dropped
    with a whole block, which only ``filter_units`` can see, so those wait for it.
    """
    return (
        is_boilerplate_unit(p)
        and not (len(p) <= 200 and GALLERY_HEAD_RE.fullmatch(p))
        and not (len(p) <= 60 and GALLERY_END_RE.fullmatch(p))
    )


def _trim_start(paras: list[str], title_fp: str) -> list[str]:
    """Headline repeats, datelines and furniture off the start, until none is left.

    Each can expose the next (a dateline before a repeated headline, a share bar
    after it); doing them here in turn, rather than one per round of ``_finish``,
    keeps a text of thousands of such paragraphs at one pass. ``paras`` is what
    ``filter_units`` kept, so only a paragraph a trim changed can be furniture.
    """
    i, n = 0, len(paras)
    first = paras[0] if paras else ""
    while i < n:
        changed = first is not paras[i]
        if changed and len(first) <= 80 and RELATED_HEAD_RE.fullmatch(first):
            # Before the furniture test, as in filter_units: a head takes its links along.
            i += 1
            while i < n and (
                BULLET_RE.match(paras[i])
                or (len(paras[i]) <= HEADLINE_MAX and not TERMINAL_RE.search(paras[i]))
            ):
                i += 1
        elif _is_headline(first, title_fp) or (changed and _edge_unit_dropped(first)):
            i += 1
        else:
            stripped = _strip_datelines(first)
            if stripped == first:
                break
            if stripped:
                first = stripped
                continue
            i += 1
        first = paras[i] if i < n else ""
    if i >= n:
        return []
    if i == 0 and first is paras[0]:
        return paras
    return [first, *paras[i + 1 :]]


def _trim_end(paras: list[str], changed: set[int]) -> list[str]:
    """Credits, sign-offs and furniture off the end, until none is left (see _trim_start).

    ``changed`` holds the ids of the paragraphs the credits trim changed this round:
    they, and what ``_last_trimmed`` changes, are the ones that can now be furniture.
    """
    n = len(paras)
    while n:
        before = paras[n - 1]
        last = _last_trimmed(before)
        if last and not (len(last) <= 20 and _SIGNOFF_RE.fullmatch(last)):
            if not (last is not before or id(before) in changed):
                break
            if not _edge_unit_dropped(last) and not (
                len(last) <= 80 and RELATED_HEAD_RE.fullmatch(last)
            ):
                break
        n -= 1
    if not n:
        return []
    if n == len(paras) and last is paras[-1]:
        return paras
    return [*paras[: n - 1], last]


def _without_trailing_credits(paras: list[str]) -> tuple[list[str], set[int]]:
    """Every paragraph without its trailing credits, and the ids of those that had some."""
    out: list[str] = []
    changed: set[int] = set()
    for p in paras:
        if p[-1:] == ")":
            q = _without_credits(p)
            if q is not p:
                if not q:
                    continue
                changed.add(id(q))
                p = q
        out.append(p)
    return out, changed


def _finish(paras: list[str], title_fp: str) -> list[str]:
    """Paragraph-level rules, run to a fixpoint because each can expose the next.

    The trims at either end run to their own fixpoint inside a round, so a round
    is needed again only where ``filter_units`` sees a block that a trim made; real
    texts settle in two or three. Rounds are capped all the same: each costs a pass
    over every paragraph, and a text built to need one round per paragraph would
    otherwise be quadratic. A text stopped by the cap is left as the last round made it.
    """
    for _ in range(_MAX_FINISH_ROUNDS):
        new = _trim_start([p for p in filter_units(paras) if p], title_fp)
        new = _trim_end(*_without_trailing_credits(new))
        if new == paras:
            return new
        paras = new
    return paras


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
