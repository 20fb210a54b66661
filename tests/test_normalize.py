"""Fixture tests for streamer.normalize: boilerplate, layouts, numbers, URLs, dates, language."""

from __future__ import annotations

import gzip
import itertools
import json
import re
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from streamer.normalize import (
    NormalizedText,
    canonical_url,
    fingerprint_tokens,
    normalize_content,
    parse_published_at,
)

FIXTURES = Path(__file__).parent / "fixtures" / "normalize"
SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
EXAMPLE_ARTICLE = SHARED_DATA / "example-raw-article.json"
REUTERS = SHARED_DATA / "reuters21578.jsonl.gz"
MARKUP_RE = re.compile(r"<[A-Za-z/!?][^<>]*>")
NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


def fixture(name: str) -> str:
    return (FIXTURES / name).read_text(encoding="utf-8")


def body_only(body: str, title: str | None = None, language: str | None = "en") -> NormalizedText:
    return normalize_content(title=title, body=body, html=None, language=language)


def fp(text: str) -> str:
    return " ".join(fingerprint_tokens(text))


def assert_idempotent(r: NormalizedText) -> None:
    again = normalize_content(title=r.title, body=r.text, html=None, language=r.language)
    assert (again.title, again.text, again.fp_title, again.fp_body) == (
        r.title,
        r.text,
        r.fp_title,
        r.fp_body,
    )


# --------------------------------------------------------------------------------------
# HTML layouts
# --------------------------------------------------------------------------------------

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


def test_script_style_and_comments_never_reach_text() -> None:
    html = (
        "<p>Before.</p><script>alert('x')</script><style>p{color:red}</style>"
        "<!-- hidden comment --><noscript>Enable JS</noscript><p>After.</p>"
    )
    r = normalize_content(title=None, body=None, html=html)
    assert r.text == "Before.\n\nAfter."


# --------------------------------------------------------------------------------------
# Boilerplate in plain text
# --------------------------------------------------------------------------------------


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


def test_reuters_angle_tags_are_content_not_markup() -> None:
    r = body_only(
        "A unit of Kumagai Gumi Co Ltd <KUMT.TOK> said <Li Ka-shing Foundations Ltd>"
        " will buy shares."
    )
    assert r.text == (
        "A unit of Kumagai Gumi Co Ltd (KUMT.TOK) said Li Ka-shing Foundations Ltd will buy shares."
    )
    assert "kumt.tok" in r.fp_body.split()


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


# --------------------------------------------------------------------------------------
# The example raw article
# --------------------------------------------------------------------------------------

STORY_SENTENCES = [
    "Russian President Vladimir Putin said that Moscow has received an offer to host Russian"
    " military on the road to Aleppo, to provide security for humanitarian convoys.",
    "Interview of the head of state the French TV channel TF1 published on the Kremlin website.",
    "Putin explained that in Aleppo there is only one road which can pass convoys.",
    "According to the President, on the one hand there are the militants, and on the other the"
    " government troops of President Bashar al-Assad.",
    "\"We say: let's get fighters from one side and the Syrian army on the other, clear the way,"
    ' will give safe passage on this road for humanitarian convoys", - Putin says.',
    "Further, according to him, the proposal is fixed in certain documents, but progress is not"
    " happening.",
    '"But does the exotic offer.',
    "I'll surprise you and your audience.",
    "We suggested to our Armed forces, soldiers of the Russian army, stood on this road and"
    " provide security.",
    "Our military, people with courage and determination, came to me and said, yeah, okay,"
    " we're ready,\" he said.",
    "Putin, in response, proposed to carry out this intention, along with the American military.",
    "\"We suggested they [the Americans] immediately refused to get up don't want to take the"
    ' combat units of these opposition groups, terrorist do not want", - said the head of state.',
    "In his opinion, the parties should increase the level of trust to each other and to"
    " understand that only by working together can they be eliminated.",
    'The Russian President also admitted that he "plunges into despair and surprise" that "the'
    " partners, including us, one way or another all the time trying to get her [banned in"
    ' Russia organization "Dzhabhat-EN-Nusra"] the scope of these terrorist organizations."',
    "According to Putin, this is because Washington wants to use militants to fight against"
    " Assad and his government.",
    "\"But we can't allow terrorists to hide behind people as a human shield and I can't allow"
    ' them to blackmail the whole world", - said the President.',
    "The President also responded to the accusations of Russia in the Syrian conflict and, in"
    " particular, the escalation of the conflict in Aleppo.",
    'Putin believes that they are "political rhetoric, which does not have much sense" and'
    " ignores the real situation.",
    "In turn, he blamed the situation in Syria on the United States, its coalition allies and"
    " European countries.",
    "The conflict in Syria intensified after mid-September were thwarted by the cease-fire, which"
    " acted on the basis of negotiations, the U.S. and Russia on 9 September.",
    "On the same day was fired at a convoy of the UN and the Syrian branch of the red Crescent"
    " society.",
    "After that, relations between Russia and the United States deteriorated sharply.",
    "The escalating conflict has taken place in the Aleppo.",
    "Although the government army Bashar al-Assad has decided to reduce the number of air"
    " strikes on the city and called on the rebels to leave its Eastern part, the defenders"
    " record the air strikes, which killed including civilians.",
    "Monday, October 10, Minister of foreign Affairs of France Jean-Marc Ayrault announced that"
    " Paris intends to apply to the international court to investigate possible war crimes in"
    " Syria.",
    '"We do not agree with what Russia is doing, causing air strikes on Aleppo.',
    'As never before France seeks to save the population of Aleppo," he said.',
]
GALLERY_PARTS = [
    "Photo gallery",
    "Ghost town",
    "The afternoon of September 29 held a regular open meeting",
    "withdrawal from the ceasefire",
    "Showing 7 photos",
]


@pytest.fixture(scope="module")
def example_article() -> dict[str, str]:
    if not EXAMPLE_ARTICLE.exists():
        pytest.skip(f"{EXAMPLE_ARTICLE} is absent (shared data not laid out next to the repo)")
    data: dict[str, str] = json.loads(EXAMPLE_ARTICLE.read_text(encoding="utf-8"))
    return data


def test_example_article_gallery_gone_and_every_sentence_kept(
    example_article: dict[str, str],
) -> None:
    r = normalize_content(
        title=example_article["title"],
        body=example_article["body"],
        html=None,
        language=example_article["language"],
    )
    for part in GALLERY_PARTS:
        assert part not in r.text, part
    for sentence in STORY_SENTENCES:
        assert sentence in r.text, sentence
    # Nothing but the story (and its photo caption) is left.
    rest = r.text
    for sentence in STORY_SENTENCES:
        rest = rest.replace(sentence, "")
    caption = "The militants in the Northern province of Aleppo, Syria, October 11, 2016"
    assert " ".join(rest.split()) == caption
    assert r.title == example_article["title"]
    assert r.language == "en"
    assert_idempotent(r)


def test_example_article_language_detected_and_url_cleaned(example_article: dict[str, str]) -> None:
    r = normalize_content(title=example_article["title"], body=example_article["body"], html=None)
    assert r.language == "en"
    assert canonical_url(example_article["url"]) == (
        "https://newsportal.example/world/2016/10/12/putin-aleppo"
    )


def test_example_article_as_html_page_matches_plain_fingerprint(
    example_article: dict[str, str],
) -> None:
    paragraphs = example_article["body"].split("\n\n")
    page = (
        "<html><head><title>" + example_article["title"] + " | News Portal</title></head><body>"
        "<nav><a href='/'>Home</a><a href='/world'>World</a></nav><article><h1>"
        + example_article["title"]
        + "</h1>"
        + "".join(f"<p>{p}</p>" for p in paragraphs)
        + "</article><footer>&copy; 2016 News Portal</footer></body></html>"
    )
    plain = normalize_content(
        title=example_article["title"], body=example_article["body"], html=None
    )
    from_html = normalize_content(title=None, body=None, html=page)
    assert from_html.title == plain.title
    assert from_html.fp_body == plain.fp_body


# --------------------------------------------------------------------------------------
# Unicode
# --------------------------------------------------------------------------------------


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


# --------------------------------------------------------------------------------------
# Fingerprint tokens
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "variants",
    [
        ["1.5 mln dlrs", "$1.5 million", "1,500,000 dollars", "1.5 million U.S. dlrs", "US$1.5m"],
        ["12 pct", "12 percent", "12%", "12 per cent", "12 %"],
        ["3 bln dlrs", "$3 billion", "3 billion dollars", "$3bn"],
        ["66 cts", "66 cents", "0.66 dlrs"],
        ["The dlr fell", "The dollar fell", "the Dollar fell"],
        ["profit rose 4.50 pct", "Profit rose 4.5 percent"],
        ["Zürich café", "Zurich cafe"],
        ["U.S. officials", "US officials"],
        ["520 mln H.K. dlrs", "520 million HK dollars", "HK$520m"],
        ["Kumagai Gumi <KUMT.TOK>", "Kumagai Gumi (KUMT.TOK)"],
        ["\u201cHello,\u201d she said.", '"hello" SHE said'],
    ],
)
def test_fingerprint_equivalences(variants: list[str]) -> None:
    forms = {fp(v) for v in variants}
    assert len(forms) == 1, forms


def test_fingerprint_canonical_forms() -> None:
    assert fingerprint_tokens("1.5 mln dlrs") == ["1500000", "usd"]
    assert fingerprint_tokens("66 cts vs 65.50 cts") == ["0.66", "usd", "vs", "0.655", "usd"]
    assert fingerprint_tokens("up 10 pct") == ["up", "10", "pct"]
    assert fingerprint_tokens("Cheung Kong <CKGH.HKG> said") == [
        "cheung",
        "kong",
        "ckgh.hkg",
        "said",
    ]
    assert fingerprint_tokens("Standard Oil <SRD>") == ["standard", "oil", "srd"]
    assert fingerprint_tokens("") == []


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("66 cts", "65.50 cts"),
        ("1.5 mln dlrs", "1.5 bln dlrs"),
        ("1.5 mln dlrs", "1.5 mln stg"),
        ("15 pct", "1.5 pct"),
        ("1987", "1988"),
        ("Net 1.1 mln vs 829,000", "Net 1.1 mln vs 829,500"),
        ("first quarter", "second quarter"),
    ],
)
def test_fingerprint_keeps_numbers_apart(a: str, b: str) -> None:
    assert fp(a) != fp(b)


def test_fingerprint_is_punctuation_free_and_casefolded() -> None:
    tokens = fingerprint_tokens('He said: "Oil, gas & coal -- all FELL!" (see page 3).')
    assert tokens == ["he", "said", "oil", "gas", "coal", "all", "fell", "see", "page", "3"]


def test_fp_fields_match_fingerprint_of_display_text() -> None:
    r = body_only(
        "Profit rose 4.5 pct to 1.2 mln dlrs.\n\nShares fell 3 cts.", title="PROFIT UP <ABC>"
    )
    assert r.fp_body == " ".join(fingerprint_tokens(r.text))
    assert r.fp_title == " ".join(fingerprint_tokens(r.title))
    assert r.fp_body == "profit rose 4.5 pct to 1200000 usd shares fell 0.03 usd"


# --------------------------------------------------------------------------------------
# URLs
# --------------------------------------------------------------------------------------


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
# Dates
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2016-10-12T09:30:00+03:00", datetime(2016, 10, 12, 6, 30, tzinfo=UTC)),
        ("2016-10-12T09:30:00Z", datetime(2016, 10, 12, 9, 30, tzinfo=UTC)),
        ("2016-10-12T09:30:00.250Z", datetime(2016, 10, 12, 9, 30, 0, 250000, tzinfo=UTC)),
        ("2016-10-12 09:30:00", datetime(2016, 10, 12, 9, 30, tzinfo=UTC)),
        ("2016-10-12", datetime(2016, 10, 12, tzinfo=UTC)),
        ("Tue, 10 Jun 2003 04:00:00 GMT", datetime(2003, 6, 10, 4, 0, tzinfo=UTC)),
        ("Tue, 10 Jun 2003 04:00:00 +0200", datetime(2003, 6, 10, 2, 0, tzinfo=UTC)),
        ("10 Jun 2003 04:00 EDT", datetime(2003, 6, 10, 8, 0, tzinfo=UTC)),
        ("October 12, 2016 9:30 PM EST", datetime(2016, 10, 13, 2, 30, tzinfo=UTC)),
        ("Wed Oct 12 09:30:00 +0000 2016", datetime(2016, 10, 12, 9, 30, tzinfo=UTC)),
        ("12 Oct 2016", datetime(2016, 10, 12, tzinfo=UTC)),
        (1465531200, datetime(2016, 6, 10, 4, 0, tzinfo=UTC)),
        (1465531200.5, datetime(2016, 6, 10, 4, 0, 0, 500000, tzinfo=UTC)),
        (1465531200000, datetime(2016, 6, 10, 4, 0, tzinfo=UTC)),
        ("1465531200", datetime(2016, 6, 10, 4, 0, tzinfo=UTC)),
        ("1465531200000", datetime(2016, 6, 10, 4, 0, tzinfo=UTC)),
        ("2024-05-02T11:00:00Z", datetime(2024, 5, 2, 11, 0, tzinfo=UTC)),  # within a day
        ("1900-01-01T00:00:00Z", datetime(1900, 1, 1, tzinfo=UTC)),
    ],
)
def test_parse_published_at_accepts(value: str | int | float, expected: datetime) -> None:
    parsed, reason = parse_published_at(value, now=NOW)
    assert reason is None
    assert parsed == expected
    assert parsed.tzinfo is not None and parsed.utcoffset() == timedelta(0)


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        (None, "missing"),
        ("", "missing"),
        ("   ", "missing"),
        ("garbage", "unparseable"),
        ("5", "unparseable"),
        ("yesterday-ish", "unparseable"),
        ("2016-13-45", "unparseable"),
        (float("nan"), "unparseable"),
        (float("inf"), "unparseable"),
        (10**30, "unparseable"),
        ("x" * 5000, "unparseable"),
        ("2030-01-01T00:00:00Z", "future"),
        ("2024-05-02T12:00:01Z", "future"),
        (4102444800, "future"),
        ("1850-06-01", "before_1900"),
        ("Tue, 10 Jun 1800 04:00:00 GMT", "before_1900"),
        (-5000000000, "before_1900"),
    ],
)
def test_parse_published_at_rejects(value: str | int | float | None, reason: str) -> None:
    parsed, got = parse_published_at(value, now=NOW)
    assert got == reason
    assert parsed == NOW


def test_parse_published_at_returns_utc_now_for_other_zones() -> None:
    now = datetime(2024, 5, 1, 14, 0, tzinfo=timezone(timedelta(hours=2)))
    parsed, reason = parse_published_at(None, now=now)
    assert reason == "missing"
    assert parsed == now and parsed.utcoffset() == timedelta(0)


# --------------------------------------------------------------------------------------
# Language
# --------------------------------------------------------------------------------------

LANGUAGE_SAMPLES = {
    "en": "The central bank left interest rates unchanged on Thursday and said inflation would"
    " fall slowly over the coming year.",
    "de": "Die Zentralbank hat die Leitzinsen am Donnerstag unverändert gelassen und erklärt, die"
    " Inflation werde im kommenden Jahr nur langsam sinken.",
    "fr": "La banque centrale a laissé ses taux directeurs inchangés jeudi et a déclaré que"
    " l'inflation baisserait lentement au cours de l'année prochaine.",
    "es": "El banco central mantuvo sin cambios los tipos de interés el jueves y dijo que la"
    " inflación bajaría lentamente durante el próximo año.",
}


@pytest.mark.parametrize("lang", sorted(LANGUAGE_SAMPLES))
def test_language_is_detected_offline(lang: str) -> None:
    r = normalize_content(title=None, body=LANGUAGE_SAMPLES[lang], html=None)
    assert r.language == lang


def test_given_language_wins_and_is_lowercased() -> None:
    text = LANGUAGE_SAMPLES["de"]
    assert normalize_content(title=None, body=text, html=None, language="EN").language == "en"
    assert normalize_content(title=None, body=text, html=None, language="pt-BR").language == "pt"
    assert normalize_content(title=None, body=text, html=None, language="  ").language == "de"


@pytest.mark.parametrize(
    "body", ["", "Hi there", "Oil up 2 pct.", "12345 67890 12345 67890", "!!!???..."]
)
def test_language_is_none_for_short_or_letterless_text(body: str) -> None:
    assert normalize_content(title=None, body=body, html=None).language is None


# --------------------------------------------------------------------------------------
# Bad input
# --------------------------------------------------------------------------------------

NASTY = [
    "",
    " ",
    "\x00\x01\x02",
    "\ud800 lone surrogate \udfff",
    "<",
    ">",
    "<<<>>>",
    "<a",
    "</",
    "<!--",
    "<![CDATA[ x ]]>",
    "<script>",
    "<<a>b>",
    "<a<b>>",
    "&",
    "&amp;amp;amp;lt;b&amp;amp;amp;gt;",
    "\u0301\u0301",
    "\ufe64b\ufe65 \uff1cb\uff1e",
    "\r\n\r\n\r",
    "\u2028\u2029\x85\x0b\x0c",
    "Reuter",
    "By",
    "(Reporting by",
    "9" * 5000,
    "1" + ",000" * 400 + " mln dlrs",
    "$" * 100 + "1" * 100,
    "\U0001f600 emoji \u200d\U0001f468",
    "a" * 100_000,
]


@pytest.mark.parametrize("s", NASTY)
def test_never_raises_and_leaves_no_markup(s: str) -> None:
    for kwargs in ({"body": s, "html": None}, {"body": None, "html": s}, {"body": s, "html": s}):
        r = normalize_content(title=s, language=None, **kwargs)  # type: ignore[arg-type]
        assert isinstance(r, NormalizedText)
        assert not MARKUP_RE.search(r.text)
        assert not MARKUP_RE.search(r.title)
        assert_idempotent(r)
    fingerprint_tokens(s)
    canonical_url(s)
    parse_published_at(s, now=NOW)


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


# --------------------------------------------------------------------------------------
# The Reuters corpus
# --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def reuters_sample() -> list[dict[str, str]]:
    if not REUTERS.exists():
        pytest.skip(f"{REUTERS} is absent (shared data not laid out next to the repo)")
    with gzip.open(REUTERS, "rt", encoding="utf-8") as f:
        return [json.loads(line) for line in itertools.islice(f, 0, 19_043, 19)]


def test_reuters_sample_is_clean_stable_and_keeps_numbers(
    reuters_sample: list[dict[str, str]],
) -> None:
    for story in reuters_sample:
        r = normalize_content(title=story["title"], body=story["body"], html=None)
        assert r.text, story["newid"]
        assert not r.text.rstrip().lower().endswith("reuter"), story["newid"]
        assert not MARKUP_RE.search(r.text)
        assert_idempotent(r)
        digits_in = len(re.findall(r"\d", story["body"]))
        if digits_in:
            assert re.search(r"\d", r.fp_body), story["newid"]
    english = sum(
        normalize_content(title=s["title"], body=s["body"], html=None).language == "en"
        for s in reuters_sample
    )
    assert english / len(reuters_sample) > 0.85
