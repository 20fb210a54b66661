"""One spelling of every character: mojibake repaired, entities unescaped, one typography.

Outlets differ in encoding accidents and typography, not in content: "â€™", "’" and
"'" are one apostrophe, a no-break space is a space, "&amp;amp;" is "&". Quotes,
dashes, spaces and line breaks each get one form and invisible format characters go;
hashing any of these apart would split one story into many.
"""

from __future__ import annotations

import html as _html
import re
import sys
import unicodedata
from functools import lru_cache

import ftfy

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


# ASCII controls ftfy removes (remove_control_chars) or rewrites (terminal escapes,
# fix_line_breaks); a line holding none of them is one ftfy leaves as it is.
_FTFY_ASCII_CONTROL_RE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def fix_text_lines(s: str) -> str:
    """``ftfy.fix_text(s, _FTFY_CONFIG)``, without handing it the lines it cannot change.

    ftfy fixes a text one line at a time (each segment ends after a "\n", or after
    ``max_decode_length`` characters of a longer line) and nothing carries from one
    segment to the next; a printable-ASCII line goes through all its fixers unchanged
    (no mojibake, ligature, wide or curly character, line break or control to fix, and
    NFKC keeps ASCII), at a cost. So runs of lines that are not ASCII go to ftfy, each
    starting at a line start and so cut into the same segments, and the rest is kept:
    the same text, byte for byte (the tests compare both on the shared corpora).
    """
    if _FTFY_ASCII_CONTROL_RE.search(s):
        return ftfy.fix_text(s, _FTFY_CONFIG)
    lines = s.split("\n")
    segments = [line + "\n" for line in lines[:-1]]
    if lines[-1]:
        segments.append(lines[-1])
    out: list[str] = []
    run: list[str] = []  # consecutive segments that are not ASCII
    for segment in segments:
        if segment.isascii():
            if run:
                out.append(ftfy.fix_text("".join(run), _FTFY_CONFIG))
                run = []
            out.append(segment)
        else:
            run.append(segment)
    if run:
        out.append(ftfy.fix_text("".join(run), _FTFY_CONFIG))
    return "".join(out)


# How many characters NFKC may add to a text. Real text gains a few (ligatures, "…");
# U+FDFA gains 17 each, and every pass after this one costs per character (ftfy
# alone ~2 us per character it is handed expanded), so 100 KB of it took seconds.
MAX_NFKC_GROWTH = 100_000


class TextTooLarge(ValueError):
    """A text that NFKC would grow by more than ``MAX_NFKC_GROWTH`` characters."""

    def __init__(self, growth: int) -> None:
        super().__init__(
            f"NFKC normalization would add {growth} characters to the text "
            f"(at most {MAX_NFKC_GROWTH})"
        )
        self.growth = growth


def fix_chars(s: str) -> str:
    """Repair mojibake and settle on one spelling of every character.

    Raises ``TextTooLarge`` for a text made mostly of characters that NFKC expands.
    """
    if "\r" in s:
        s = s.replace("\r\n", "\n").replace("\r", "\n")
    s = _unescape_entities(s)
    if s.isascii():
        return s.translate(_ASCII_TABLE)
    if not unicodedata.is_normalized("NFKC", s):
        growth = len(unicodedata.normalize("NFKC", s)) - len(s)
        if growth > MAX_NFKC_GROWTH:
            raise TextTooLarge(growth)
    try:
        s = fix_text_lines(s)
    except Exception:  # ftfy is heuristic code; a bad guess must not lose the article
        s = unicodedata.normalize("NFKC", s)
    table = _char_table()
    s = s.translate(table)
    # Dropping format characters can expose new compositions, and NFKC can produce
    # characters the table maps, so settle both (the second translate only maps).
    return unicodedata.normalize("NFKC", s).translate(table)
