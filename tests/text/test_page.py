"""HTML pages: the story kept and the page furniture gone, on real layouts and on bombs."""

from __future__ import annotations

import gzip
import json
import random

import pytest

from streamer.evaluation.rewrites import make_rewrite
from streamer.evaluation.wire import original_record, paragraphs
from streamer.text import page as page_module
from streamer.text.content import normalize_content
from tests.text.helpers import MARKUP_RE, REUTERS, assert_idempotent, fixture

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


# A short story (a dividend notice: far under trafilatura's MIN_EXTRACTED_SIZE) in the
# templates where trafilatura's balanced focus swapped its main text for its baseline's:
# the <article> fused into one line, every <p> of the page, the whole body.
NOTICE_TITLE = "Acme Corp (ACME) Sets Qtly Dividend"
NOTICE = [
    "NEW YORK, March 4 - Qtly div five cts vs five cts prior",
    "Pay April One",
    "Record March 16",
]
_NAV = "<header><nav><a href='/'>Home</a> | <a href='/news'>News</a></nav></header>"
_SHARE = "<div class='share'>Share on Facebook | Share on Twitter | Share by Email</div>"
_NEWSLETTER = (
    "<div class='newsletter'><h3>Morning Briefing</h3><p>Get the day's top business stories"
    " in your inbox every morning.</p><form><input type='email'><button>Sign up</button></form>"
    "</div>"
)
_RELATED = (
    "<aside><h3>Related articles</h3><ul><li><a href='/a/1'>Five things to know before"
    " markets open</a></li></ul></aside>"
)
_FOOTER = "<footer><p>&copy; 2024 Portal News. All rights reserved.</p></footer>"
_PARAS = "".join(f"<p>{p}</p>" for p in NOTICE)
_HEAD = f"<html><head><title>{NOTICE_TITLE} | Portal News</title></head><body>{_NAV}"
_TAIL = f"{_NEWSLETTER}{_RELATED}{_FOOTER}</body></html>"
SHORT_PAGES = {
    "article": f"{_HEAD}{_SHARE}<article><h1>{NOTICE_TITLE}</h1><p class='byline'>By Portal"
    f" News staff</p>{_PARAS}</article>{_TAIL}",
    "story_div": f"{_HEAD}{_SHARE}<div class='story-body'><h1>{NOTICE_TITLE}</h1>{_PARAS}</div>"
    f"{_TAIL}",
    "main": f"{_HEAD}<main>{_SHARE}<h1>{NOTICE_TITLE}</h1>{_PARAS}{_NEWSLETTER}</main>{_RELATED}"
    f"{_FOOTER}</body></html>",
    "br_lines": f"{_HEAD}{_SHARE}<div id='content'><h1>{NOTICE_TITLE}</h1>{'<br>'.join(NOTICE)}"
    f"</div>{_TAIL}",
}


@pytest.mark.parametrize("name", sorted(SHORT_PAGES))
def test_short_story_in_a_portal_template_gives_the_story_alone(name: str) -> None:
    plain = normalize_content(title=NOTICE_TITLE, body="\n\n".join(NOTICE), html=None)
    r = normalize_content(title=None, body=None, html=SHORT_PAGES[name])
    assert r.title == NOTICE_TITLE
    assert (
        r.text
        == plain.text
        == "Qtly div five cts vs five cts prior\n\nPay April One\n\nRecord March 16"
    )


@pytest.mark.parametrize("name", sorted(SHORT_PAGES))
def test_whole_page_fallback_drops_the_template_too(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """When trafilatura finds nothing, the tag stripper and boilerplate rules take the page.

    The newsletter pitch ("Morning Briefing", "Get the day's top business stories in
    your inbox") is text no rule can tell from a story's, so it stays on this path.
    """
    monkeypatch.setattr(page_module, "_trafilatura_extract", lambda html: None)
    plain = normalize_content(title=NOTICE_TITLE, body="\n\n".join(NOTICE), html=None)
    r = normalize_content(title=None, body=None, html=SHORT_PAGES[name])
    assert r.fp_body.startswith(plain.fp_body)  # <br> lines come back as one paragraph
    for junk in ("Home", "Share", "staff", "Related", "Five things", "rights reserved", "Sign"):
        assert junk not in r.text, junk


def _word_jaccard(a: str, b: str) -> float:
    x, y = set(a.split()), set(b.split())
    return len(x & y) / len(x | y) if x | y else 1.0


def _generated_pages(n: int) -> list[tuple[str, dict]]:
    """The evaluation's html_page rewrites of the n shortest Reuters stories."""
    if not REUTERS.exists():
        pytest.skip(f"{REUTERS} is absent (shared data not laid out next to the repo)")
    with gzip.open(REUTERS, "rt", encoding="utf-8") as fh:
        stories = [s for s in map(json.loads, fh) if paragraphs(s.get("body") or "")]
    stories.sort(key=lambda s: len(s["body"]))
    out = []
    for s in stories[:n]:
        original = original_record(s)
        plain = normalize_content(title=original["title"], body=original["body"], html=None)
        out.append((plain.fp_body, make_rewrite(s, "html_page", random.Random(s["newid"]))))
    return out


TEMPLATE_TEXT = ("staff, with wire services", "Share on", "Related articles", "Privacy policy")


def test_generated_short_pages_give_the_plain_story() -> None:
    for plain_fp, record in _generated_pages(300):
        r = normalize_content(title=record["title"], body=None, html=record["html"])
        assert _word_jaccard(r.fp_body, plain_fp) >= 0.8, (record["id"], r.text)
        assert not any(t in r.text for t in TEMPLATE_TEXT), (record["id"], r.text)


def test_generated_short_pages_through_the_whole_page_fallback(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(page_module, "_trafilatura_extract", lambda html: None)
    for plain_fp, record in _generated_pages(100):
        r = normalize_content(title=record["title"], body=None, html=record["html"])
        assert _word_jaccard(r.fp_body, plain_fp) >= 0.8, (record["id"], r.text)
        assert not any(t in r.text for t in TEMPLATE_TEXT), (record["id"], r.text)


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
