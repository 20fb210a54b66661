"""The fact guards: two similar texts are one story only if neither substitutes the other's facts.

Templated items (dividend notices, price reports, two banks' prime rates) share
almost every shingle and are still different news, so a pair that passed on
similarity must also pass, in this order:

* tickers: two versions that name different tickers are different companies;
* numbers: each figure of one version must be in the other, unless only one side
  has extra figures (a cut drops figures, an update adds them; a templated item
  about another price or another company *substitutes* them);
* names: the same substitution test for proper names, tolerant of restyling
  (case, possessives, a one-letter typo) because a name only counts as missing
  when the other version has no such word at all;
* title: short items (a dividend notice's body is the same for every company)
  are judged on title and body together: their title-only words must agree too.

Each guard is a function of the two versions' fact views; the names and title
guards also ask how many indexed articles carry a word (its document frequency,
``count``), because a word that many articles carry ("Government", "Market")
identifies nothing.

Facts differing on both sides are still not proof of different news: real
editors add an age, a town or a rank the wire lacked and drop others in one
rewrite. When the caller can tell where the facts sit (``aligned``, see
``dedup.align``), the numbers and names guards refuse only a substitution *in
aligned context*: a fact of one version written where the other writes a
different one. Short items (under ``aligned_min_tokens``) keep the stricter
rule: a templated notice is a sentence or two, names its company in runs of
words ("TCF Banking and Savings FA said") that one fact's context cannot pin
down, and its overlap says little. Without ``aligned`` (no tokens for the item)
every pair keeps the stricter rule.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from streamer.config import DedupSettings
from streamer.text.fact_keys import (
    LOOSE_PREFIX,
    TICKER_PREFIX,
    TITLE_PREFIX,
    figure_key,
    near_spelling,
)

_PREFIXES = frozenset((TICKER_PREFIX, LOOSE_PREFIX, TITLE_PREFIX))

Count = Callable[[str], int]  # indexed articles carrying an entity key (0 if none)
# Whether one of the item's facts (first) sits where the candidate writes one of its own;
# the flag asks for both sides of its place (names) or lets one do (figures).
Aligned = Callable[[list[str], list[str], bool], bool]


@dataclass(frozen=True, slots=True)
class FactView:
    """One version's facts split by kind, computed once per version for the guards."""

    numbers: frozenset[str]
    n_tokens: int
    tickers: frozenset[str]
    names: frozenset[str]
    title_words: frozenset[str]
    support: frozenset[str]  # every word of every kind: what can back the other's facts

    @classmethod
    def of(cls, numbers: frozenset[str], entities: Iterable[str], n_tokens: int) -> FactView:
        keys = entities if isinstance(entities, frozenset) else frozenset(entities)
        tickers = frozenset(k[1:] for k in keys if k[:1] == TICKER_PREFIX)
        titles = frozenset(k[1:] for k in keys if k[:1] == TITLE_PREFIX)
        loose = frozenset(k[1:] for k in keys if k[:1] == LOOSE_PREFIX)
        names = frozenset(k for k in keys if k[:1] not in _PREFIXES)
        return cls(numbers, n_tokens, tickers, names, titles, names | tickers | titles | loose)


def unsupported(mine: frozenset[str], theirs: frozenset[str]) -> list[str]:
    """The keys of ``mine`` that the other version has in no spelling (one-letter typos ok)."""
    missing = mine - theirs
    if not missing:
        return []
    out = []
    for key in missing:
        n = len(key)
        if n >= 5 and any(
            abs(len(other) - n) <= 1 and near_spelling(key, other) for other in theirs
        ):
            continue
        if n >= 3 and key.isalpha() and any(abbreviates(key, other) for other in theirs):
            continue
        if hyphenated_alike(key, theirs):
            continue
        out.append(key)
    return out


def hyphenated_alike(key: str, theirs: frozenset[str]) -> bool:
    """``key`` is the other version's name with or without its hyphen: "bathurst-norman"
    against "bathurst" and "norman", or "nan" against "nan-joo"."""
    if "-" in key:
        parts = [p for p in key.split("-") if p]
        return bool(parts) and all(p in theirs for p in parts)
    return any("-" in other and key in other.split("-") for other in theirs)


def abbreviates(short: str, long: str) -> bool:
    """``short`` is a contraction of ``long``: same first letter, its letters in order
    ("beds" / "bedfordshire", "sgt" / "sergeant", "det" / "detective")."""
    if len(long) < len(short) + 2 or short[0] != long[0]:
        return False
    rest = iter(long[1:])
    return all(c in rest for c in short[1:])


def specific(words: list[str], prefix: str, count: Count, limit: float) -> list[str]:
    """The words that identify something: carried by at most ``limit`` indexed articles."""
    if not words:
        return words
    return [w for w in words if count(prefix + w) <= limit]


def common_limit(settings: DedupSettings, indexed: int) -> float:
    """How many indexed articles may carry a word that still identifies something."""
    return max(settings.common_word_min_docs, settings.common_word_fraction * indexed)


def tickers_substituted(a: FactView, b: FactView) -> bool:
    """Each version names a ticker the other does not (only asked when both name one)."""
    return bool((a.tickers - b.tickers) and (b.tickers - a.tickers))


def numbers_substituted(a: frozenset[str], b: frozenset[str]) -> bool:
    """True if each side has a figure (or date) the other lacks in any scale."""
    return numbers_differing(a, b) is not None


def numbers_differing(a: frozenset[str], b: frozenset[str]) -> tuple[list[str], list[str]] | None:
    """The figures (or dates) each side has and the other lacks in any scale, when both
    sides have some; None otherwise."""
    only_a = a - b
    if not only_a:
        return None
    only_b = b - a
    if not only_b:
        return None
    # A figure written with another scale word on the other side is the same figure.
    keys_b = {figure_key(y) for y in only_b}
    rest_a = [x for x in only_a if figure_key(x) not in keys_b]
    if not rest_a:
        return None
    keys_a = {figure_key(x) for x in only_a}
    rest_b = [y for y in only_b if figure_key(y) not in keys_a]
    return (rest_a, rest_b) if rest_b else None


def names_substituted(a: FactView, b: FactView, count: Count, limit: float) -> bool:
    """Both versions name someone the other never mentions."""
    return names_differing(a, b, count, limit) is not None


def names_differing(
    a: FactView, b: FactView, count: Count, limit: float
) -> tuple[list[str], list[str]] | None:
    """The names each version has and the other never mentions, when both have some.

    Restyling swaps the odd capitalized common word ("Government" for
    "Authorities"), so a single name against a single name counts only when both
    are specific (few indexed articles carry them); three or more unknown names
    in all count whatever they are.
    """
    if not (a.names - b.support and b.names - a.support):
        return None  # cheap exact test first: most pairs differ on one side only
    only_a = unsupported(a.names, b.support)
    if not only_a:
        return None
    only_b = unsupported(b.names, a.support)
    if not only_b:
        return None
    if len(only_a) + len(only_b) >= 3:
        return only_a, only_b
    if specific(only_a, "", count, limit) and specific(only_b, "", count, limit):
        return only_a, only_b
    return None


def titles_substituted(a: FactView, b: FactView, count: Count, limit: float) -> bool:
    """Both titles carry specific words the other version has nowhere (only asked of short
    items, whose bodies are the same for every company)."""
    return bool(
        a.title_words - b.support
        and b.title_words - a.support
        and specific(unsupported(a.title_words, b.support), TITLE_PREFIX, count, limit)
        and specific(unsupported(b.title_words, a.support), TITLE_PREFIX, count, limit)
    )


def check_guards(
    a: FactView,
    b: FactView,
    settings: DedupSettings,
    count: Count,
    indexed: int,
    aligned: Aligned | None = None,
) -> tuple[list[str], str | None]:
    """The guards passed, in order, and the name of the first that refuses (or None).

    Each guard refuses a *substitution*: both versions carry a fact the other
    lacks. A one-sided difference is what cuts (fewer figures and names) and
    republishing (a byline, an added sentence) produce, so it passes. ``count``
    and ``indexed`` are the document frequencies of the window's articles.
    ``aligned`` (``a`` is the item being decided) narrows the numbers and names
    guards to substitutions in aligned context (see the module docstring).
    """
    passed: list[str] = []
    if min(a.n_tokens, b.n_tokens) < settings.aligned_min_tokens:
        aligned = None
    if a.tickers and b.tickers:
        if tickers_substituted(a, b):
            return passed, "tickers"
        passed.append("tickers")
    differing = numbers_differing(a.numbers, b.numbers)
    if differing is not None and (aligned is None or aligned(*differing, False)):
        return passed, "numbers"
    passed.append("numbers")
    limit = common_limit(settings, indexed)
    differing = names_differing(a, b, count, limit)
    if differing is not None and (aligned is None or aligned(*differing, True)):
        return passed, "names"
    passed.append("names")
    if min(a.n_tokens, b.n_tokens) < settings.short_item_tokens:
        if titles_substituted(a, b, count, limit):
            return passed, "short_item_title"
        passed.append("short_item_title")
    return passed, None
