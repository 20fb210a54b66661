"""The passes that used to rescan or loop to a fixpoint: same answers, one pass (issue 15).

What each replaced is kept here as the reference it must agree with: the angle-tag
rounds, ``SPECIAL_RE.sub``, the body-word set. Speed is not asserted (``make bench``
times the adversarial set, ``python -m bench.adversarial --sweep`` fits growth
exponents); these tests hold that the fast forms give the results of the slow ones,
on the inputs that made the slow ones slow, and that normalizing them stays a fixpoint.
"""

from __future__ import annotations

import re

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from streamer.evaluation.adversarial import CASES
from streamer.text import boilerplate, facts, markup, special_phrases
from streamer.text.chars import MAX_NFKC_GROWTH, TextTooLarge, fix_chars
from streamer.text.content import normalize_content
from streamer.text.markup import remove_markup, resolve_angles
from streamer.text.paragraphs import story_paragraphs
from streamer.text.tokens import fingerprint_tokens

SETTINGS = settings(max_examples=300, deadline=None)


def angle_rounds(s: str) -> str:
    """``remove_markup``'s fixpoint as it used to be run: one round per nesting level."""
    while True:
        s, n_angle = markup._ANGLE_RE.subn(lambda m: markup._angle_tag(m.group(1)), s)
        s, n_tags = markup._ANY_TAG_RE.subn(" ", s)
        if not (n_angle or n_tags):
            return s


BRACKETY = st.lists(
    st.sampled_from(
        ["<", ">", "<", ">", "a", "A", "B", "0", " ", "\n", "li", "(", "K.T", "x" * 150, "Y" * 120]
    ),
    max_size=24,
).map("".join)


@SETTINGS
@given(s=BRACKETY)
def test_resolve_angles_is_the_fixpoint_of_the_rounds(s: str) -> None:
    assert resolve_angles(s) == angle_rounds(s)


@pytest.mark.parametrize(
    "text",
    [
        "<" * 3000 + "x" + ">" * 3000,
        "<x" * 3000 + ">" * 3000,
        "<A" * 3000 + ">" * 3000,
        "<0" * 3000 + ">" * 3000,
        "<<KUMT.TOK>> <Li Ka-shing Ltd> <> <" + "a" * 300 + "> < " + "b" * 300 + ">",
        "a > b < c <d <e>> f",
    ],
)
def test_nested_brackets_give_what_the_rounds_gave(text: str) -> None:
    out = remove_markup(text)
    assert out == angle_rounds(text)
    assert remove_markup(out) == out


@SETTINGS
@given(
    s=st.lists(
        st.sampled_from(
            ["per cent ", "new zealand dlrs ", "cent", "dlr", "dollar", " ", "1", "$", "x", "."]
        ),
        max_size=40,
    ).map("".join)
)
def test_special_sub_agrees_with_re_sub_on_anchor_floods(s: str) -> None:
    assert special_phrases.special_sub(s) == special_phrases.SPECIAL_RE.sub(
        special_phrases.special_tokens, s
    )


@pytest.mark.parametrize("unit", ["per cent ", "new zealand dlrs ", "dollar ", "cent "])
def test_special_sub_on_a_long_run_without_a_digit(unit: str) -> None:
    text = unit * 3000 + "rose 5 pct"
    assert special_phrases.special_sub(text) == special_phrases.SPECIAL_RE.sub(
        special_phrases.special_tokens, text
    )


def body_keys_direct(text: str) -> set[str]:
    return {facts.word_key(w) for w in facts.WORD_RE.findall(text)}


WORDY = st.lists(
    st.sampled_from(["aa", "aa's", "a", "x-aa", "aa-x", "'", "-", " ", "b", "aab", "baa", "AA"]),
    max_size=80,
).map("".join)


@SETTINGS
@given(text=WORDY, key=st.sampled_from(["aa", "a", "aab", "x-aa", "b", "aa's", "baa"]))
def test_body_keys_agree_with_the_body_words(text: str, key: str) -> None:
    assert (key in facts.BodyKeys(text)) == (key in body_keys_direct(text))


def test_body_keys_past_the_occurrences_looked_at() -> None:
    # "aa" occurs hundreds of times, never as a word of its own, then once as one.
    text = "aa's " * 500 + "aab " * 500
    keys = facts.BodyKeys(text)
    assert "aa" in keys  # as "aa's": a possessive is the word
    assert "aab" in keys
    assert "a" not in keys
    text2 = "aab " * 500 + "end aa"
    assert "aa" in facts.BodyKeys(text2)
    assert "aa" not in facts.BodyKeys("aab " * 500)


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        # One credit was removed per round: thousands of rounds over the whole text.
        ("Shares rose. " + "(reporting by John Smith) " * 2000, ["Shares rose."]),
        ("Shares rose. " + "(Reporting by A) Reuter " * 500, ["Shares rose."]),
        # Each sign-off exposed furniture that only the next round dropped.
        ("Shares rose.\n\n" + "Advertisement. Reuter\n\n" * 500, ["Shares rose."]),
        ("Shares rose.\n\n" + "Reuter. Reuter\n\n" * 500, ["Shares rose."]),
        ("LONDON (Reuters) - Related:\n\n" * 500 + "Shares rose.", ["Shares rose."]),
        ("LONDON, Jan 1 (Reuters) - " * 500 + "Shares rose.", ["Shares rose."]),
    ],
)
def test_trims_that_took_a_round_each(body: str, expected: list[str]) -> None:
    assert story_paragraphs(body, "") == expected


def test_repeated_headlines_are_dropped_in_one_pass() -> None:
    title_fp = " ".join(fingerprint_tokens("Oil rises"))
    body = "Oil rises\n\n" * 3000 + "Oil prices rose on Tuesday."
    assert story_paragraphs(body, title_fp) == ["Oil prices rose on Tuesday."]


def test_a_text_nfkc_would_grow_too_much_is_refused() -> None:
    with pytest.raises(TextTooLarge):
        fix_chars("\ufdfa" * (MAX_NFKC_GROWTH // 17 + 1))
    with pytest.raises(TextTooLarge):  # entities unescape to it first
        normalize_content(title=None, body="&#65018;" * (MAX_NFKC_GROWTH // 17 + 1), html=None)
    # A few expanding characters in prose are what NFKC is for.
    assert "ffi" in fix_chars("an of\ufb03ce with \ufdfa once")


# Entities escaped more than ``chars._MAX_ENTITY_ROUNDS`` deep ("&amp;amp;amp;...") keep
# their last levels: the unescaping rounds are capped there on purpose (each is linear).
NOT_A_FIXPOINT = {"entity_nested_amp"}


# Every case of the adversarial set, at a size the reference rounds could afford: the
# normalization of each is a fixpoint, as on ordinary text.
TEXT_CASES = sorted(
    name
    for name, case in CASES.items()
    if case.field in ("body", "html", "title") and name not in NOT_A_FIXPOINT
)


@pytest.mark.parametrize("name", TEXT_CASES)
def test_adversarial_cases_normalize_to_a_fixpoint(name: str) -> None:
    case = CASES[name]
    data = orjson.loads(case.record(name, 6000))
    try:
        r = normalize_content(
            title=data.get("title"), body=data.get("body"), html=data.get("html"), language="en"
        )
    except TextTooLarge:
        return
    again = normalize_content(title=r.title, body=r.text, html=None, language="en")
    assert (again.title, again.text) == (r.title, r.text)
    assert not re.search(r"<[A-Za-z/!?][^<>]*>", r.text)


def furniture_rule_by_rule(u: str) -> bool:
    """``is_boilerplate_unit`` as it was: each rule's own call, behind its length bound."""
    if not boilerplate.is_candidate_unit(u):
        return False
    return any(len(u) <= bound and rule.fullmatch(u) for bound, rule in boilerplate._RULES)


UNITS = st.lists(
    st.sampled_from(
        ["Share", "share this", "Tweet", " | ", ", ", "Advertisement", "Subscribe", " to our",
         " newsletter", "Read more", ": ", "By ", "John", " Smith", " and ", "BY", "by",
         "Reporting by", "(", ")", "\u00a9", " 2024", "All rights reserved", "Showing", " 3 ",
         "photos", "Photo gallery", "x", " ", "-", "1", "copyright", "(c) ", "\u017f", "\u212a",
         "a" * 60, "b" * 130]
    ),
    max_size=8,
).map("".join)  # fmt: skip


@SETTINGS
@given(u=UNITS)
def test_furniture_in_one_call_is_furniture_rule_by_rule(u: str) -> None:
    assert boilerplate.is_boilerplate_unit(u) == furniture_rule_by_rule(u)
