"""Loading a corpus: a missing file is its own, clear error."""

from __future__ import annotations

from pathlib import Path

import pytest

from streamer.evaluation.corpus import CorpusMissingError, load_reuters


def test_load_reuters_missing_file_raises_clear_error(tmp_path: Path) -> None:
    with pytest.raises(CorpusMissingError, match="not found"):
        load_reuters(tmp_path / "absent.jsonl.gz")
