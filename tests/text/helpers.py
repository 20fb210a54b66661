"""What the text tests share: fixture pages, the shared data files, and the idempotence check."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

from streamer.text.content import NormalizedText, normalize_content
from streamer.text.tokens import fingerprint_tokens

FIXTURES = Path(__file__).parent / "fixtures"
SHARED_DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"
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
