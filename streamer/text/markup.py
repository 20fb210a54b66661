"""No tag left in display text, and the Reuters angle tags that are content kept.

Fragments, feed bodies with stray markup and pages the extractor rejects all come
through here; every pass is linear (``str.find`` and bounded regexes), so hostile
markup costs bounded time.
"""

from __future__ import annotations

import re

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


def strip_tags(s: str) -> str:
    """Linear HTML-to-text fallback for fragments and for pages the extractor rejects."""
    s = _drop_comments(s)
    s = _drop_blocks(s)
    s = _BLOCK_TAG_RE.sub("\n\n", s)
    s = _BR_TAG_RE.sub("\n", s)
    s = _INLINE_TAG_RE.sub("", s)
    return _ANY_TAG_RE.sub(" ", s)


def _angle_tag(inner: str) -> str:
    """What one angle pair (``_ANGLE_RE``'s group) becomes: its ticker, its name, or a gap."""
    if "\n" in inner:
        if inner.count("\n") > 2:
            return " "
        inner = " ".join(inner.split())
    if _TICKER_RE.fullmatch(inner):
        return f"({inner})"
    if _NAME_TAG_RE.fullmatch(inner) and inner.split(None, 1)[0] not in _HTML_TAG_NAMES:
        return inner
    return " "


# The first character of a tag that ``_ANY_TAG_RE`` removes.
_TAG_START = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz/!?")
_BRACKET_SPLIT_RE = re.compile(r"([<>])")


def _replace_pair(inner: str, angle_first: bool) -> tuple[str | None, int]:
    """What a bracket pair around ``inner`` becomes, and how many passes after the first
    that sees it (an angle pass when ``angle_first``, else a tag pass) that happens.

    The angle pass (``_ANGLE_RE``) takes a pair of 1..200 characters, the tag pass
    (``_ANY_TAG_RE``) one that starts like a tag. None: no pass ever replaces it.
    """
    by_angle = 1 <= len(inner) <= 200
    by_tag = inner[:1] in _TAG_START
    if angle_first:
        if by_angle:
            return _angle_tag(inner), 0
        return (" ", 1) if by_tag else (None, 0)
    if by_tag:
        return " ", 0
    return (_angle_tag(inner), 1) if by_angle else (None, 0)


def resolve_angles(s: str) -> str:
    """The fixpoint of rounds of ``_ANGLE_RE.sub(_angle_tag)`` then ``_ANY_TAG_RE.sub(" ")``.

    Replacing one pair can make a new one ("<<a>b>" -> "< b>", "<<0>>" -> "<(0)>"),
    which a second normalization would then remove, so the rounds went on to a
    fixpoint; nested brackets took one round per level over the whole text, which
    was quadratic ("<" * 40,000 + ">" * 40,000: 13 s). This is the same fixpoint in
    one pass. A pair is replaced once nothing bracketed is left inside it, by a
    function of its inner text only; replacements hold no bracket, so the pairs
    nest like parentheses and a stack finds them. Which rule takes a pair depends
    on the pass that first sees it bracket-free, one after the pass that replaced
    the last pair inside it. Passes are numbered as the rounds ran them: round r's
    angle pass is 2r - 1, its tag pass 2r. A pair no pass takes (``<>``, a long one
    not starting like a tag) stays, and so does every pair around it.
    """
    if "<" not in s or ">" not in s:
        return s
    parts = _BRACKET_SPLIT_RE.split(s)  # text, bracket, text, ..., bracket, text
    out = [parts[0]]
    opened: list[int] = []  # where each open "<" is in ``out``
    ready: list[int] = []  # the first pass that could see its pair bracket-free
    replaced: dict[tuple[str, bool], tuple[str | None, int]] = {}
    for k in range(1, len(parts), 2):
        if parts[k] == "<":
            opened.append(len(out))
            ready.append(1)
            out.append("<")
        elif not opened:
            out.append(">")
        else:
            start = opened.pop()
            first = ready.pop()
            inner = out[-1] if len(out) == start + 2 else "".join(out[start + 1 :])
            key = (inner, first % 2 == 1)
            hit = replaced.get(key)
            if hit is None:
                hit = replaced[key] = _replace_pair(*key)
            replacement, later = hit
            if replacement is None:
                out.append(">")
                opened.clear()  # the brackets left here are inside every open pair
                ready.clear()
            else:
                del out[start:]
                out.append(replacement)
                if ready and ready[-1] < first + later + 1:
                    ready[-1] = first + later + 1
        out.append(parts[k + 1])
    return "".join(out)


def remove_markup(s: str) -> str:
    """Leave no tag in display text while keeping Reuters ticker and company tags."""
    if "<" not in s:
        return s
    if _HTMLISH_RE.search(s):
        s = strip_tags(s)
    return resolve_angles(s)
