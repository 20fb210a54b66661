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
        out.append(key)
    return out


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
    only_a = a - b
    if not only_a:
        return False
    only_b = b - a
    if not only_b:
        return False
    # A figure written with another scale word on the other side is the same figure.
    keys_b = {figure_key(y) for y in only_b}
    rest_a = {x for x in only_a if figure_key(x) not in keys_b}
    if not rest_a:
        return False
    keys_a = {figure_key(x) for x in only_a}
    return any(figure_key(y) not in keys_a for y in only_b)


def names_substituted(a: FactView, b: FactView, count: Count, limit: float) -> bool:
    """Both versions name someone the other never mentions.

    Restyling swaps the odd capitalized common word ("Government" for
    "Authorities"), so a single name against a single name counts only when both
    are specific (few indexed articles carry them); three or more unknown names
    in all are a substitution whatever they are.
    """
    if not (a.names - b.support and b.names - a.support):
        return False  # cheap exact test first: most pairs differ on one side only
    only_a = unsupported(a.names, b.support)
    if not only_a:
        return False
    only_b = unsupported(b.names, a.support)
    if not only_b:
        return False
    if len(only_a) + len(only_b) >= 3:
        return True
    return bool(specific(only_a, "", count, limit) and specific(only_b, "", count, limit))


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
    a: FactView, b: FactView, settings: DedupSettings, count: Count, indexed: int
) -> tuple[list[str], str | None]:
    """The guards passed, in order, and the name of the first that refuses (or None).

    Each guard refuses a *substitution*: both versions carry a fact the other
    lacks. A one-sided difference is what cuts (fewer figures and names) and
    republishing (a byline, an added sentence) produce, so it passes. ``count``
    and ``indexed`` are the document frequencies of the window's articles.
    """
    passed: list[str] = []
    if a.tickers and b.tickers:
        if tickers_substituted(a, b):
            return passed, "tickers"
        passed.append("tickers")
    if numbers_substituted(a.numbers, b.numbers):
        return passed, "numbers"
    passed.append("numbers")
    limit = common_limit(settings, indexed)
    if names_substituted(a, b, count, limit):
        return passed, "names"
    passed.append("names")
    if min(a.n_tokens, b.n_tokens) < settings.short_item_tokens:
        if titles_substituted(a, b, count, limit):
            return passed, "short_item_title"
        passed.append("short_item_title")
    return passed, None
