"""The naive baseline: word 5-shingles, LSH 0.8, first seen wins."""

from __future__ import annotations

import random

from streamer.evaluation.baseline import naive_decisions
from streamer.evaluation.rewrites import make_rewrite
from streamer.evaluation.wire import original_record
from tests.evaluation.samples import STORY


def test_naive_finds_resend_and_keeps_unrelated_apart() -> None:
    original = original_record(STORY)
    other = original_record(
        {
            **STORY,
            "newid": 90002,
            "title": "STORM CLOSES HARBOUR",
            "body": "Gale force winds closed the harbour on Tuesday and ferries were "
            "cancelled for the rest of the day, the port authority said. Crews will "
            "inspect the breakwater once the wind drops.\n Reuter\n",
        }
    )
    resend = make_rewrite(STORY, "resend", random.Random(1))
    decisions = naive_decisions([original, other, resend])
    assert decisions == {original["id"]: None, other["id"]: None, resend["id"]: original["id"]}
