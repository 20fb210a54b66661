"""The cheaper paths of ``page``, ``chars`` and ``language`` give what the library calls give.

Each fast path claims to be the same function as the plain library call it
replaces (trafilatura with options built per call, ftfy on the whole text,
py3langid's own mixed-type product); these tests hold them to it on the real
inputs: Reuters, METER, the sample feed, the example article, the evaluation's
rewrites and the HTML layouts of the fixtures.
"""

from __future__ import annotations

import gzip
import json
import random
import warnings
from collections.abc import Iterator
from pathlib import Path

import ftfy
import numpy as np
import pytest
import trafilatura
from hypothesis import given, settings
from hypothesis import strategies as st

from streamer.evaluation.rewrites import KINDS, make_rewrite
from streamer.evaluation.wire import paragraphs
from streamer.text import chars, language, page
from tests.text.helpers import EXAMPLE_ARTICLE, FIXTURES, REUTERS, SHARED_DATA

METER = SHARED_DATA / "meter-dev.jsonl.gz"
SAMPLE_FEED = Path(__file__).resolve().parents[2] / "streamer" / "samples" / "feed.jsonl"
# Rewrites of this many Reuters stories, each of every kind, stand for what
# republishers send (curly quotes, no-break spaces, portal pages).
REWRITTEN_STORIES = 300


def _need(path: Path) -> None:
    if not path.exists():
        pytest.skip(f"{path} is absent (shared data not laid out next to the repo)")


def _jsonl(path: Path) -> Iterator[dict]:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                yield json.loads(line)


def _reuters() -> list[dict]:
    _need(REUTERS)
    return list(_jsonl(REUTERS))


def _rewrites(stories: list[dict]) -> list[dict]:
    rng = random.Random(17)
    out = []
    for story in stories[:REWRITTEN_STORIES]:
        if paragraphs(story.get("body") or ""):
            out.extend(make_rewrite(story, kind, rng) for kind in KINDS)
    return out


def _feed_records() -> list[dict]:
    records = []
    for line in SAMPLE_FEED.read_text(encoding="utf-8").splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if isinstance(record, dict):
            records.append(record)
    return records


def _example() -> dict:
    _need(EXAMPLE_ARTICLE)
    return json.loads(EXAMPLE_ARTICLE.read_text(encoding="utf-8"))


def _portal_pages(stories: list[dict]) -> list[str]:
    from streamer.evaluation.pages import portal_page as as_page

    pages = [as_page(s) for s in stories[:200]]
    pages += [r["html"] for r in _rewrites(stories) if "html" in r]
    pages += [r["html"] for r in _feed_records() if isinstance(r.get("html"), str)]
    pages += [p.read_text(encoding="utf-8") for p in sorted(FIXTURES.glob("*.html"))]
    return pages


# --- page: trafilatura's options built once -----------------------------------------


def _extract_with_options_per_call(html: str) -> str | None:
    """What ``page`` called before its options were built once."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return trafilatura.extract(
            html,
            fast=True,
            favor_precision=True,
            include_comments=False,
            include_tables=True,
            include_images=False,
            include_links=False,
            include_formatting=False,
            with_metadata=False,
            deduplicate=False,
        )


def test_shared_extractor_extracts_what_per_call_options_extract() -> None:
    pages = _portal_pages(_reuters())
    assert len(pages) > 500
    for html in pages:
        assert page._trafilatura_extract(html) == _extract_with_options_per_call(html)
    # and extraction left the shared options as they were
    assert page._extractor().focus == "precision"


# --- chars: ftfy only on the lines that are not ASCII -------------------------------


def _texts_for_ftfy() -> Iterator[str]:
    stories = _reuters()
    for s in stories:
        yield s.get("title") or ""
        yield s["body"]
    for record in _rewrites(stories):
        yield from (record.get("title") or "", record.get("body") or "")
        if record.get("html"):
            yield page.page_text(record["html"])
    if METER.exists():
        yield from (m["text"] for m in _jsonl(METER))
    for record in _feed_records():
        yield from (v for v in record.values() if isinstance(v, str))
    yield from (v for v in _example().values() if isinstance(v, str))


def test_ftfy_by_lines_equals_ftfy_on_real_texts() -> None:
    checked = 0
    for raw in _texts_for_ftfy():
        # what fix_chars hands ftfy: line breaks and entities already settled
        text = chars._unescape_entities(raw.replace("\r\n", "\n").replace("\r", "\n"))
        if text.isascii():
            continue
        assert chars.fix_text_lines(text) == ftfy.fix_text(text, chars._FTFY_CONFIG)
        checked += 1
    assert checked > 500


_PIECES = st.sampled_from(
    [
        "The minister said ",
        "caf\u00e9 ",
        "\u201cquoted\u201d ",
        "it\u2019s ",
        "\u00e2\u20ac\u2122",  # mojibake of a curly apostrophe
        "\u00c3\u00a9",  # mojibake of e-acute
        "\u00a0",
        "\ufb01",
        "\uff21",
        "\x85",
        "\u2028",
        "\x1b[31m",
        "\x0b",
        "\x0c",
        "\t",
        "\x7f",
        "\n",
        "\n\n",
        "Reuter",
        "\ud800",
        " ",
    ]
)


@settings(max_examples=400, deadline=None)
@given(st.lists(_PIECES, max_size=30).map("".join))
def test_ftfy_by_lines_equals_ftfy_on_mixed_lines(text: str) -> None:
    try:
        expected = ftfy.fix_text(text, chars._FTFY_CONFIG)
    except Exception:
        with pytest.raises(Exception):  # noqa: B017 - the same failure, whatever it is
            chars.fix_text_lines(text)
        return
    assert chars.fix_text_lines(text) == expected


# --- language: py3langid's product over float32 rows -------------------------------


def _stock_identifier() -> object:
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    ident = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
    ident.set_languages([c for c in ident.labels if len(c) == 2 and c != "zxx"])
    return ident


def test_fast_identifier_is_in_use() -> None:
    from py3langid.langid import LanguageIdentifier

    ident = language._language_identifier()
    assert type(ident) is not LanguageIdentifier, "py3langid changed: look at the override again"
    assert type(ident)._sparse_score is not LanguageIdentifier._sparse_score
    assert ident.nb_ptc.flags.c_contiguous


@pytest.mark.slow
def test_fast_identifier_scores_equal_py3langid_on_every_story() -> None:
    """Every Reuters story and METER text: the same scores, so the same answers."""
    stock, fast = _stock_identifier(), language._language_identifier()
    samples = [s["body"][: language.LANGUAGE_SAMPLE_CHARS] for s in _reuters()]
    if METER.exists():
        samples += [m["text"][: language.LANGUAGE_SAMPLE_CHARS] for m in _jsonl(METER)]
    samples += [language.__doc__ or "", "Die Zentralbank hat die Leitzinsen gesenkt."]
    for sample in samples:
        expected, got = stock._decide(sample), fast._decide(sample)  # type: ignore[attr-defined]
        assert np.array_equal(expected, got), sample
