"""Numbers, dates, tickers and names: the facts the index guards compare."""

from __future__ import annotations

import pytest

from streamer import normalize
from streamer.facts import (
    entities_from_text,
    extract_facts,
    figure_key,
    months_from_text,
    near_spelling,
    numbers_from_tokens,
    same_figure,
    tickers_from_text,
)


def facts(title: str, text: str) -> tuple[set[str], set[str]]:
    f = extract_facts(title, text, normalize.fingerprint_tokens(text))
    return set(f.numbers), set(f.entities)


def test_numbers_are_a_multiset_of_canonical_figures() -> None:
    tokens = normalize.fingerprint_tokens("Qtly div 20 cts vs 20 cts prior, 1.5 mln dlrs")
    assert numbers_from_tokens(tokens) == ["0.2", "0.2#2", "1500000"]


def test_number_spellings_agree() -> None:
    a, _ = facts("", "It paid $1.5 million, or 12.5 percent more.")
    b, _ = facts("", "It paid 1.5 mln dlrs, or 12.5 pct more.")
    assert a == b


def test_months_are_date_facts() -> None:
    assert months_from_text("for April shipment, paid in Jan. and in May") == ["@4", "@1", "@5"]
    # "may" the verb, and a sentence-initial "May", are not months.
    assert months_from_text("Prices may rise. May exports fell.") == []
    numbers, _ = facts("X", "Japan bought 5,000 tonnes for April shipment.")
    assert numbers == {"5000", "@4"}


@pytest.mark.parametrize(
    ("a", "b", "same"),
    [
        ("348.2", "348200000000", True),  # "billion" lost to a typo
        ("0.066", "66", True),
        ("66", "65.5", False),
        ("0.1", "0.01", False),  # 10 cts and 1 ct are different dividends
        ("20", "20#2", False),  # the second mention is its own fact
        ("@4", "@5", False),
        ("4th", "4th", True),
    ],
)
def test_same_figure(a: str, b: str, same: bool) -> None:
    assert same_figure(a, b) is same
    assert (figure_key(a) == figure_key(b)) is same


def test_tickers_in_angle_brackets_and_parentheses() -> None:
    text = "Quaker Oats Co <OAT> and Kumagai Gumi (KUMT.TOK) said; (Metro Times) is not one."
    assert tickers_from_text(text) == ["$oat", "$kumt"]


def test_names_skip_sentence_starts_and_keep_possessive_free_keys() -> None:
    text = (
        "Shares of Baxter rose. The company said Acme's offer was fair.\n"
        "Net income rose, Acme said."
    )
    keys = entities_from_text(text)
    assert "acme" in keys and "baxter" in keys
    # Sentence-initial words are only loose keys: support, never evidence.
    assert "~shares" in keys and "~net" in keys
    assert "shares" not in keys and "net" not in keys and "the" not in keys


def test_title_words_are_loose_and_title_only_words_are_keys() -> None:
    _, entities = facts("QUAKER OATS CO <OAT> REGULAR DIVIDEND", "Qtly div 20 cts vs 20 cts.")
    assert "$oat" in entities
    assert {"~quaker", "^quaker", "^oats"} <= entities
    # Notice vocabulary says what kind of notice it is, not whose.
    assert "^regular" not in entities and "^dividend" not in entities
    assert "quaker" not in entities  # an all-caps title proves nothing about names


@pytest.mark.parametrize(
    ("a", "b", "near"),
    [
        ("president", "prersident", True),
        ("baxter", "baxtre", True),
        ("baxter", "baxters", True),
        ("acme", "acne", False),  # too short to tell a typo from another name
        ("corbin", "corwen", False),
        ("insured", "puerto", False),
    ],
)
def test_near_spelling(a: str, b: str, near: bool) -> None:
    assert near_spelling(a, b) is near
    assert near_spelling(b, a) is near
