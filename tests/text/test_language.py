"""Language: given tags win, otherwise identified offline; the English fast path agrees."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from streamer.text import language
from streamer.text.content import normalize_content

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
# Fast paths: each gives exactly the answers of the plain definition it replaces
# --------------------------------------------------------------------------------------

_ENGLISHISH = st.lists(
    st.sampled_from(
        ["The", "the", "THE", "of", "And", "said", "U.S.", "1.5", "mln", "Der", "die", "x_y",
         "it's", "a.b", "é", " ", "  ", "\n", ",", "."]
    ),
    max_size=60,
).map(" ".join)  # fmt: skip


@settings(max_examples=400)
@given(_ENGLISHISH)
def test_plainly_english_ascii_path_agrees_with_casefolding_each_word(sample: str) -> None:
    words = [w.casefold() for w in language.LETTERS_RE.findall(sample)]
    hits = sum(1 for w in words if w in language.ENGLISH_MARKERS)
    expected = len(words) >= 12 and "the" in words and hits >= 0.15 * len(words)
    assert language.plainly_english(sample) == expected
