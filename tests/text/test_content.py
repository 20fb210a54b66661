"""normalize_content end to end: the example article, bad input, the Reuters corpus."""

from __future__ import annotations

import gzip
import itertools
import json
import re

import pytest

from streamer.text.content import NormalizedText, normalize_content
from streamer.text.dates import parse_published_at
from streamer.text.tokens import fingerprint_tokens
from streamer.text.urls import canonical_url
from tests.text.helpers import (
    EXAMPLE_ARTICLE,
    MARKUP_RE,
    NOW,
    REUTERS,
    assert_idempotent,
    body_only,
)

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


def test_fp_fields_match_fingerprint_of_display_text() -> None:
    r = body_only(
        "Profit rose 4.5 pct to 1.2 mln dlrs.\n\nShares fell 3 cts.", title="PROFIT UP <ABC>"
    )
    assert r.fp_body == " ".join(fingerprint_tokens(r.text))
    assert r.fp_title == " ".join(fingerprint_tokens(r.title))
    assert r.fp_body == "profit rose 4.5 pct to 1200000 usd shares fell 0.03 usd"


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
        r = normalize_content(title=s, language=None, **kwargs)
        assert isinstance(r, NormalizedText)
        assert not MARKUP_RE.search(r.text)
        assert not MARKUP_RE.search(r.title)
        assert_idempotent(r)
    fingerprint_tokens(s)
    canonical_url(s)
    parse_published_at(s, now=NOW)


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
