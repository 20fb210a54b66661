"""The system under test is the real pipeline, read by the fields of its results."""

from __future__ import annotations

import random

from streamer.config import Settings
from streamer.evaluation.rewrites import make_rewrite
from streamer.evaluation.systems import streamer_system
from streamer.evaluation.wire import original_record
from tests.evaluation.samples import STORY


def test_streamer_system_links_a_resend_and_leaves_dead_letters_out() -> None:
    original = original_record(STORY)
    resend = make_rewrite(STORY, "resend", random.Random(1))
    no_text = {"id": "empty", "title": "nothing to read"}
    decisions = streamer_system(Settings())([original, no_text, resend])
    assert decisions == {original["id"]: None, resend["id"]: original["id"]}
