"""Numbers, dates, tickers and names: the facts the index guards compare."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from streamer.text.facts import (
    MONTH_RE,
    MONTHS,
    NAME_RE,
    SENTENCE_START_RE,
    WORD_RE,
    BodyKeys,
    entities_from_text,
    extract_facts,
    months_from_text,
    numbers_from_tokens,
    tickers_from_text,
    title_keys,
    word_key,
)
from streamer.text.tokens import fingerprint_tokens


def facts(title: str, text: str) -> tuple[set[str], set[str]]:
    f = extract_facts(title, text, fingerprint_tokens(text))
    return set(f.numbers), set(f.entities)


def test_numbers_are_a_multiset_of_canonical_figures() -> None:
    tokens = fingerprint_tokens("Qtly div 20 cts vs 20 cts prior, 1.5 mln dlrs")
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


def test_function_words_opening_quoted_speech_are_not_names() -> None:
    # British papers quote in single quotes, which the sentence test does not read as a
    # sentence start: "Who" and "Don't" came out as names beside the real one.
    text = "The court heard Guscott saying: 'Who the hell are you?' and 'Don't you know me?'"
    keys = entities_from_text(text)
    assert "guscott" in keys
    assert not {"who", "don't", "~who", "~don't"} & set(keys)


def test_title_words_are_loose_and_title_only_words_are_keys() -> None:
    _, entities = facts("QUAKER OATS CO <OAT> REGULAR DIVIDEND", "Qtly div 20 cts vs 20 cts.")
    assert "$oat" in entities
    assert {"~quaker", "^quaker", "^oats"} <= entities
    # Notice vocabulary says what kind of notice it is, not whose.
    assert "^regular" not in entities and "^dividend" not in entities
    assert "quaker" not in entities  # an all-caps title proves nothing about names


# --------------------------------------------------------------------------------------
# Fast paths: each gives exactly the answers of the plain definition it replaces
# --------------------------------------------------------------------------------------

# The patterns as they were written before they were restructured for speed.
_MONTH_PLAIN = re.compile(
    r"\b(?:"
    + "|".join(
        f"{name.capitalize()}|{name.upper()}" for name in sorted(MONTHS, key=len, reverse=True)
    )
    + r")\b\.?"
)
_NAME_PLAIN = re.compile(r"\b(?:[A-Z][a-z]+(?:[-'’][A-Z]?[a-z]+)*|[A-Z][A-Z&]{1,11})\b")

_WORDISH = st.sampled_from(
    [
        "May", "MAY", "may", "Sept", "SEPT.", "September", "Septembers", "Jan.", "Mar",
        "March", "Dec", "DECEMBER", "Quaker", "Quaker's", "O'Neil", "Smith-Jones", "AT&T",
        "IBM", "Ltd", "Oats", "OATS'S", "oats's", "it's", "Co", "x", "_", "9", "1987",
        "é", "Émile", "ſ", "K", "'", "’", "-", ".", ",", " ", "\n", "(", "<", ">",
    ]
)  # fmt: skip
_TEXTS = st.lists(_WORDISH, max_size=30).map("".join)


@settings(max_examples=400)
@given(_TEXTS)
def test_month_and_name_patterns_match_their_plain_forms(text: str) -> None:
    def spans(pattern: re.Pattern[str]) -> list[tuple[int, int]]:
        return [m.span() for m in pattern.finditer(text)]

    assert spans(MONTH_RE) == spans(_MONTH_PLAIN)
    assert spans(NAME_RE) == spans(_NAME_PLAIN)


@settings(max_examples=400)
@given(_TEXTS, _TEXTS)
def test_body_keys_answer_as_the_set_of_every_body_word_key(body: str, title: str) -> None:
    direct = {word_key(w) for w in WORD_RE.findall(body)}
    keys = BodyKeys(body)
    probes = {word_key(w) for w in WORD_RE.findall(title + " " + body)}
    probes |= {p + "'s" for p in probes} | {p[:-2] for p in probes if p.endswith("'s")}
    for probe in probes:
        assert (probe in keys) == (probe in direct), probe


def test_title_keys_with_possessives_and_capital_s() -> None:
    # Expected values are what the plain definition (a set of every body word's key) gave.
    assert title_keys("QUAKER OATS", "The oats's price") == ["~quaker", "^quaker", "~oats"]
    assert title_keys("QUAKER OATS", "The OATS'S price")[-1] == "^oats"
    assert title_keys("QUAKER OATS'S", "The OATS'S price")[-1] == "~oats's"
    assert title_keys("QUAKER OATS", "The oats-price rose")[-1] == "^oats"
    assert title_keys("QUAKER OATS", "goats and boats")[-1] == "^oats"


@settings(max_examples=400)
@given(
    st.text(alphabet=' \n\t.!?:;"“”([-–—xA1²_\u3000', max_size=6),
    st.sampled_from(["x", "A", "1", "²", "é", "٣"]),
)
def test_mid_sentence_shortcut_agrees_with_sentence_start(before: str, alnum: str) -> None:
    text = before + alnum + " Name"
    start = len(text) - 4
    if text[start - 1] == " " and text[start - 2].isalnum():
        assert SENTENCE_START_RE.search(text, max(0, start - 4), start) is None
