"""An article's display text and fingerprint form: the passes of ``text/`` in their order.

Near-duplicate detection is only as good as the text it hashes: the same wire story
arrives as plain wire text, as a full portal page, machine-translated, wrapped in share
bars, galleries and bylines, with smart quotes, mojibake and each outlet's own style
("mln dlrs" vs "$ million"). Each pass lives in its own module; this one runs them:

    page        an HTML page's main text (or its title, when none is given)
    wire        PA wire copy's layout undone (slug block, hard wraps, codes, old charset)
    chars       one spelling of every character
    markup      no tag left
    paragraphs  wire lines rejoined, boilerplate dropped (``boilerplate``), ends trimmed
    titles      wire prefixes and site names off the headline
    tokens      the fingerprint form of the title and of the text
    language    the given language, or the one identified offline

Everything is a pure function of its arguments; the only state is lazily built caches
(character tables, the language identifier).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from streamer.text.chars import fix_chars
from streamer.text.language import article_language
from streamer.text.markup import remove_markup
from streamer.text.page import page_text, page_title
from streamer.text.paragraphs import story_paragraphs
from streamer.text.titles import strip_title_affixes
from streamer.text.tokens import fingerprint_tokens
from streamer.text.wire import looks_like_wire, split_wire

# Inputs are capped before the expensive stages so that a hostile or broken input costs
# bounded time; real articles are far below these sizes (pages: ``page.MAX_HTML_CHARS``).
MAX_TEXT_CHARS = 1_000_000
MAX_TITLE_CHARS = 2_000
_SETTLE_ROUNDS = 3


@dataclass(frozen=True, slots=True)
class NormalizedText:
    title: str
    text: str
    fp_title: str
    fp_body: str
    language: str | None


def normalize_content(
    *, title: str | None, body: str | None, html: str | None, language: str | None = None
) -> NormalizedText:
    """Clean an article for display and fingerprinting.

    Never raises on str input but ``chars.TextTooLarge``, for a text made mostly of
    characters that NFKC expands (U+FDFA is 18 characters).
    """
    if not (html and html.strip()) and body and looks_like_wire(body):
        wire = split_wire(body)
        body = wire.body
        if not (title and title.strip()):
            title = wire.headline
    if title is not None and title.strip():
        clean_title = _clean_title(title)
    elif html:
        clean_title = _clean_title(page_title(html))
    else:
        clean_title = ""
    fp_title = " ".join(fingerprint_tokens(clean_title))
    text = ""
    if html and html.strip():
        text = _clean_text(page_text(html), fp_title)
    if not text and body:
        text = _clean_text(body, fp_title)
    return NormalizedText(
        title=clean_title,
        text=text,
        fp_title=fp_title,
        fp_body=" ".join(fingerprint_tokens(text)),
        language=article_language(language, clean_title, text),
    )


def _settle(clean: Callable[[str], str], s: str) -> str:
    """Run `clean` until its output stops changing.

    ftfy's guesses depend on neighbouring characters, so removing markup or joining
    lines can expose a new "mojibake" pattern in already-clean text.  Re-running on
    non-ASCII output (ASCII never reaches ftfy) makes display text a fixpoint.
    """
    out = clean(s)
    for _ in range(_SETTLE_ROUNDS):
        if out.isascii():
            break
        again = clean(out)
        if again == out:
            break
        out = again
    return out


def _clean_text(s: str, title_fp: str = "") -> str:
    return _settle(lambda t: _clean_text_once(t, title_fp), s)


def _clean_text_once(s: str, title_fp: str) -> str:
    # The cap applies on every round: NFKC can grow a text (``chars.MAX_NFKC_GROWTH``).
    s = remove_markup(fix_chars(s[:MAX_TEXT_CHARS]))
    return "\n\n".join(story_paragraphs(s, title_fp))


def _clean_title(raw: str) -> str:
    return _settle(_clean_title_once, raw[:MAX_TITLE_CHARS])


def _clean_title_once(raw: str) -> str:
    return strip_title_affixes(" ".join(remove_markup(fix_chars(raw)).split()))
