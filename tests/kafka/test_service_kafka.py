"""The service end to end on a real broker, as real processes.

Invariants held here: every input lands exactly once on one of the three
output topics (checked by the input coordinates every output carries), no
output key appears twice, bad input becomes dead letters with a precise
reason, and the Kafka path decides exactly like the file path on the same order.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from streamer.demo import sample_feed, unstorable_inputs
from tests.conftest import make_settings
from tests.kafka.kafkautil import (
    REPO,
    assert_exactly_once,
    decisions,
    file_decisions,
    key_of,
    produce,
    read_outputs,
    run_until_idle,
    write_config,
)

pytestmark = [pytest.mark.kafka]


def feed_with_bad_inputs() -> list[tuple[bytes | None, bytes]]:
    """The sample feed (which has 8 broken lines) with the unstorable bad inputs spread in it."""
    feed = [(key_of(v), v) for v in sample_feed()]
    for i, item in enumerate(unstorable_inputs()):
        feed.insert(7 + 13 * i, item)
    return feed


def test_every_input_once_bad_input_dead_lettered_and_same_as_file_path(
    bootstrap: str, tmp_path: Path
) -> None:
    settings = make_settings(bootstrap)
    feed = feed_with_bad_inputs()
    produce(settings, [v for _, v in feed], [k for k, _ in feed])
    config = write_config(settings, tmp_path / "s.yaml")

    rc = run_until_idle(config, log=tmp_path / "service.log")
    assert rc == 0, (tmp_path / "service.log").read_text()[-3000:]

    outputs = read_outputs(settings)
    assert_exactly_once(settings, outputs)
    assert sum(len(v) for v in outputs.values()) == len(feed)

    reasons = sorted(o.value["error"]["type"] for o in outputs["deadletter"])
    # The feed's eight broken lines, then the three inputs a file cannot hold.
    assert reasons == sorted(
        ["invalid_json", "not_an_object", "not_an_object"]
        + ["validation_error"] * 4  # no id, empty id, body: 42, title: []
        + ["no_text", "empty_value", "not_utf8", "too_large"]
    )
    by_key = {o.key: o.value for o in outputs["deadletter"]}
    assert by_key[b"latin1-1"]["raw_encoding"] == "base64"
    assert by_key[b"huge-1"]["raw_truncated"] is True
    for letter in outputs["deadletter"]:
        assert letter.value["topic"] == settings.topics.raw
        assert letter.value["offset"] == letter.input[2]  # type: ignore[index]

    expected = json.loads((REPO / "streamer/samples/expected.json").read_text())
    got = decisions(outputs)
    for rewrite in expected["duplicates"]:
        assert got[rewrite][0] == "duplicate", rewrite
    for group in expected["distinct_groups"]:
        assert all(got[i][0] == "clean" for i in group), group

    assert got == file_decisions([v for _, v in feed])


def test_restart_resumes_from_committed_offsets_with_the_index_recovered(
    bootstrap: str, tmp_path: Path
) -> None:
    """A second run handles only new input, and still knows the first run's stories."""
    settings = make_settings(bootstrap)
    feed = [(key_of(v), v) for v in sample_feed()]
    first, second = feed[:27], feed[27:]
    config = write_config(settings, tmp_path / "s.yaml")

    produce(settings, [v for _, v in first], [k for k, _ in first])
    assert run_until_idle(config, log=tmp_path / "run1.log") == 0
    after_first = read_outputs(settings)
    assert sum(len(v) for v in after_first.values()) == len(first)

    produce(settings, [v for _, v in second], [k for k, _ in second])
    assert run_until_idle(config, log=tmp_path / "run2.log") == 0
    outputs = read_outputs(settings)
    assert_exactly_once(settings, outputs)

    got = decisions(outputs)
    assert got == file_decisions([v for _, v in feed])
    # Rewrites in the second half of stories from the first half were recognised:
    # that takes the index rebuilt from the journal, not just the offsets.
    second_ids = {k.decode() for k, _ in second if k}
    firsts = {k.decode() for k, _ in first if k}
    cross = [i for i in second_ids if got.get(i, ("", None))[1] in firsts]
    assert cross, "no rewrite in the second half linked to a first-half story"
    log = (tmp_path / "run2.log").read_text()
    assert '"event": "recovered"' in log


def test_poison_record_is_dead_lettered_and_the_rest_processed(
    bootstrap: str, tmp_path: Path
) -> None:
    settings = make_settings(bootstrap, testing={"fail_on_id": "wire-s10"})
    feed = [(key_of(v), v) for v in sample_feed()]
    produce(settings, [v for _, v in feed], [k for k, _ in feed])
    config = write_config(settings, tmp_path / "s.yaml")
    assert run_until_idle(config, log=tmp_path / "service.log") == 0

    outputs = read_outputs(settings)
    assert_exactly_once(settings, outputs)
    poison = [o for o in outputs["deadletter"] if o.key == b"wire-s10"]
    assert len(poison) == 1
    assert poison[0].value["error"]["type"] == "processing_error"
    assert poison[0].value["error"]["message"].startswith("RuntimeError: injected failure")
    # The records after it in the same batch went through.
    ids_out = {o.value["id"] for name in ("clean", "duplicate") for o in outputs[name]}
    position = next(i for i, (k, _) in enumerate(feed) if k == b"wire-s10")
    later_good = [k.decode() for k, v in feed[position + 1 :] if k and k.decode() in ids_out]
    assert len(later_good) > 10


def test_prepare_in_worker_processes_decides_exactly_like_in_process(
    bootstrap: str, tmp_path: Path
) -> None:
    """prepare_workers moves the stateless half to a pool; the decisions must not move."""
    settings = make_settings(bootstrap, prepare_workers=2)
    feed = feed_with_bad_inputs()
    produce(settings, [v for _, v in feed], [k for k, _ in feed])
    config = write_config(settings, tmp_path / "s.yaml")
    assert run_until_idle(config, log=tmp_path / "service.log") == 0

    outputs = read_outputs(settings)
    assert_exactly_once(settings, outputs)
    assert decisions(outputs) == file_decisions([v for _, v in feed])
    assert len(outputs["deadletter"]) == 11
