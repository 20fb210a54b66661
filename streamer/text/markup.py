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


def remove_markup(s: str) -> str:
    """Leave no tag in display text while keeping Reuters ticker and company tags."""
    if "<" not in s:
        return s
    if _HTMLISH_RE.search(s):
        s = strip_tags(s)
    # Replacing one tag can make a new one ("<<a>b>" -> "< b>", "<<0>>" -> "<(0)>"),
    # which a second normalization would then remove: go on to a fixpoint. Every
    # replacement removes a "<" and a ">", so this ends.
    while True:
        s, n_angle = _ANGLE_RE.subn(_angle_tag, s)
        s, n_tags = _ANY_TAG_RE.subn(" ", s)
        if not (n_angle or n_tags):
            return s
