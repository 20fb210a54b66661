"""HTML pages: the story kept and the page furniture gone, on real layouts and on bombs."""

from __future__ import annotations

import pytest

from streamer.text.content import normalize_content
from tests.text.helpers import MARKUP_RE, assert_idempotent, fixture

LAYOUTS = {
    "wordpress.html": {
        "title": "Harbor council approves new ferry terminal",
        "keep": [
            "The harbor council voted seven to two on Tuesday night",
            "cost an estimated 14.5 million dollars",
            '"This is the most important decision this council has made in a generation,"',
            "Several residents said they would ask the county to review",
            "with the first sailings planned for the autumn of 2025.",
        ],
        "gone": [
            "Skip to content",
            "Obituaries",
            "Facebook",
            "Ferry fares to rise in June",
            "Most popular",
            "Subscribe",
            "All rights reserved",
            "About time",
            "wpData",
            "querySelectorAll",
            "margin",
            "Mara Lindqvist",
        ],
    },
    "portal.html": {
        "title": "Grain exports fall 12 pct as drought bites",
        "keep": [
            "Grain exports from the southern provinces fell 12 pct in the first quarter",
            "Shipments of wheat and maize totalled 3.2 mln tonnes",
            "Export revenue dropped to 1.1 billion dollars",
            "a request the economy ministry has so far rejected.",
        ],
        "gone": [
            "BUENOS AIRES (Reuters)",
            "Markets Correspondent",
            "WhatsApp",
            "Advertisement",
            "renderAd",
            "Reporting by",
            "Related articles",
            "Soy prices climb",
            "Morning Briefing",
            "Terms of use",
            "World News Portal",
            "trackPageview",
            "__STATE__",
        ],
    },
    "amp.html": {
        "title": "City library reopens after flood repairs",
        "keep": [
            "The central library reopened its doors on Saturday",
            "Repairs cost the city 2.3 million dollars",
            "has been rebuilt as a children's reading room",
            "Okafor said donations from residents had already replaced about half of the lost"
            " books.",
        ],
        "gone": ["Valley Times", "Dana Whitfield", "amp-start", "Privacy", "Local"],
    },
    "fragment.html": {
        "title": "",
        "keep": [
            "Shares of Norvik Shipping rose 4.5% on Wednesday after the company won a contract"
            " to carry liquefied gas for a state utility.",
            "The contract is worth about $310 million over five years, the company said.",
        ],
        "gone": ["<p>", "<b>"],
    },
}


@pytest.mark.parametrize("name", sorted(LAYOUTS))
def test_html_layouts_keep_story_and_drop_boilerplate(name: str) -> None:
    spec = LAYOUTS[name]
    r = normalize_content(title=None, body=None, html=fixture(name))
    assert r.title == spec["title"]
    for sentence in spec["keep"]:
        assert sentence in r.text, sentence
    for junk in spec["gone"]:
        assert junk not in r.text, junk
    assert not MARKUP_RE.search(r.text)
    assert r.language == "en"
    assert "\n\n" in r.text  # paragraphs survive extraction
    assert_idempotent(r)


def test_html_preferred_over_body_and_body_is_fallback() -> None:
    html = fixture("fragment.html")
    r = normalize_content(title="T", body="Some other plain body text here.", html=html)
    assert r.text.startswith("Shares of Norvik Shipping")
    empty_page = "<html><head><script>var x = 1;</script></head><body><nav>Home</nav></body></html>"
    r = normalize_content(
        title="T", body="The plain body is used when the page has none.", html=empty_page
    )
    assert r.text == "The plain body is used when the page has none."


def test_short_fragments_keep_their_text() -> None:
    for html, expected in [
        ("<p>Oil rose 2 pct.</p>", "Oil rose 2 pct."),
        ("<div><p>One.</p><p>Two.</p></div>", "One.\n\nTwo."),
        ("Plain words with <em>emphasis</em> inside", "Plain words with emphasis inside"),
        ("<span>Hello world</span>", "Hello world"),
    ]:
        assert normalize_content(title=None, body=None, html=html).text == expected


def test_title_comes_from_page_when_not_given() -> None:
    page = (
        "<html><head><title>Storm hits coast | Daily Planet</title></head>"
        "<body><p>Text.</p></body></html>"
    )
    assert normalize_content(title=None, body=None, html=page).title == "Storm hits coast"
    og = (
        '<html><head><meta property="og:title" content="Rates held at 5 pct">'
        "<title>Rates held at 5 pct - Finance Times</title></head><body><p>Text.</p></body></html>"
    )
    assert normalize_content(title=None, body=None, html=og).title == "Rates held at 5 pct"


@pytest.mark.timeout(60)
def test_html_bomb_deep_nesting() -> None:
    depth = 50_000
    page = (
        "<html><body>"
        + "<div>" * depth
        + "<p>Deep content survives the bomb and is still readable text.</p>"
        + "</div>" * depth
        + "</body></html>"
    )
    r = normalize_content(title=None, body=None, html=page)
    assert r.text == "Deep content survives the bomb and is still readable text."
    unclosed = "<html><body>" + "<span><b><i>" * 30_000 + "Unclosed tags still give text."
    assert (
        "Unclosed tags still give text."
        in normalize_content(title=None, body=None, html=unclosed).text
    )


@pytest.mark.timeout(60)
def test_html_bomb_900kb_page() -> None:
    paragraphs = "".join(
        f"<p>Paragraph {i}: the council discussed item {i} of the agenda and voted on budget"
        f" line {i * 7} before the break.</p>\n"
        for i in range(8000)
    )
    page = (
        "<html><head><title>Council minutes</title><script>var a = 1;</script></head><body>"
        "<nav><a href='/'>Home</a></nav><article>" + paragraphs + "</article>"
        "<footer>&copy; 2024 Minutes</footer></body></html>"
    )
    assert len(page) > 900_000
    r = normalize_content(title=None, body=None, html=page)
    assert r.title == "Council minutes"
    assert r.text.startswith("Paragraph 0: the council discussed item 0")
    assert "Paragraph 7999: the council discussed item 7999" in r.text
    assert "var a" not in r.text and "Home" not in r.text.split("\n\n")[0]


@pytest.mark.timeout(60)
def test_html_bomb_unclosed_comments_and_oversized_input() -> None:
    page = "<html><body><p>Lead paragraph survives.</p>" + "<!-- x <nav>" * 50_000
    assert normalize_content(title=None, body=None, html=page).text == "Lead paragraph survives."
    huge = "<html><body>" + "<p>Repeated text number one.</p>" * 200_000 + "</body></html>"
    assert len(huge) > 1_000_000
    assert "Repeated text number one." in normalize_content(title=None, body=None, html=huge).text
