"""Loading the evaluation's corpora, which the project may read but never ships.

Each corpus is a file of one JSON object a line (gzip or plain) under the data
directory (``--corpus``, or the setting ``evaluation.data_dir``). It is not in
the repository nor in the installed package, so a missing file is an expected
state with its own error, which the CLI turns into a message and exit code 2.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

REUTERS_FILE = "reuters21578.jsonl.gz"


class CorpusMissingError(FileNotFoundError):
    """A corpus is not where it was expected."""


def load_jsonl(path: str | Path, name: str, limit: int | None = None) -> list[dict]:
    """The objects of a JSON Lines corpus in file order (blank lines skipped)."""
    p = Path(path)
    if not p.is_file():
        raise CorpusMissingError(
            f"{name} corpus not found at {p} (it is not shipped with the project)"
        )
    opener: Callable[..., Any] = gzip.open if p.suffix == ".gz" else open
    stories: list[dict] = []
    with opener(p, "rt", encoding="utf-8") as fh:
        for line in fh:
            if not line.strip():
                continue
            stories.append(json.loads(line))
            if limit is not None and len(stories) >= limit:
                break
    return stories


def load_reuters(path: str | Path, limit: int | None = None) -> list[dict]:
    """Reuters-21578 stories (see ``../shared/data/README.md``) in wire order."""
    return load_jsonl(path, "Reuters-21578", limit)
