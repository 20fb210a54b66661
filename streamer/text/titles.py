"""Headlines without the wire's prefixes and the site's name.

"UPDATE 2-Oil rises", "BREAKING: Oil rises" and "Oil rises | Daily News" are one
headline; the title is part of the fingerprint, so each outlet's dressing would
otherwise count against the match.
"""

from __future__ import annotations

import re

_I = re.IGNORECASE
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


def strip_title_affixes(title: str) -> str:
    """``title`` (one spelling, no markup, single spaces) without prefixes and site names.

    Prefixes and suffixes can be stacked ("UPDATE 1-BREAKING: ..."), so both are
    removed to a fixpoint; a step that would leave nothing is not taken.
    """
    s = title
    while True:
        new = _TITLE_PREFIX_RE.sub("", s, count=1) if _TITLE_PREFIX_RE.match(s) else s
        if new == s and (ci := _TITLE_PREFIX_CI_RE.match(s)):
            new = s[ci.end() :]
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
