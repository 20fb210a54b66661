"""The ``streamer`` command as a user runs it: a subprocess, exit codes, stdout/stderr."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

SAMPLES = Path(__file__).resolve().parent.parent / "streamer" / "samples"
FEED = SAMPLES / "feed.jsonl"
EXPECTED = json.loads((SAMPLES / "expected.json").read_text(encoding="utf-8"))
COUNTS_LINE = re.compile(
    r"^(\d+) records: (\d+) clean, (\d+) duplicates, (\d+) dead letters -> (.+)/$", re.M
)


def streamer(*args: str, cwd: Path, stdin: bytes | None = None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("STREAMER_")}
    return subprocess.run(
        [sys.executable, "-m", "streamer", *args],
        cwd=cwd,
        env=env,
        input=stdin,
        capture_output=True,
        timeout=120,
    )


def test_help(tmp_path: Path) -> None:
    proc = streamer("--help", cwd=tmp_path)
    assert proc.returncode == 0
    out = proc.stdout.decode()
    assert out.startswith("usage: streamer")
    for command in ("run", "dedup", "broker", "demo", "eval"):
        assert command in out


def test_dedup_help(tmp_path: Path) -> None:
    proc = streamer("dedup", "--help", cwd=tmp_path)
    assert proc.returncode == 0
    assert "--out" in proc.stdout.decode()
    assert "--config" in proc.stdout.decode()


def test_version(tmp_path: Path) -> None:
    proc = streamer("--version", cwd=tmp_path)
    assert proc.returncode == 0
    assert proc.stdout.decode().strip() == "streamer 0.1.0"


def test_dedup_sample_feed(tmp_path: Path) -> None:
    out = tmp_path / "out"
    proc = streamer("dedup", str(FEED), "--out", str(out), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr.decode()
    assert b"Traceback" not in proc.stderr
    m = COUNTS_LINE.search(proc.stdout.decode())
    assert m is not None, proc.stdout
    total, clean, dups, dead = (int(g) for g in m.groups()[:4])
    assert m.group(5) == str(out)
    n_lines = len([ln for ln in FEED.read_bytes().splitlines() if ln.strip()])
    assert total == clean + dups + dead == n_lines
    assert dead == len(EXPECTED["broken_lines"])
    assert dups == len(EXPECTED["duplicates"])

    def lines(name: str) -> list[dict]:
        return [json.loads(x) for x in (out / name).read_text(encoding="utf-8").splitlines()]

    assert len(lines("clean.jsonl")) == clean
    assert len(lines("duplicates.jsonl")) == dups
    assert len(lines("deadletter.jsonl")) == dead
    assert {d["id"]: d["duplicate_of"] for d in lines("duplicates.jsonl")} == EXPECTED["duplicates"]


def test_dedup_from_stdin(tmp_path: Path) -> None:
    out = tmp_path / "out"
    proc = streamer("dedup", "-", "--out", str(out), cwd=tmp_path, stdin=FEED.read_bytes())
    assert proc.returncode == 0, proc.stderr.decode()
    m = COUNTS_LINE.search(proc.stdout.decode())
    assert m is not None and int(m.group(1)) == 55


def test_dedup_missing_input_exits_2(tmp_path: Path) -> None:
    proc = streamer("dedup", "missing.jsonl", "--out", str(tmp_path / "out"), cwd=tmp_path)
    assert proc.returncode == 2
    err = proc.stderr.decode()
    assert "input file not found: missing.jsonl" in err
    assert "Traceback" not in err
    assert proc.stdout == b""


def test_missing_config_exits_2(tmp_path: Path) -> None:
    proc = streamer(
        "dedup", str(FEED), "--out", str(tmp_path / "out"), "--config", "missing.yaml", cwd=tmp_path
    )
    assert proc.returncode == 2
    err = proc.stderr.decode()
    assert "config file not found: missing.yaml" in err
    assert "Traceback" not in err
    assert not (tmp_path / "out").exists()


def test_invalid_config_value_exits_2(tmp_path: Path) -> None:
    cfg = tmp_path / "bad.yaml"
    cfg.write_text("dedup:\n  lsh_bands: 30\n", encoding="utf-8")
    proc = streamer(
        "dedup", str(FEED), "--out", str(tmp_path / "out"), "--config", str(cfg), cwd=tmp_path
    )
    assert proc.returncode == 2
    err = proc.stderr.decode()
    assert "invalid settings" in err and "lsh_bands" in err
    assert "Traceback" not in err


def test_malformed_config_exits_2(tmp_path: Path) -> None:
    cfg = tmp_path / "bad.yaml"
    cfg.write_text("kafka: [unclosed\n", encoding="utf-8")
    proc = streamer(
        "dedup", str(FEED), "--out", str(tmp_path / "out"), "--config", str(cfg), cwd=tmp_path
    )
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr.decode()


def test_invalid_env_setting_exits_2(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("STREAMER_")}
    env["STREAMER_METRICS__PORT"] = "abc"
    proc = subprocess.run(
        [sys.executable, "-m", "streamer", "dedup", str(FEED), "--out", str(tmp_path / "o")],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        timeout=120,
    )
    assert proc.returncode == 2
    assert "metrics.port" in proc.stderr.decode()
    assert "Traceback" not in proc.stderr.decode()


def test_unknown_command_is_a_usage_error(tmp_path: Path) -> None:
    proc = streamer("frobnicate", cwd=tmp_path)
    assert proc.returncode == 2
    assert "invalid choice" in proc.stderr.decode()
