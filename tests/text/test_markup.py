"""Markup: no tag reaches the text, and the Reuters angle tags that are content stay."""

from __future__ import annotations

from streamer.text.content import normalize_content
from tests.text.helpers import body_only


def test_script_style_and_comments_never_reach_text() -> None:
    html = (
        "<p>Before.</p><script>alert('x')</script><style>p{color:red}</style>"
        "<!-- hidden comment --><noscript>Enable JS</noscript><p>After.</p>"
    )
    r = normalize_content(title=None, body=None, html=html)
    assert r.text == "Before.\n\nAfter."


def test_reuters_angle_tags_are_content_not_markup() -> None:
    r = body_only(
        "A unit of Kumagai Gumi Co Ltd <KUMT.TOK> said <Li Ka-shing Foundations Ltd>"
        " will buy shares."
    )
    assert r.text == (
        "A unit of Kumagai Gumi Co Ltd (KUMT.TOK) said Li Ka-shing Foundations Ltd will buy shares."
    )
    assert "kumt.tok" in r.fp_body.split()
