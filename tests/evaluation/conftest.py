"""The Reuters corpus for the evaluation tests, loaded once; absent, those tests skip."""

from __future__ import annotations

from functools import lru_cache

import pytest

from streamer.evaluation.corpus import load_reuters
from tests.conftest import REUTERS

CORPUS_REASON = f"Reuters-21578 corpus not present at {REUTERS}"


@lru_cache(maxsize=1)
def _corpus() -> list[dict]:
    return load_reuters(REUTERS)


@pytest.fixture(scope="module")
def corpus() -> list[dict]:
    if not REUTERS.is_file():
        pytest.skip(CORPUS_REASON)
    return _corpus()
