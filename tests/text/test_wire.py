"""PA wire layout undone: slug block, notes, headline, byline, wraps, codes, charset."""

from __future__ import annotations

from streamer.text.content import normalize_content
from streamer.text.wire import looks_like_wire, split_wire, wire_characters

WIRE = (
    "  ------------------------------------------------------------------------\n\n"
    "                15:51 01/03/00: Page 1 (HHH) COURTS Diver\n"
    "  ------------------------------------------------------------------------\n"
    "(with pic)<\n"
    "\x19DIVER SETTLES FOR #115,000<\n"
    "\x19By A Reporter, PA News<\n"
    "\x19A diver who broke his back under the North Sea has received #115,000, it\n"
    "was revealed today.<\n"
    "\x19``It was agony,'' he said.<\n"
    "\x19mfl<\n"
)


def test_split_wire_keeps_the_story_only() -> None:
    out = split_wire(WIRE)
    assert out.headline == "DIVER SETTLES FOR £115,000"
    assert out.body == (
        "A diver who broke his back under the North Sea has received £115,000, it was "
        'revealed today.\n\n"It was agony," he said.'
    )


def test_wire_is_recognized_and_other_text_is_not() -> None:
    assert looks_like_wire(WIRE)
    assert looks_like_wire("one<\ntwo<\nthree<\n")
    assert not looks_like_wire("Shares rose 5 pct.\n    The <ABC> unit said.\n Reuter\n")


def test_normalization_uses_the_headline_as_title_when_none_is_given() -> None:
    norm = normalize_content(title=None, body=WIRE, html=None)
    assert norm.title == "DIVER SETTLES FOR £115,000"
    assert "15:51" not in norm.text and "PA News" not in norm.text and "mfl" not in norm.text
    given = normalize_content(title="Diver paid", body=WIRE, html=None)
    assert given.title == "Diver paid"


def test_old_charset() -> None:
    assert wire_characters("paid #33,574 for ``the car'' _ a loss") == (
        'paid £33,574 for "the car" - a loss'
    )
    assert wire_characters("item #3") == "item £3"  # a figure after # is money on PA's wire


def test_a_capitals_opener_is_style_not_names() -> None:
    from streamer.text.facts import caps_opener_lowered, extract_facts

    text = "A POLICEMAN jailed yesterday was Tom Hale.\n\n'SUPERGRASSES' WHO claim they lied"
    assert caps_opener_lowered(text) == (
        "A policeman jailed yesterday was Tom Hale.\n\n'supergrasses' who claim they lied"
    )
    names = {k for k in extract_facts("", text, []).entities if k[:1].isalpha()}
    assert names == {"tom", "hale"}
    assert caps_opener_lowered("BBC bosses said") == "BBC bosses said"  # one word: an acronym


def test_glued_units_give_the_figure() -> None:
    from streamer.text.facts import numbers_from_tokens

    assert numbers_from_tokens(["24in", "15st", "5.05pm", "1980s", "24"]) == [
        "24",
        "15",
        "5.05",
        "1980",
        "24#2",
    ]
