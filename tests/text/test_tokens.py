"""Fingerprint tokens: one spelling of every number, unit, currency, ticker and word."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from streamer.text import special_phrases, tokens
from streamer.text.tokens import fingerprint_tokens
from tests.text.helpers import fp


@pytest.mark.parametrize(
    "variants",
    [
        ["1.5 mln dlrs", "$1.5 million", "1,500,000 dollars", "1.5 million U.S. dlrs", "US$1.5m"],
        ["12 pct", "12 percent", "12%", "12 per cent", "12 %"],
        ["3 bln dlrs", "$3 billion", "3 billion dollars", "$3bn"],
        ["66 cts", "66 cents", "0.66 dlrs"],
        ["The dlr fell", "The dollar fell", "the Dollar fell"],
        ["profit rose 4.50 pct", "Profit rose 4.5 percent"],
        ["Zürich café", "Zurich cafe"],
        ["U.S. officials", "US officials"],
        ["520 mln H.K. dlrs", "520 million HK dollars", "HK$520m"],
        ["Kumagai Gumi <KUMT.TOK>", "Kumagai Gumi (KUMT.TOK)"],
        ["\u201cHello,\u201d she said.", '"hello" SHE said'],
    ],
)
def test_fingerprint_equivalences(variants: list[str]) -> None:
    forms = {fp(v) for v in variants}
    assert len(forms) == 1, forms


def test_fingerprint_canonical_forms() -> None:
    assert fingerprint_tokens("1.5 mln dlrs") == ["1500000", "usd"]
    assert fingerprint_tokens("66 cts vs 65.50 cts") == ["0.66", "usd", "vs", "0.655", "usd"]
    assert fingerprint_tokens("up 10 pct") == ["up", "10", "pct"]
    assert fingerprint_tokens("Cheung Kong <CKGH.HKG> said") == [
        "cheung",
        "kong",
        "ckgh.hkg",
        "said",
    ]
    assert fingerprint_tokens("Standard Oil <SRD>") == ["standard", "oil", "srd"]
    assert fingerprint_tokens("") == []


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("66 cts", "65.50 cts"),
        ("1.5 mln dlrs", "1.5 bln dlrs"),
        ("1.5 mln dlrs", "1.5 mln stg"),
        ("15 pct", "1.5 pct"),
        ("1987", "1988"),
        ("Net 1.1 mln vs 829,000", "Net 1.1 mln vs 829,500"),
        ("first quarter", "second quarter"),
    ],
)
def test_fingerprint_keeps_numbers_apart(a: str, b: str) -> None:
    assert fp(a) != fp(b)


def test_fingerprint_is_punctuation_free_and_casefolded() -> None:
    tokens = fingerprint_tokens('He said: "Oil, gas & coal -- all FELL!" (see page 3).')
    assert tokens == ["he", "said", "oil", "gas", "coal", "all", "fell", "see", "page", "3"]


# --------------------------------------------------------------------------------------
# Fast paths: each gives exactly the answers of the plain definition it replaces
# --------------------------------------------------------------------------------------


@settings(max_examples=400)
@given(st.text(alphabet="ab.éU S'1", max_size=20))
def test_acronym_hint_finds_every_acronym(text: str) -> None:
    if tokens.ACRONYM_RE.search(text):
        assert tokens.ACRONYM_HINT_RE.search(text)


_SPECIAL_PIECES = st.sampled_from(
    ["0", "1", "12", "1,500", ".5", "3.25", "$", "us$", "hk $", "£", "€", "¥", "<", ">", "(",
     ")", "kumt.tok", "oat", "per", "cent", "per cent", "percent", "pct", "%", "dlrs", "dlr",
     "dollar", "dollars", "us", "new zealand", "hong kong", "canadian", "mln", "bn", "k", "m",
     "b", "cts", "yen", "a", "s", "x", "_", ".", ",", " ", "  ", "\n", "\u3000", "é", "٣"]
)  # fmt: skip


@settings(max_examples=1500)
@given(st.lists(_SPECIAL_PIECES, max_size=25).map("".join))
def test_special_sub_agrees_with_re_sub(text: str) -> None:
    expected = special_phrases.SPECIAL_RE.sub(special_phrases.special_tokens, text)
    assert special_phrases.special_sub(text) == expected


def test_special_sub_examples() -> None:
    for text in (
        "new zealand dlrs and new zealand 5 dlrs",
        "a recent 1.5 mln dlrs (kumt.tok) per cent hk $ 3 mn",
        "x" * 40 + " per  cent " + "y" * 40 + "9",
        "(((((((((((((((((((( 1",
    ):
        assert special_phrases.special_sub(text) == special_phrases.SPECIAL_RE.sub(
            special_phrases.special_tokens, text
        )


@settings(max_examples=400)
@given(st.text(alphabet="aZ09._ -'\n\x1c", max_size=30))
def test_ascii_word_pattern_agrees_on_ascii_text(text: str) -> None:
    assert tokens.ASCII_WORD_RE.findall(text) == tokens.WORD_RE.findall(text)


@settings(max_examples=1500)
@given(st.text(alphabet="ab.éU S'1_\n", max_size=24))
def test_join_acronyms_agrees_with_re_sub(text: str) -> None:
    expected = tokens.ACRONYM_RE.sub(lambda m: m.group(0).replace(".", ""), text)
    assert tokens.join_acronyms(text) == expected


def test_special_reach_follows_the_qualifier_and_currency_lists() -> None:
    qualifiers = re.search(r"\(\?P<qual>([^()]*)\)", special_phrases.QUAL)
    assert qualifiers is not None
    assert qualifiers.group(1).split("|") == list(special_phrases.DOLLAR_QUALIFIERS)
    prefixes = re.search(r"\(\?:([^()]*)\)\?\\s\?\\\$", special_phrases.CURRENCY_PREFIX)
    assert prefixes is not None
    # a prefix, one space, then the "$" anchor
    assert max(map(len, prefixes.group(1).split("|"))) + 1 == special_phrases.SPECIAL_CHAR_REACH
