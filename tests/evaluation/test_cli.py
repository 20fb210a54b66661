"""``streamer eval`` finds its corpus by flag or setting, never by the source tree."""

from __future__ import annotations

from pathlib import Path

import pytest

from streamer.cli import main as streamer_main
from streamer.config import Settings
from streamer.evaluation.cli import main


@pytest.fixture
def elsewhere(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A working directory with no config file and no data beside it."""
    for name in ("STREAMER_CONFIG", "STREAMER_EVALUATION__DATA_DIR"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_data_dir_defaults_to_shared_data_beside_the_repository(elsewhere: Path) -> None:
    assert Settings().evaluation.data_dir == Path("../shared/data")


def test_missing_corpus_from_the_setting_is_a_clear_error(
    elsewhere: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("STREAMER_EVALUATION__DATA_DIR", str(elsewhere / "data"))
    assert main(["--no-system"]) == 2
    err = capsys.readouterr().err
    assert f"not found at {elsewhere / 'data' / 'reuters21578.jsonl.gz'}" in err
    assert "--corpus" in err and "STREAMER_EVALUATION__DATA_DIR" in err


def test_missing_corpus_from_the_flag_through_streamer_eval(
    elsewhere: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    absent = elsewhere / "absent.jsonl.gz"
    assert streamer_main(["eval", "--corpus", str(absent)]) == 2
    assert f"not found at {absent}" in capsys.readouterr().err
