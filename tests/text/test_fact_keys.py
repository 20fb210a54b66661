"""When two facts are one written two ways: figures across scale words, names across a typo."""

from __future__ import annotations

import pytest

from streamer.text.fact_keys import figure_key, near_spelling, same_figure


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
