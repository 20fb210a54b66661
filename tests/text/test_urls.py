"""URLs: one spelling per article URL, and the fast path agrees with courlan."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from streamer.text.urls import canonical_url, canonical_url_general


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (
            "https://newsportal.example/world/2016/10/12/putin-aleppo?utm_source=rss&utm_medium=feed",
            "https://newsportal.example/world/2016/10/12/putin-aleppo",
        ),
        ("HTTPS://Example.COM:443/a/B?b=2&a=1#frag", "https://example.com/a/B?a=1&b=2"),
        ("http://example.com:80/x", "http://example.com/x"),
        ("http://example.com:8080/x", "http://example.com:8080/x"),
        (
            "https://example.com/story?id=5&fbclid=abc&gclid=1&dclid=2&msclkid=3&mc_cid=4&mc_eid=5"
            "&_ga=6&yclid=7&igshid=8&ref=tw&ref_src=twsrc&cmpid=9&utm_campaign=x",
            "https://example.com/story?id=5",
        ),
        ("  https://example.com/a  ", "https://example.com/a"),
        ("//example.com/a?x=1", "https://example.com/a?x=1"),
        ("https://example.com", "https://example.com/"),
        (None, None),
        ("", None),
        ("   ", None),
        ("not a url", None),
        ("ftp://example.com/file", None),
        ("mailto:someone@example.com", None),
        ("http://", None),
        ("https://example.com:notaport/x", None),
        ("https://example.com:99999/x", None),
        ("http://[::1", None),
    ],
)
def test_canonical_url(url: str | None, expected: str | None) -> None:
    assert canonical_url(url) == expected


def test_canonical_url_is_idempotent() -> None:
    for url in [
        "HTTPS://Example.COM:443/a/B?b=2&a=1&utm_source=x#frag",
        "http://x.example/%7Euser/?q=a+b",
    ]:
        once = canonical_url(url)
        assert once is not None
        assert canonical_url(once) == once


# --------------------------------------------------------------------------------------
# Fast paths: each gives exactly the answers of the plain definition it replaces
# --------------------------------------------------------------------------------------

_URL_HOSTS = st.text(alphabet="abx9-.", min_size=1, max_size=10)
_URL_PATHS = st.text(alphabet="az09-._~/AZ", max_size=16)


@settings(max_examples=500)
@given(st.sampled_from(["http://", "https://"]), _URL_HOSTS, _URL_PATHS)
def test_canonical_url_fast_path_agrees_with_courlan(scheme: str, host: str, path: str) -> None:
    url = scheme + host + path
    assert canonical_url(url) == canonical_url_general(url)


def test_canonical_url_fast_path_examples() -> None:
    assert canonical_url("https://wire.example/story/12") == ("https://wire.example/story/12")
    assert canonical_url("https://wire.example") == "https://wire.example/"
    assert canonical_url(" http://a.b/x/ ") == "http://a.b/x/"
    for url in ("https://xn--bcher-kva.example/a", "https://a.b/../c", "https://a.b//c"):
        assert canonical_url(url) == canonical_url_general(url)
