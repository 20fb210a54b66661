"""Characters: mojibake repaired, one form of quotes, dashes and spaces, entities unescaped."""

from __future__ import annotations

from tests.text.helpers import body_only, fixture


def test_mojibake_quotes_and_spaces_are_repaired() -> None:
    r = body_only(fixture("mojibake.txt"))
    assert r.text == (
        'The minister said the agreement\'s terms were "fair and balanced", according to the'
        " café owner in Zürich."
    )


def test_one_form_of_quotes_dashes_and_spaces() -> None:
    r = body_only(
        "\u201cQuoted\u201d \u2018single\u2019 \u00abguillemets\u00bb en\u2013dash em\u2014dash"
        " minus\u2212sign nbsp\u00a0here zero\u200bwidth soft\u00adhyphen thin\u2009space"
        " \ufeffbom fullwidth\uff21"
    )
    assert r.text == (
        '"Quoted" \'single\' "guillemets" en-dash em-dash minus-sign nbsp here zerowidth'
        " softhyphen thin space bom fullwidthA"
    )


def test_html_entities_including_double_escaped() -> None:
    assert body_only("AT&amp;T said &quot;yes&quot; &#8212; R&D &amp;amp; more").text == (
        'AT&T said "yes" - R&D & more'
    )
