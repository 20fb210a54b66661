"""The article's language: the one it was given, or one identified offline.

Identification runs on every article that comes without a language, so it must be
local and cheap: English wire copy (most of the traffic) is recognised by its
function words, and everything else goes to py3langid, whose model ships in its wheel.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

import numpy as np

# Below this many characters a language guess is noise.
MIN_LANGUAGE_CHARS = 20
LANGUAGE_SAMPLE_CHARS = 200
MIN_LANGUAGE_CONFIDENCE = 0.5
# Below this many characters of body the title joins the sample.
_BODY_ALONE_CHARS = 100


@lru_cache(maxsize=1)
def _language_identifier() -> Any:
    """py3langid ships its model in the wheel; restrict it to ISO 639-1 output codes."""
    from py3langid.langid import MODEL_FILE

    ident = _identifier_class().from_model_file(MODEL_FILE, norm_probs=True)
    ident.set_languages([c for c in ident.labels if len(c) == 2 and c != "zxx"])
    # Restricting the languages leaves the table column-major: rows are gathered from
    # it for every text, which row-major storage makes ten times cheaper.
    ident.nb_ptc = np.ascontiguousarray(ident.nb_ptc)
    return ident


@lru_cache(maxsize=1)
def _identifier_class() -> type[Any]:
    """py3langid's identifier, with its product over float32 rows.

    The model table is float16; py3langid multiplies float32 counts by the float16
    rows it gathers, and numpy's mixed-type product costs more than casting the
    gathered rows to float32 and multiplying those. The scores are the same
    answers (the tests compare both on the shared corpora); keeping the whole table
    as float32 instead would double its 23 MB in every process.
    """
    from py3langid.langid import LanguageIdentifier

    class Float32RowsIdentifier(LanguageIdentifier):
        __slots__ = ()

        def _sparse_score(self, visits: dict[int, int], table: np.ndarray) -> np.ndarray:
            n = len(visits)
            idx = np.fromiter(visits.keys(), dtype=np.intp, count=n)
            counts = np.fromiter(visits.values(), dtype=np.float32, count=n)
            return np.log1p(counts) @ table[idx].astype(np.float32) + self.nb_pc

    # A py3langid that no longer scores through this method gets its own product (the
    # tests fail on it, so that the override is looked at again).
    if not callable(getattr(LanguageIdentifier, "_sparse_score", None)):
        return LanguageIdentifier
    return Float32RowsIdentifier


# Function words that are English and not also common words of the other languages
# a news feed carries ("in", "an", "a", "die", "de" are left out on purpose).
ENGLISH_MARKERS = frozenset(
    "the of and to is was that for with said from were has have been would which "
    "this but not its are will by at it he they after".split()
)
# Letters only: figures are not words of any language. (This pattern once shared its
# name with the fingerprint word pattern, which silently replaced it; on the
# Reuters corpus letters-only moves 192 stories onto this path and 11 off it, and
# py3langid answers "en" for every one of them, so no answer changed.)
LETTERS_RE = re.compile(r"[^\W\d_]+")


def plainly_english(sample: str) -> bool:
    """Most of our traffic is English wire copy: recognise it by its function words.

    A statistical identifier costs about 0.3 ms a text, as much as all the rest
    of normalization; English prose is a sixth or more function words, with
    "the" among them, which no other language's text shows. Anything else
    still goes to the identifier.
    """
    if sample.isascii():
        # Lower-casing ASCII keeps every word's boundaries: the same words, casefolded.
        words = LETTERS_RE.findall(sample.lower())
    else:
        words = [w.casefold() for w in LETTERS_RE.findall(sample)]
    if len(words) < 12:
        return False
    hits = sum(map(ENGLISH_MARKERS.__contains__, words))
    return "the" in words and hits >= 0.15 * len(words)


def _detect_language(sample: str) -> str | None:
    sample = sample[:LANGUAGE_SAMPLE_CHARS]
    if len(sample.strip()) < MIN_LANGUAGE_CHARS or not any(c.isalpha() for c in sample):
        return None
    if plainly_english(sample):
        return "en"
    try:
        lang, prob = _language_identifier().classify(sample)
    except Exception:
        return None
    return str(lang) if prob >= MIN_LANGUAGE_CONFIDENCE else None


_LANG_TAG_RE = re.compile(r"\s*([A-Za-z]{2,3})(?:[-_][A-Za-z0-9]{1,8})*\s*")


def _given_language(language: str | None) -> str | None:
    if language is None or not language.strip():
        return None
    m = _LANG_TAG_RE.fullmatch(language)
    return m.group(1).lower() if m else language.strip().lower()


def article_language(language: str | None, title: str, text: str) -> str | None:
    """The given tag's primary subtag, else the language identified in the clean text, or None."""
    lang = _given_language(language)
    if lang is None:
        # Wire titles are often all capitals, which reads as another language; the body
        # decides unless it is too short to.
        sample = text if len(text) >= _BODY_ALONE_CHARS else f"{title}\n{text}"
        lang = _detect_language(sample)
    return lang
