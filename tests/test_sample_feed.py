"""The demo sample feed matches its documented expectations (samples/expected.json)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

SAMPLES = Path(__file__).resolve().parent.parent / "streamer" / "samples"
FEED = SAMPLES / "feed.jsonl"
EXPECTED = json.loads((SAMPLES / "expected.json").read_text(encoding="utf-8"))
LINES = FEED.read_text(encoding="utf-8").splitlines()


def contract_error(line: str) -> str | None:
    """Why a line violates the news.raw input contract, or None if it is valid."""
    try:
        obj: Any = json.loads(line)
    except json.JSONDecodeError:
        return "invalid json"
    if not isinstance(obj, dict):
        return f"not an object: {type(obj).__name__}"
    if "id" not in obj:
        return "missing id"
    rid = obj["id"]
    if not isinstance(rid, str) or not rid.strip():
        return "empty or non-string id"
    for key in ("body", "html"):
        if key in obj and obj[key] is not None and not isinstance(obj[key], str):
            return f"{key} not a string"
    if not any(isinstance(obj.get(k), str) and obj[k].strip() for k in ("body", "html")):
        return "no text"
    if "title" in obj and not isinstance(obj["title"], str):
        return "title not a string"
    for key in ("url", "source", "published_at", "language"):
        if key in obj and not isinstance(obj[key], str):
            return f"{key} not a string"
    return None


def valid_records() -> list[dict]:
    return [json.loads(line) for line in LINES if contract_error(line) is None]


def test_every_line_valid_or_listed_broken() -> None:
    broken = set(EXPECTED["broken_lines"])
    for n, line in enumerate(LINES, start=1):
        err = contract_error(line)
        if n in broken:
            assert err is not None, f"line {n} is listed broken but passes the contract"
        else:
            assert err is None, f"line {n} fails the contract ({err}) but is not listed broken"


def test_broken_lines_are_each_a_different_failure() -> None:
    reasons = [contract_error(LINES[n - 1]) for n in EXPECTED["broken_lines"]]
    assert all(reasons)
    assert len(set(reasons)) == len(reasons), reasons
    assert {"invalid json", "not an object: list", "not an object: str"} <= set(reasons)
    assert {"missing id", "empty or non-string id", "no text"} <= set(reasons)
    assert {"body not a string", "title not a string"} <= set(reasons)


def test_ids_unique() -> None:
    ids = [r["id"] for r in valid_records()]
    assert len(ids) == len(set(ids))


def test_duplicates_refer_to_feed_and_come_after_original() -> None:
    position = {r["id"]: i for i, r in enumerate(valid_records())}
    for rewrite, original in EXPECTED["duplicates"].items():
        assert rewrite in position, rewrite
        assert original in position, original
        assert position[rewrite] > position[original], (rewrite, original)
        assert original not in EXPECTED["duplicates"], "originals are not themselves rewrites"


def test_distinct_groups_refer_to_originals() -> None:
    ids = {r["id"] for r in valid_records()}
    dups = EXPECTED["duplicates"]
    for group in EXPECTED["distinct_groups"]:
        assert len(group) >= 2
        for rid in group:
            assert rid in ids and rid not in dups and rid not in dups.values()


def test_counts_in_range() -> None:
    records = valid_records()
    n_rewrites = len(EXPECTED["duplicates"])
    n_originals = len(records) - n_rewrites
    assert 25 <= n_originals <= 35
    assert 12 <= n_rewrites <= 18
    assert 7 <= len(EXPECTED["broken_lines"]) <= 10
    templated = {rid for g in EXPECTED["distinct_groups"] for rid in g}
    assert 4 <= len(templated) <= 8
    for r in records:
        if r["id"] in templated or r["id"] in EXPECTED["duplicates"]:
            continue
        words = len(r["body"].split())
        assert 80 <= words <= 250, (r["id"], words)


def test_rewrites_cover_the_republisher_styles() -> None:
    by_id = {r["id"]: r for r in valid_records()}
    rewrites = [by_id[i] for i in EXPECTED["duplicates"]]
    html_pages = [r for r in rewrites if r.get("html")]
    assert html_pages and all(
        "<article>" in r["html"] and "Share on Facebook" in r["html"] for r in html_pages
    )
    bodies = " ".join(r.get("body", "") for r in rewrites)
    assert "Showing 7 photos" in bodies
    assert "Read more:" in bodies
    assert any(r["title"].startswith("UPDATE 1-") for r in rewrites)
    assert any("utm_" in r.get("url", "") for r in rewrites)
    exact = [
        r for r in rewrites if r.get("body") == by_id[EXPECTED["duplicates"][r["id"]]].get("body")
    ]
    assert exact, "at least one exact re-send"
    assert len({r["source"] for r in rewrites}) >= 3


@pytest.mark.parametrize("group", EXPECTED["distinct_groups"])
def test_templated_items_differ_in_numbers_or_names(group: list[str]) -> None:
    by_id = {r["id"]: r for r in valid_records()}
    a, b = (by_id[i] for i in group[:2])
    assert a["body"] != b["body"] and a["title"] != b["title"]
