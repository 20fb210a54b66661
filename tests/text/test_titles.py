"""Titles: wire prefixes and site names off, the headline itself untouched."""

from __future__ import annotations

import pytest

from streamer.text.content import normalize_content
from tests.text.helpers import fp


@pytest.mark.parametrize(
    ("title", "expected"),
    [
        ("UPDATE 1-Oil rises on supply fears", "Oil rises on supply fears"),
        ("CORRECTED-UPDATE 2-Oil rises on supply fears", "Oil rises on supply fears"),
        ("(CORRECTED) - BANPONCE <BDEP> PLACES NOTES", "BANPONCE (BDEP) PLACES NOTES"),
        ("REFILE-Oil rises", "Oil rises"),
        ("Oil rises on supply fears | Example Site", "Oil rises on supply fears"),
        ("Oil rises on supply fears - Reuters", "Oil rises on supply fears"),
        ("Oil rises on supply fears - The Daily Herald", "Oil rises on supply fears"),
        ("Breaking: Oil rises on supply fears", "Oil rises on supply fears"),
        ("U.S. SUGAR IMPORTS DOWN IN WEEK - USDA", "U.S. SUGAR IMPORTS DOWN IN WEEK - USDA"),
        (
            "OPEC MAY HAVE TO MEET TO FIRM PRICES - ANALYSTS",
            "OPEC MAY HAVE TO MEET TO FIRM PRICES - ANALYSTS",
        ),
        ("  Oil\n rises\u00a0now ", "Oil rises now"),
        ("", ""),
    ],
)
def test_title_cleaning(title: str, expected: str) -> None:
    r = normalize_content(title=title, body=None, html=None)
    assert r.title == expected
    assert r.fp_title == fp(expected)
    assert normalize_content(title=r.title, body=None, html=None).title == r.title
