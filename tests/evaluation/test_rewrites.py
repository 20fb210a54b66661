"""The rewrite generator: every kind meets the input contract and stays the same story."""

from __future__ import annotations

import random
import re

import pytest

from streamer.evaluation.rewrites import KINDS, make_rewrite, parse_time
from streamer.evaluation.wire import ORIGINAL_SOURCE, original_record
from tests.evaluation.samples import STORY, contract_ok


def _text(rec: dict) -> str:
    return rec.get("body") or re.sub(r"<[^>]*>", " ", rec.get("html", ""))


@pytest.mark.parametrize("kind", KINDS)
def test_rewrite_kinds_satisfy_contract_and_differ(kind: str) -> None:
    original = original_record(STORY)
    rec = make_rewrite(STORY, kind, random.Random(3), index=2)
    assert contract_ok(rec)
    assert rec["id"] == f"r90001-rw2-{kind}"
    assert rec["id"] != original["id"]
    assert rec["source"] != ORIGINAL_SOURCE
    published = parse_time(rec["published_at"])
    delay = published - parse_time(original["published_at"])
    assert 0 < delay.total_seconds() <= 6 * 3600 + 60
    if kind == "resend":
        assert rec["body"] == original["body"] and rec["title"] == original["title"]
    else:
        assert _text(rec) != original["body"]
        # still the same story: a distinctive phrase of it survives
        assert "Bolt Industries" in _text(rec) or "Bolt" in _text(rec)


def test_rewrite_kind_specifics() -> None:
    rng = random.Random(11)
    page = make_rewrite(STORY, "html_page", rng)
    assert "<article>" in page["html"] and "Share on Facebook" in page["html"]
    assert "Related articles" in page["html"] and "&copy;" in page["html"]
    assert "<ACW>" not in page["html"], "ticker tags are escaped in HTML"
    restyled = make_rewrite(STORY, "restyle", rng)
    assert "mln" not in restyled["body"] and "pct" not in restyled["body"]
    assert "Reuter" not in restyled["body"].split()[-3:]
    truncated = make_rewrite(STORY, "truncate", rng)
    assert len(truncated["body"]) < len(STORY["body"]) * 0.9
    gallery = make_rewrite(STORY, "boilerplate_insert", rng)
    assert "Showing" in gallery["body"] or "Read more:" in gallery["body"]
    assert "utm_source=" in gallery["url"]
    with pytest.raises(ValueError):
        make_rewrite(STORY, "nonsense", rng)
