"""The facts two texts must share before they may be called the same story.

Templated wire items (dividends, earnings, price changes, bond issues) are
near-identical text about different news: the words agree, the numbers and the
names do not. These extractors pull out exactly those numbers and names so the
index can refuse such merges, whatever the shingle similarity says.

``Facts.entities`` is one set of keys of three kinds, told apart by a prefix:

* ``$oat``   a ticker (``<OAT>``, ``(OAT)``, ``(KUMT.TOK)``; exchange suffix dropped),
  from the title and the body: the strongest identity there is;
* ``quaker`` a name: a capitalized word that is not sentence-initial, from the body
  (and from a mixed-case title), case-folded, possessive dropped;
* ``~pay``   a word that only *may* be a name (sentence-initial capitals, every word
  of the title): never evidence against a match, only support for the other side's
  names, so that "Net" at the start of a line in one version and in mid-sentence in
  another, or a title-cased headline, do not count as different names;
* ``^quaker`` a title word that the article's own body does not contain: in templated
  notices the company is often named only in the title; compared for short items.

The index compares these sets, so their meaning is part of the journal format; the
prefixes and the comparisons the guards make are in ``fact_keys``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from streamer.models import Facts
from streamer.text.fact_keys import (
    DATE_PREFIX,
    LOOSE_PREFIX,
    REPEAT_MARK,
    TICKER_PREFIX,
    TITLE_PREFIX,
)

_NUMBER_TOKEN = re.compile(r"\d")
_TICKER = re.compile(r"[<(]([A-Z][A-Z0-9&\-]{0,11})(?:\.[A-Z]{1,4})?[>)]")
# Capitalized words and runs of them ("Kumagai Gumi", "Cheung Kong"), and all-caps acronyms.
# Written as r"\b(?:[A-Z][a-z]+(?:[-'’][A-Z]?[a-z]+)*|[A-Z][A-Z&]{1,11})\b" with the shared
# capital taken out front, so the regex engine skips ahead to capitals; "(?<!\w.)" after
# it is the leading "\b". Same matches, same order of alternatives.
NAME_RE = re.compile(r"[A-Z](?<!\w.)(?:[a-z]+(?:[-'’][A-Z]?[a-z]+)*|[A-Z&]{1,11})\b")
SENTENCE_START_RE = re.compile(r"(?:^|[.!?:;\"“”(\[]\s*|\n\s*|\s[-–—]+\s*)$")
MONTHS = {
    "january": 1, "jan": 1, "february": 2, "feb": 2, "march": 3, "mar": 3, "april": 4,
    "apr": 4, "may": 5, "june": 6, "jun": 6, "july": 7, "jul": 7, "august": 8, "aug": 8,
    "september": 9, "sept": 9, "sep": 9, "october": 10, "oct": 10, "november": 11, "nov": 11,
    "december": 12, "dec": 12,
}  # fmt: skip
# Only capitalized forms count (see months_from_text), so the pattern is case-sensitive:
# Title and UPPER case of each name, which is several times faster than IGNORECASE.
# Longest names first, so "Sept." is not read as "Sep" followed by "t.".
_MONTH_FORMS = [
    form
    for name in sorted(MONTHS, key=len, reverse=True)
    for form in (name.capitalize(), name.upper())
]
_MONTH_INITIALS = "".join(dict.fromkeys(form[0] for form in _MONTH_FORMS))
# The same matches as r"\b(?:January|JANUARY|...)\b\.?", written to start with a character
# class so the regex engine skips ahead to the next capital J, F, M, A, S, O, N or D
# instead of trying the whole alternation at every position: "(?<!\w.)" after the
# initial is the leading "\b" (no word character before it), and each initial's own
# alternatives keep their order, so backtracking tries the same forms in the same order.
MONTH_RE = re.compile(
    rf"[{_MONTH_INITIALS}](?<!\w.)(?:"
    + "|".join(
        f"(?<={initial})(?:"
        + "|".join(form[1:] for form in _MONTH_FORMS if form[0] == initial)
        + ")"
        for initial in _MONTH_INITIALS
    )
    + r")\b\.?"
)
WORD_RE = re.compile(r"[^\W_]+(?:['’-][^\W_]+)*")

# Capitalized words that carry no identity: sentence furniture, months, days,
# wire vocabulary. Kept short on purpose: a word missed here only matters if the
# other version has a different unknown name too. The question words, negations and
# contractions open quoted speech ("'Who the ...", "Don't ...") after quote marks the
# sentence test does not read as a sentence start (British papers quote in single
# quotes): a function word is never anyone's name.
_NOT_NAMES = frozenset(
    """
    the a an and but or of in on at to for from by with as it its he she they we i this
    that these those there their his her our you your said says will would could should
    may might can also however meanwhile while after before since mr mrs ms dr inc ltd
    co corp plc llc company group january february march april may june july august
    september october november december jan feb mar apr jun jul aug sep sept oct nov dec
    monday tuesday wednesday thursday friday saturday sunday reuter reuters update
    corrected ap afp one two three four five six seven eight nine ten eleven twelve
    who whom whose what which why when where how if then than so not no yes all any some
    each every both either neither nor yet just only even still here now thus because
    although though unless until whether do does did is are was were be been have has had
    let oh well please don't didn't doesn't can't won't isn't wasn't i'm i've i'd i'll
    you're you've you'll you'd we're we've we'll they're they've they'll it's that's
    there's what's let's he's she's
    """.split()
)


# Wire headline vocabulary of templated notices ("X SETS QUARTERLY", "Y RAISES PAYOUT"):
# these words say what kind of notice it is, never whose, so they are not title keys.
# The index also learns common title words from its window; this list covers a cold start.
_HEADLINE_WORDS = frozenset(
    """
    sets set declares declared raises raised lifts ups hikes boosts increases cuts lowers
    reduces omits suspends resumes pays payout payouts dividend dividends div divs qtly qtrly
    quarterly monthly semiannual semi-annual annual initial regular special extra stock split
    net profit loss earnings results qtr quarter shr revs sales rate prime price prices
    report reports sees says plans unit stake offer completes agrees up down off in on to
    """.split()
)


# A figure glued to its unit ("24in", "15st", "5.05pm", "1980s"): the figure is the fact,
# and papers write the unit their own way ("24 inches", "15 stone").
_GLUED_UNIT = re.compile(r"(\d+(?:\.\d+)?)[a-z]{1,5}")


def _figure(tok: str) -> str:
    m = _GLUED_UNIT.fullmatch(tok)
    if m is None:
        return tok
    number = m.group(1)
    return number.rstrip("0").rstrip(".") if "." in number else number


def numbers_from_tokens(tokens: Iterable[str]) -> list[str]:
    """Canonical number tokens as a multiset, in first-seen order.

    The tokens come from ``tokens.fingerprint_tokens``, which already puts
    ``1.5 mln dlrs`` and ``$1.5 million`` into one form, so plain set equality
    works here. A repeated figure gets its occurrence number (``20``, ``20#2``):
    "div 20 cts vs 20 cts prior" and "div 20 cts vs 18 cts prior" must differ
    even though both mention 20.
    """
    counts: dict[str, int] = {}
    out: list[str] = []
    for tok in tokens:
        # Most tokens are words, and a letter-only string holds no digit: skip the regex.
        if not tok.isalpha() and _NUMBER_TOKEN.search(tok):
            if not tok.isdigit():
                tok = _figure(tok)
            n = counts.get(tok, 0) + 1
            counts[tok] = n
            out.append(tok if n == 1 else f"{tok}{REPEAT_MARK}{n}")
    return out


def months_from_text(text: str) -> list[str]:
    """Month mentions as date facts (``@4`` for April), a multiset like the numbers.

    "for April shipment" and "for May shipment" are different news as surely as
    two prices are. Only capitalized forms count ("may" is a verb), and "May" at
    the start of a sentence is ambiguous enough to skip.
    """
    counts: dict[str, int] = {}
    out: list[str] = []
    for m in MONTH_RE.finditer(text):
        word = m.group(0).rstrip(".")
        if not word[:1].isupper():
            continue
        if word.casefold() == "may" and (
            word == "MAY" or SENTENCE_START_RE.search(text, max(0, m.start() - 4), m.start())
        ):
            continue
        tok = f"{DATE_PREFIX}{MONTHS[word.casefold()]}"
        n = counts.get(tok, 0) + 1
        counts[tok] = n
        out.append(tok if n == 1 else f"{tok}{REPEAT_MARK}{n}")
    return out


def word_key(word: str) -> str:
    """The key of a name or title word: case-folded, possessive and curly apostrophe gone."""
    if word.endswith(("'s", "’s")):  # a possessive names the same thing
        word = word[:-2]
    return word.casefold().replace("’", "'")


def tickers_from_text(text: str) -> list[str]:
    """Ticker keys (``$oat``) of ``<OAT>``, ``(OAT)`` and ``(KUMT.TOK)`` marks."""
    seen: dict[str, None] = {}
    for ticker in _TICKER.findall(text):
        seen.setdefault(TICKER_PREFIX + ticker.casefold(), None)
    return list(seen)


def entities_from_text(text: str) -> list[str]:
    """Tickers and proper names, case-folded, deduplicated, in first-seen order.

    A capitalized word at the start of a sentence is ambiguous (it may be any
    word): it counts as a name only when it also appears capitalized elsewhere,
    and is otherwise kept as a loose (``~``) key that can only support a match.
    """
    seen: dict[str, None] = dict.fromkeys(tickers_from_text(text))
    sentence_initial: dict[str, None] = {}
    inner: dict[str, None] = {}
    for m in NAME_RE.finditer(text):
        word = m.group(0)
        # A name is ASCII letters, "&" and "-" unless it has an apostrophe: then
        # casefold() is lower() and there is no possessive to drop.
        key = word_key(word) if "'" in word or "’" in word else word.lower()
        if key in _NOT_NAMES or len(key) < 2:
            continue
        start = m.start()
        # After a space that follows a letter or digit no SENTENCE_START_RE alternative
        # can end (each needs punctuation, a line break or a dash before the spaces):
        # the common mid-sentence case needs no regex.
        if start >= 2 and text[start - 1] == " " and text[start - 2].isalnum():
            inner.setdefault(key, None)
        elif SENTENCE_START_RE.search(text, max(0, start - 4), start) is not None:
            sentence_initial.setdefault(key, None)
        else:
            inner.setdefault(key, None)
    seen.update(inner)
    seen.update((LOOSE_PREFIX + k, None) for k in sentence_initial if k not in inner)
    return list(seen)


_ASCII_WORD_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789")


# Occurrences of a title word looked at one by one before the body's words are keyed
# once after all: a body of "aa's aa's ..." holds "aa" at every word, and looking at
# each occurrence for each title word cost a pass over the body per word.
_MAX_OCCURRENCES = 16


def _is_word_of(lower: str, word: str) -> bool | None:
    """Whether ``word`` is one of ``WORD_RE.findall(lower)``, for lower-cased ASCII ``lower``.

    On ASCII text a ``WORD_RE`` match starts at ``i`` exactly when ``lower[i]`` is a letter
    or digit and neither the character before is one, nor is it an apostrophe or hyphen
    that follows one (the previous word would have gone on through it); from such an
    ``i`` the word is ``WORD_RE.match(lower, i)``. So only the places where ``word``
    occurs are looked at, not every word of the text: the first ``_MAX_OCCURRENCES``
    of them, and None when they did not decide.
    """
    chars = _ASCII_WORD_CHARS
    i = lower.find(word)
    for _ in range(_MAX_OCCURRENCES):
        if i < 0:
            return False
        if i == 0 or not (
            lower[i - 1] in chars or (lower[i - 1] in "'-" and i >= 2 and lower[i - 2] in chars)
        ):
            m = WORD_RE.match(lower, i)
            if m is not None and m.end() == i + len(word):
                return True
        i = lower.find(word, i + 1)
    return None if i >= 0 else False


class BodyKeys:
    """Membership in ``{word_key(w) for w in WORD_RE.findall(text)}`` without keying every word.

    Keying every body word was most of the cost of the facts, yet only the few title
    words are ever looked up. For ASCII text without "'S" (nearly all wire copy) a
    lookup is answered from the lower-cased text instead, with the same result:
    lower-casing ASCII maps letters to letters and leaves every other character, so
    the words of ``text.lower()`` are the lower-cased words of ``text``; ``word_key`` is
    then ``lower()`` with a final "'s" dropped, and with no "'S" in the text a word
    ends in "'s" exactly when its lower-cased form does. So ``key`` is a body key iff
    it is a lower-cased word not ending in "'s", or ``key + "'s"`` is one.

    Any other text (non-ASCII, or with "'S") takes the direct definition, and so does
    a lookup that the first occurrences of the word in the text do not decide.
    """

    __slots__ = ("_direct", "_lower", "_text")

    def __init__(self, text: str) -> None:
        self._direct: set[str] | None = None
        self._lower = ""
        self._text = text
        if text.isascii() and "'S" not in text:
            self._lower = text.lower()
        else:
            self._direct = _body_words(text)

    def __contains__(self, key: str) -> bool:
        if self._direct is None:
            lower = self._lower
            found = False if key.endswith("'s") else _is_word_of(lower, key)
            if found is False:
                found = _is_word_of(lower, key + "'s")
            if found is not None:
                return found
            self._direct = _body_words(self._text)
        return key in self._direct


def _body_words(text: str) -> set[str]:
    return {word_key(w) for w in WORD_RE.findall(text)}


def title_keys(title: str, text: str) -> list[str]:
    """Every title word as a loose key; the ones the body never uses as title keys."""
    words = [word_key(w) for w in WORD_RE.findall(title)]
    body_words = BodyKeys(text)
    out: dict[str, None] = {}
    for w in words:
        if len(w) < 2 or w in _NOT_NAMES or _NUMBER_TOKEN.search(w):
            continue
        out.setdefault(LOOSE_PREFIX + w, None)
        if w not in _HEADLINE_WORDS and w not in body_words:
            out.setdefault(TITLE_PREFIX + w, None)
    return list(out)


# A paragraph that opens in capitals ("A POLICEMAN jailed yesterday", "'SUPERGRASSES'
# WHO claim"): two words or more, letters, quotes and hyphens, then a lower-case word.
_CAPS_WORD = r"[\"'‘“]?[A-Z][A-Z\-]*(?:['’][A-Z]+)*[\"'’”]?"  # one way to read each word
_CAPS_OPENER = re.compile(rf"(?m)^({_CAPS_WORD}(?: {_CAPS_WORD},?){{1,30}})(?= [a-z])")


def caps_opener_lowered(text: str) -> str:
    """The text with a capitals opener in lower case but its first letter (all of it after
    an opening quote, which the name rules do not read as a sentence start).

    Papers set a paragraph's first words in capitals for style; read as they are,
    every one of them looks like a name (or an acronym) the wire never had. A run of
    one word is left alone: "BBC bosses" is an acronym, not style.
    """
    if _CAPS_OPENER.search(text) is None:
        return text
    return _CAPS_OPENER.sub(_lower_run, text)


def _lower_run(m: re.Match[str]) -> str:
    run = m.group(1)
    if not run[0].isalpha():  # after an opening quote the first word is not sentence-initial
        return run.lower()
    return run[0] + run[1:].lower()


def extract_facts(title: str, text: str, fp_tokens: Iterable[str]) -> Facts:
    """Facts of one article: numbers from fingerprint tokens, names from display text.

    Titles in the wire corpus are all caps and web titles are often title-cased,
    which would make every word look like a name, so title words are loose keys
    (support only) plus title-only keys; tickers count from the title too.
    """
    entities: dict[str, None] = dict.fromkeys(tickers_from_text(title))
    text = caps_opener_lowered(text)
    for key in entities_from_text(text):
        entities.setdefault(key, None)
    for key in title_keys(title, text):
        if key[1:] not in entities:
            entities.setdefault(key, None)
    numbers = numbers_from_tokens(fp_tokens) + months_from_text(text)
    return Facts(numbers=numbers, entities=list(entities))
