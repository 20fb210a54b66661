"""A record slow to prepare, through a real ``streamer run`` on the embedded broker.

The record is slow by construction (``testing.slow_prepare_on_id``: a regex that would
backtrack for ~2^64 steps), so without the deadline the service would never get
past it: the test would time out, not merely run long. With it, the record comes
out once as a ``too_slow`` dead letter with its raw bytes and position, the
records behind it in the same batch are published, and the service exits 0 when
idle: the partition did not stall.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from streamer.config import Settings
from streamer.demo import sample_feed
from tests.conftest import make_settings
from tests.kafka.kafkautil import (
    assert_exactly_once,
    key_of,
    produce,
    read_outputs,
    run_until_idle,
    write_config,
)

pytestmark = [pytest.mark.kafka]

SLOW_ID = "wire-s10"


def check_outputs(settings: Settings, feed: list[tuple[bytes | None, bytes]]) -> None:
    outputs = read_outputs(settings)
    assert_exactly_once(settings, outputs)
    slow = [o for o in outputs["deadletter"] if o.key == SLOW_ID.encode()]
    assert len(slow) == 1
    letter = slow[0].value
    assert letter["error"]["type"] == "too_slow"
    assert "limits.prepare_deadline_s" in letter["error"]["message"]
    position = next(i for i, (k, _) in enumerate(feed) if k == SLOW_ID.encode())
    assert letter["raw"].encode() == feed[position][1]
    assert letter["topic"] == settings.topics.raw
    assert (letter["topic"], letter["partition"], letter["offset"]) == slow[0].input
    # The records after it (the same batch and the next ones) went through.
    ids_out = {o.value["id"] for name in ("clean", "duplicate") for o in outputs[name]}
    later_good = [k.decode() for k, _ in feed[position + 1 :] if k and k.decode() in ids_out]
    assert len(later_good) > 10


def test_a_slow_record_is_dead_lettered_too_slow_and_the_partition_goes_on(
    bootstrap: str, tmp_path: Path
) -> None:
    settings = make_settings(
        bootstrap,
        limits={"prepare_deadline_s": 0.5},
        testing={"slow_prepare_on_id": SLOW_ID},
    )
    feed = [(key_of(v), v) for v in sample_feed()]
    produce(settings, [v for _, v in feed], [k for k, _ in feed])
    config = write_config(settings, tmp_path / "s.yaml")
    log = tmp_path / "service.log"
    assert run_until_idle(config, log=log) == 0, log.read_text()[-3000:]
    check_outputs(settings, feed)


def test_in_the_prepare_role_too(bootstrap: str, tmp_path: Path) -> None:
    """``--role prepare`` carries the dead letter through news.prepared; dedup publishes it."""
    settings = make_settings(
        bootstrap,
        limits={"prepare_deadline_s": 0.5},
        testing={"slow_prepare_on_id": SLOW_ID},
    )
    feed = [(key_of(v), v) for v in sample_feed()]
    produce(settings, [v for _, v in feed], [k for k, _ in feed])
    config = write_config(settings, tmp_path / "s.yaml")
    for role in ("prepare", "dedup"):
        log = tmp_path / f"{role}.log"
        rc = run_until_idle(
            config, log=log, env={"STREAMER_ROLE": role, "STREAMER_KAFKA__GROUP_ID": f"g-{role}"}
        )
        assert rc == 0, log.read_text()[-3000:]
    check_outputs(settings, feed)
