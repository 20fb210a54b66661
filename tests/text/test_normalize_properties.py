"""Property tests: normalization never raises, is idempotent and leaves no markup."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from streamer.text.content import NormalizedText, normalize_content
from streamer.text.dates import parse_published_at
from streamer.text.tokens import fingerprint_tokens
from streamer.text.urls import canonical_url

MARKUP_RE = re.compile(r"<[A-Za-z/!?][^<>]*>")
SETTINGS = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])

TAGS = ["p", "div", "span", "a", "b", "br", "script", "style", "nav", "li", "ul", "h1", "x-y", "Li"]
PIECES = st.one_of(
    st.text(max_size=40),
    st.sampled_from(
        [
            "<",
            ">",
            "</",
            "/>",
            "<!--",
            "-->",
            "&amp;",
            "&lt;",
            "&gt;",
            "&#8217;",
            "&nbsp;",
            "\n",
            "\n\n",
            "    ",
            "\u00a0",
            "\u200b",
            "\u2019",
            "\u201c",
            "\u2014",
            "Ã©",
            "â€™",
            "Reuter",
            "REUTER",
            "By Jane Doe",
            "(Reporting by Jane Doe)",
            "LONDON (Reuters) - ",
            "Photo gallery",
            "Showing 3 photos",
            "Related articles",
            "Share",
            "Advertisement",
            "© 2024 Site",
            "<KUMT.TOK>",
            "1.5 mln dlrs",
            "$1.5 million",
            "66 cts",
            "12 pct",
            "U.S.",
        ]
    ),
    st.builds(
        lambda tag, attrs, closing: f"<{'/' if closing else ''}{tag}{attrs}>",
        st.sampled_from(TAGS),
        st.sampled_from(["", ' class="x"', " href='/a?b=1&c=2'", " data-x=1", " /"]),
        st.booleans(),
    ),
)
HTMLISH = st.lists(PIECES, max_size=30).map("".join)
NOW = datetime(2024, 5, 1, tzinfo=UTC)


def check(r: NormalizedText) -> None:
    assert not MARKUP_RE.search(r.text)
    assert not MARKUP_RE.search(r.title)
    assert "\u00a0" not in r.text and "\u200b" not in r.text
    assert r.fp_body == " ".join(fingerprint_tokens(r.text))
    assert r.fp_title == " ".join(fingerprint_tokens(r.title))
    again = normalize_content(title=r.title, body=r.text, html=None, language=r.language)
    assert again.title == r.title
    assert again.text == r.text
    assert again.fp_title == r.fp_title
    assert again.fp_body == r.fp_body


@SETTINGS
@given(title=st.one_of(st.none(), st.text()), body=st.one_of(st.none(), st.text()))
def test_arbitrary_text(title: str | None, body: str | None) -> None:
    check(normalize_content(title=title, body=body, html=None))


@SETTINGS
@given(title=st.one_of(st.none(), HTMLISH), body=HTMLISH)
def test_htmlish_body(title: str | None, body: str) -> None:
    check(normalize_content(title=title, body=body, html=None, language="en"))


@SETTINGS
@given(html=HTMLISH, body=st.one_of(st.none(), HTMLISH))
def test_htmlish_page(html: str, body: str | None) -> None:
    check(normalize_content(title=None, body=body, html=html, language="en"))


@SETTINGS
@given(inner=HTMLISH)
# Nested angles: replacing the inner tag once made a new one, which a second pass removed.
@example(inner="<<0>>")
@example(inner="<<a>b>")
def test_htmlish_inside_a_full_page(inner: str) -> None:
    page = (
        f"<html><head><title>{inner[:50]}</title></head>"
        f"<body><article>{inner}</article></body></html>"
    )
    check(normalize_content(title=None, body=None, html=page, language="en"))


@SETTINGS
@given(text=st.text())
def test_fingerprint_tokens_are_deterministic_and_clean(text: str) -> None:
    tokens = fingerprint_tokens(text)
    assert tokens == fingerprint_tokens(text)
    for t in tokens:
        assert t and not any(c.isspace() for c in t)
        assert t == t.casefold()


@SETTINGS
@given(value=st.one_of(st.none(), st.text(max_size=60), st.integers(), st.floats()))
def test_parse_published_at_never_raises(value: str | int | float | None) -> None:
    parsed, reason = parse_published_at(value, now=NOW)
    assert parsed.tzinfo is not None
    assert (reason is None) or parsed == NOW
    assert reason in (
        None,
        "missing",
        "unparseable",
        "future",
        "before_1900",
        "epoch_not_positive",
    )


@SETTINGS
@given(
    url=st.one_of(
        st.text(max_size=80),
        st.from_regex(r"https?://[a-zA-Z0-9.-]{1,20}(/[a-z0-9?=&#_%.-]{0,30})?", fullmatch=True),
    )
)
def test_canonical_url_never_raises_and_is_idempotent(url: str) -> None:
    once = canonical_url(url)
    if once is not None:
        assert canonical_url(once) == once
