"""The file adapter: JSON Lines (plain, .gz, stdin) in, three JSON Lines files out."""

from __future__ import annotations

import gzip
import io
import json
from pathlib import Path
from typing import Any

import pytest

from streamer.config import Settings
from streamer.files_io import OUTPUT_FILES, dedup_records, open_input, read_records, run_file
from streamer.models import Outcome

SAMPLES = Path(__file__).resolve().parent.parent / "streamer" / "samples"
FEED = SAMPLES / "feed.jsonl"
EXPECTED = json.loads((SAMPLES / "expected.json").read_text(encoding="utf-8"))

BODY = (
    "SAN TERESA, May 14 - Brightloom Software Inc said on Tuesday it would cut about 600 "
    "jobs, or 8 pct of its workforce, as it shifts spending from its older desktop products "
    "toward cloud services.\n\nThe company said it expected to record restructuring charges "
    "of 45 mln to 55 mln dlrs, mostly in the second quarter, and that the cuts would save "
    "about 90 mln dlrs a year from 2025.\n\nChief executive Daniel Okafor said in a note to "
    "staff that the decision was painful but necessary to fund growth."
)
OTHER = (
    "ASHFORD, May 14 - Calderwood Bank Plc said net profit rose 12 pct to 412 mln dlrs in "
    "the first quarter, helped by higher lending margins and lower loan-loss provisions.\n\n"
    "Net interest income increased 7 pct to 1.1 bln dlrs, while fee income was flat. The "
    "bank's core capital ratio stood at 14.2 pct at the end of March."
)


def art(id_: str, body: str = BODY) -> dict[str, Any]:
    return {
        "id": id_,
        "title": "Brightloom to cut jobs",
        "body": body,
        "source": "wire.example",
        "published_at": "2024-05-14T07:10:00Z",
    }


def small_feed() -> list[bytes]:
    """Six records and two blank lines: 2 clean, 1 duplicate, 3 dead letters."""
    return [
        json.dumps(art("a1")).encode(),
        b"",
        json.dumps(art("a2")).encode(),  # exact duplicate of a1
        b"{broken",
        b"   ",
        json.dumps(art("b1", OTHER)).encode(),
        b"[1, 2]",
        json.dumps({"id": "nt", "title": "no text"}).encode(),
    ]


def write_jsonl(path: Path, lines: list[bytes], gz: bool = False) -> Path:
    data = b"\n".join(lines) + b"\n"
    if gz:
        path.write_bytes(gzip.compress(data))
    else:
        path.write_bytes(data)
    return path


def read_out(out: Path) -> dict[str, list[dict[str, Any]]]:
    got: dict[str, list[dict[str, Any]]] = {}
    for outcome, name in OUTPUT_FILES.items():
        text = (out / name).read_text(encoding="utf-8")
        assert text == "" or text.endswith("\n")
        got[outcome.value] = [json.loads(line) for line in text.splitlines()]
    return got


def check_small_feed_output(counts: Any, out: Path, topic: str) -> None:
    assert dict(counts) == {"clean": 2, "duplicate": 1, "deadletter": 3}
    assert sorted(p.name for p in out.iterdir()) == [
        "clean.jsonl",
        "deadletter.jsonl",
        "duplicates.jsonl",
    ]
    got = read_out(out)
    assert [r["id"] for r in got["clean"]] == ["a1", "b1"]
    assert [(r["id"], r["duplicate_of"], r["cluster_id"]) for r in got["duplicate"]] == [
        ("a2", "a1", "a1")
    ]
    dead = got["deadletter"]
    # offsets are 1-based line numbers, counting the skipped blank lines
    assert [(d["offset"], d["error"]["type"]) for d in dead] == [
        (4, "invalid_json"),
        (7, "not_an_object"),
        (8, "no_text"),
    ]
    assert {d["topic"] for d in dead} == {topic}
    assert {d["partition"] for d in dead} == {0}
    assert dead[0]["raw"] == "{broken"


def test_run_file_plain_jsonl(tmp_path: Path) -> None:
    src = write_jsonl(tmp_path / "in.jsonl", small_feed())
    out = tmp_path / "out" / "nested"
    counts = run_file(str(src), out, Settings())
    check_small_feed_output(counts, out, "in.jsonl")


def test_run_file_gzip(tmp_path: Path) -> None:
    src = write_jsonl(tmp_path / "in.jsonl.gz", small_feed(), gz=True)
    out = tmp_path / "out"
    counts = run_file(str(src), out, Settings())
    check_small_feed_output(counts, out, "in.jsonl.gz")


def test_run_file_crlf_lines(tmp_path: Path) -> None:
    src = tmp_path / "in.jsonl"
    src.write_bytes(b"\r\n".join(small_feed()) + b"\r\n")
    counts = run_file(str(src), tmp_path / "out", Settings())
    check_small_feed_output(counts, tmp_path / "out", "in.jsonl")


class FakeStdin:
    def __init__(self, buffer: io.IOBase) -> None:
        self.buffer = buffer


def test_run_file_stdin_bytesio(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data = b"\n".join(small_feed()) + b"\n"
    monkeypatch.setattr("sys.stdin", FakeStdin(io.BytesIO(data)))
    stream = open_input("-")
    assert stream.read() == data
    monkeypatch.setattr("sys.stdin", FakeStdin(io.BytesIO(data)))
    counts = run_file("-", tmp_path / "out", Settings())
    check_small_feed_output(counts, tmp_path / "out", "stdin")


def test_run_file_stdin_gzip(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Real stdin is a BufferedReader (it can peek), so gzip on stdin is detected."""
    data = gzip.compress(b"\n".join(small_feed()) + b"\n")
    monkeypatch.setattr("sys.stdin", FakeStdin(io.BufferedReader(io.BytesIO(data))))
    counts = run_file("-", tmp_path / "out", Settings())
    check_small_feed_output(counts, tmp_path / "out", "stdin")


def test_open_input_missing_file(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="input file not found"):
        open_input(str(tmp_path / "nope.jsonl"))


def test_read_records_skips_blank_lines_and_numbers_lines() -> None:
    stream = io.BytesIO(b'{"a":1}\n\n  \n{"b":2}\r\n\t\n{"c":3}')
    records = list(read_records(stream, "f"))
    assert [(r.offset, r.value) for r in records] == [
        (1, b'{"a":1}'),
        (4, b'{"b":2}'),
        (6, b'{"c":3}'),
    ]
    assert all(r.topic == "f" and r.partition == 0 and r.key is None for r in records)


def test_empty_input_writes_empty_files(tmp_path: Path) -> None:
    src = tmp_path / "empty.jsonl"
    src.write_bytes(b"\n\n")
    counts = run_file(str(src), tmp_path / "out", Settings())
    assert sum(counts.values()) == 0
    assert read_out(tmp_path / "out") == {"clean": [], "duplicate": [], "deadletter": []}


def decisions(values: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    out = []
    for v in values:
        if "error" in v:
            out.append(("deadletter", v["error"]["type"], v["offset"], v["raw"]))
        else:
            out.append(
                (v["id"], v["cluster_id"], v["duplicate_of"], v["similarity"], v["content_hash"])
            )
    return out


def test_dedup_records_matches_run_file(tmp_path: Path) -> None:
    lines = FEED.read_bytes().splitlines()
    items: list[dict[str, Any] | bytes] = []
    for line in lines:
        try:
            obj = json.loads(line)
        except ValueError:
            obj = None
        items.append(obj if isinstance(obj, dict) else line)
    assert sum(isinstance(i, dict) for i in items) > 40

    results = dedup_records(items)
    assert len(results) == len(lines)
    counts = run_file(str(FEED), tmp_path / "out", Settings())
    assert sum(counts.values()) == len(lines)

    got = read_out(tmp_path / "out")
    n_file_values = sum(len(v) for v in got.values())
    # order file outputs by input line: clean/duplicates carry no offset, so rebuild by id
    by_id = {v["id"]: v for v in got["clean"] + got["duplicate"]}
    by_offset = {v["offset"]: v for v in got["deadletter"]}
    mem_values = [json.loads(r.value) for r in results]
    ordered = []
    for n, mem in enumerate(mem_values, start=1):
        ordered.append(by_offset[n] if "error" in mem else by_id[mem["id"]])
    assert n_file_values == len(ordered)
    # dead letters: the memory adapter re-serializes dicts, so compare raw only for bytes items
    mem_dec = decisions(mem_values)
    file_dec = decisions(ordered)
    for n, (m, f, item) in enumerate(zip(mem_dec, file_dec, items, strict=True), start=1):
        if m[0] == "deadletter" and not isinstance(item, bytes):
            m, f = m[:3], f[:3]
        assert m == f, f"line {n}"
    assert [r.outcome.value for r in results].count("duplicate") == counts["duplicate"]


# -- the sample feed and its documented expectations ------------------------------------------


@pytest.fixture(scope="module")
def sample_output(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    out = tmp_path_factory.mktemp("sample")
    counts = run_file(str(FEED), out, Settings())
    got = read_out(out)
    by_id = {v["id"]: v for v in got["clean"] + got["duplicate"]}
    outcome = {v["id"]: "clean" for v in got["clean"]}
    outcome.update({v["id"]: "duplicate" for v in got["duplicate"]})
    return {"counts": counts, "got": got, "by_id": by_id, "outcome": outcome}


def test_sample_one_line_per_input(sample_output: dict[str, Any]) -> None:
    n_lines = len([ln for ln in FEED.read_bytes().splitlines() if ln.strip()])
    assert sum(sample_output["counts"].values()) == n_lines
    got = sample_output["got"]
    assert sum(len(v) for v in got.values()) == n_lines
    assert sample_output["counts"]["deadletter"] == len(EXPECTED["broken_lines"])


@pytest.mark.parametrize(("rewrite", "original"), sorted(EXPECTED["duplicates"].items()))
def test_sample_expected_duplicates(
    sample_output: dict[str, Any], rewrite: str, original: str
) -> None:
    by_id = sample_output["by_id"]
    assert sample_output["outcome"][original] == "clean"
    assert sample_output["outcome"][rewrite] == "duplicate", by_id[rewrite]
    assert by_id[rewrite]["cluster_id"] == by_id[original]["cluster_id"] == original


@pytest.mark.parametrize("group", EXPECTED["distinct_groups"], ids=lambda g: "+".join(g))
def test_sample_distinct_groups_stay_clean(sample_output: dict[str, Any], group: list[str]) -> None:
    by_id = sample_output["by_id"]
    for rid in group:
        assert sample_output["outcome"][rid] == "clean", by_id[rid]
        assert by_id[rid]["cluster_id"] == rid
    assert len({by_id[rid]["content_hash"] for rid in group}) == len(group)


def test_sample_no_unexpected_duplicates(sample_output: dict[str, Any]) -> None:
    dups = {v["id"] for v in sample_output["got"]["duplicate"]}
    assert dups <= set(EXPECTED["duplicates"])


def test_sample_broken_lines_are_dead_letters(sample_output: dict[str, Any]) -> None:
    dead = sample_output["got"]["deadletter"]
    assert sorted(d["offset"] for d in dead) == EXPECTED["broken_lines"]
    lines = FEED.read_text(encoding="utf-8").splitlines()
    for d in dead:
        assert d["raw"] == lines[d["offset"] - 1]
        assert d["topic"] == "feed.jsonl"
    assert {d["error"]["type"] for d in dead} <= {
        "invalid_json",
        "not_an_object",
        "validation_error",
        "no_text",
    }


def test_outcome_file_names() -> None:
    assert OUTPUT_FILES == {
        Outcome.CLEAN: "clean.jsonl",
        Outcome.DUPLICATE: "duplicates.jsonl",
        Outcome.DEADLETTER: "deadletter.jsonl",
    }
