"""Boilerplate and paragraphs: furniture dropped, story sentences kept, wire lines rejoined."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from streamer.text import boilerplate
from tests.text.helpers import assert_idempotent, body_only, fixture


def test_wire_story_with_every_kind_of_boilerplate() -> None:
    title, body = fixture("wire_with_boilerplate.txt").split("\n", 1)
    r = body_only(body, title=title)
    assert r.title == "Nordic shipper Halvard Lines to cut 800 jobs"
    assert r.text.split("\n\n") == [
        "Halvard Lines, the region's second-largest container shipper, said on Tuesday it would"
        " cut 800 jobs, or about 9 pct of its workforce, after freight rates fell for a third"
        " straight quarter.",
        "The company said the cuts would save about 45 mln dlrs a year from 2025 and would mostly"
        " affect office staff in Oslo and Hamburg.",
        '"We have to adapt to a market that is not coming back soon," chief executive Mette'
        " Solberg told reporters.",
        "Shares in Halvard fell 3.5 pct in early trade.",
    ]
    assert_idempotent(r)


GALLERY = (
    "The bridge reopened on Monday after repairs.\n\n"
    "Photo gallery\nHow the bridge was rebuilt\n\nWorkers spent nine months on the span...\n\n"
    "Showing 12 photos\n\n"
    "Traffic returned to normal by the evening."
)


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (
            GALLERY,
            "The bridge reopened on Monday after repairs.\n\n"
            "Traffic returned to normal by the evening.",
        ),
        (
            "Prices rose.\n\nShare on Facebook\nShare on Twitter\nPrint\nEmail\n\n"
            "Prices fell later.",
            "Prices rose.\n\nPrices fell later.",
        ),
        (
            "Prices rose.\n\nAdvertisement\n\nSubscribe to our newsletter for daily updates\n\n"
            "Click here to follow us\n\nPrices fell later.",
            "Prices rose.\n\nPrices fell later.",
        ),
        (
            "Prices rose.\n\nRelated articles\n- Markets slide on rate fears\n"
            "- Gold hits record\n\n"
            "Prices fell later.",
            "Prices rose.\n\nPrices fell later.",
        ),
        (
            "Prices rose.\n\nREAD MORE: Markets slide on rate fears\n\nPrices fell later.",
            "Prices rose.\n\nPrices fell later.",
        ),
        ("By Jane Doe\n\nPrices rose.", "Prices rose."),
        ("BY JOHN SMITH, REUTERS\n\nPrices rose.", "Prices rose."),
        ("By Maria de la Cruz | March 3, 2016\n\nPrices rose.", "Prices rose."),
        ("By Metro Times staff, with wire services\n\nPrices rose.", "Prices rose."),
        ("By Daily Globe staff reporters\n\nPrices rose.", "Prices rose."),
        (
            "Share on Facebook | Share on Twitter | Share by Email\n\nPrices rose.",
            "Prices rose.",
        ),
        ("Prices rose.\n\nReporting by Jane Doe; Editing by Bob Roe", "Prices rose."),
        ("Prices rose. (Reporting by Jane Doe; Editing by Bob Roe)", "Prices rose."),
        ("Prices rose.\n\n© 2016 Example News Ltd", "Prices rose."),
        ("Prices rose.\n\nCopyright 2016 Example Media. All rights reserved.", "Prices rose."),
        (
            "CLEVELAND (Reuters) - Standard Oil said it will form a unit.",
            "Standard Oil said it will form a unit.",
        ),
        ("LONDON, March 3 - Sterling rose.", "Sterling rose."),
        ("NEW YORK, Feb 26 (Reuters) - Stocks rose.", "Stocks rose."),
        ("Moscow (AFP) - Talks resumed.", "Talks resumed."),
        ("Prices rose.\n Reuter\n", "Prices rose."),
        ("Prices rose.\nREUTER", "Prices rose."),
    ],
)
def test_text_boilerplate_is_removed(body: str, expected: str) -> None:
    r = body_only(body)
    assert r.text == expected
    assert_idempotent(r)


@pytest.mark.parametrize(
    "body",
    [
        "By Monday the army had left the city.",
        "Share prices rose 5 pct on Tuesday.",
        "Staff said the plant would reopen.",
        "By staff accounts the meeting ran late.",
        "More than 200 people attended the meeting.",
        "Photos of the damage were published by the ministry on Monday.",
        "The gallery reopened after a year of renovation work.",
        "Reuters reported that talks had stalled.",
        "NASA - the space agency - said the launch was delayed.",
    ],
)
def test_story_sentences_that_look_like_boilerplate_are_kept(body: str) -> None:
    assert body_only(body).text == body


def test_reuters_wire_paragraphs_are_rejoined() -> None:
    body = (
        "Standard Oil Co and BP North America\nInc said they plan to form a venture.\n"
        "    BP North America is a subsidiary of British Petroleum Co\nPlc <BP>, which also owns"
        " a 55 pct interest in Standard Oil.\n\n Reuter\n"
    )
    r = body_only(body)
    assert r.text == (
        "Standard Oil Co and BP North America Inc said they plan to form a venture.\n\n"
        "BP North America is a subsidiary of British Petroleum Co Plc (BP), which also owns a"
        " 55 pct interest in Standard Oil."
    )


# --------------------------------------------------------------------------------------
# Fast paths: each gives exactly the answers of the plain definition it replaces
# --------------------------------------------------------------------------------------

_UNIT_STARTS = st.sampled_from(
    ["", "S", "s", "ſ", "K", "K", "T", "t", "-", "(", "©", "•", "9", "Ⅸ", "é", "By", "by ",
     "X ", "in pictures", "Reuters", "Share", "SHARE", "Ad ", "ad", "The ", "Said"]
)  # fmt: skip


@settings(max_examples=400)
@given(_UNIT_STARTS, st.text(max_size=12))
def test_candidate_dispatch_agrees_with_the_full_pattern(start: str, rest: str) -> None:
    unit = start + rest
    assert boilerplate.is_candidate_unit(unit) == bool(boilerplate.CANDIDATE_RE.match(unit))


def test_candidate_dispatch_every_character() -> None:
    for cp in range(0x250):
        for unit in (chr(cp), chr(cp) + "y ", chr(cp) + "hare", chr(cp) + "d"):
            assert boilerplate.is_candidate_unit(unit) == bool(boilerplate.CANDIDATE_RE.match(unit))


def _initials(pattern: re.Pattern[str]) -> set[str]:
    """The literal first characters of a pattern's alternatives (each must start with one)."""
    from re import _constants as c  # type: ignore[attr-defined]
    from re import _parser  # type: ignore[attr-defined]

    items = _parser.parse(pattern.pattern, pattern.flags)
    op, av = items[0]
    while op is c.SUBPATTERN:
        op, av = av[-1][0]
    branches = av[1] if op is c.BRANCH else [[(op, av)]]
    out = set()
    for branch in branches:
        op, av = branch[0]
        while op is c.SUBPATTERN:
            op, av = av[-1][0]
        assert op is c.LITERAL, (op, av)
        out.add(chr(av))
    return out


def test_head_initials_are_the_first_letters_of_the_patterns() -> None:
    for pattern, initials in (
        (boilerplate.GALLERY_HEAD_RE, boilerplate.GALLERY_HEAD_INITIALS),
        (boilerplate.RELATED_HEAD_RE, boilerplate.RELATED_HEAD_INITIALS),
    ):
        letters = _initials(pattern)
        assert all(ch.isascii() and ch.isalpha() for ch in letters)
        assert {x for ch in letters for x in (ch.lower(), ch.upper())} == set(initials)
        assert pattern.flags & re.IGNORECASE
