"""No single record can crash-loop the service: real ``streamer run`` processes, real broker.

Each test runs the service until idle, then starts it again over more input:
both runs exit 0 and every input lands exactly once. Today's main exited 1 on
every restart after an article id under the checkpoint key space (recovery
could not parse it as a checkpoint) and at the produce step of any output
larger than the producer's limit.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from streamer.config import Settings
from streamer.demo import sample_feed
from streamer.kafka.clients import make_producer
from tests.conftest import make_settings
from tests.kafka.kafkautil import (
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

BODY = (
    "KARLSBERG, May 14 - Karlsberg Motor Works said first-quarter vehicle deliveries fell "
    "12 pct to 41,300 units as a parts shortage at its Wendel assembly plant cut output, "
    "and it kept its full-year forecast of 180,000 units."
)


OTHER = (
    "OSTRAVIK, May 14 - The Ostravik city council approved a 62 mln crown plan to rebuild "
    "the harbour bridge closed since a barge struck it in February, and said work would "
    "start in August and take about 14 months."
)
THIRD = (
    "LINDQVIST, May 14 - Lindqvist Paper said it would shut its oldest newsprint machine at "
    "the Brenna mill in September, cutting 180 jobs, as demand for newsprint kept falling "
    "by about 7 pct a year."
)


def article(article_id: str, body: str = BODY) -> bytes:
    obj = {"id": article_id, "body": body, "published_at": "2024-05-14T10:00:00Z"}
    return json.dumps(obj).encode()


def run_ok(config: Path, log: Path) -> str:
    rc = run_until_idle(config, log=log)
    text = log.read_text()
    assert rc == 0, text[-3000:]
    return text


def test_ids_in_the_checkpoint_key_space_and_a_corrupt_journal_do_not_stop_restarts(
    bootstrap: str, tmp_path: Path
) -> None:
    settings = make_settings(bootstrap)
    raw = settings.topics.raw
    feed = [(key_of(v), v) for v in sample_feed()]
    reserved = [
        f"__checkpoint__/{raw}/0",  # the very key of this partition's checkpoint
        "__checkpoint__/news.raw/0",
        "__checkpoint__/",
    ]
    first = [
        *feed[:20],
        (reserved[0].encode(), article(reserved[0], BODY)),
        (reserved[1].encode(), article(reserved[1], OTHER)),
        *feed[20:30],
    ]
    second = [
        (b"copy", article("copy", BODY + " Shares rose 2 pct.")),
        (reserved[2].encode(), article(reserved[2], THIRD)),
        *feed[30:],
    ]
    config = write_config(settings, tmp_path / "s.yaml")

    produce(settings, [v for _, v in first], [k for k, _ in first])
    run_ok(config, tmp_path / "run1.log")

    # Records no decision wrote: garbage, and an article under a checkpoint's key as
    # today's main journaled it. Recovery logs and counts them, and goes on.
    producer = make_producer(settings)
    journal_topic = settings.topics.journal
    for key, value in [
        (b"garbage", b"not json"),
        (b"__checkpoint__/" + raw.encode() + b"/7", b'{"topic": 1}'),
        (None, b"{}"),
    ]:
        producer.send(journal_topic, key=key, value=value, partition=0)
    producer.flush()
    producer.close()

    produce(settings, [v for _, v in second], [k for k, _ in second])
    log = run_ok(config, tmp_path / "run2.log")
    assert '"journal records skipped"' in log and '"skipped": 3' in log

    outputs = read_outputs(settings)
    assert_exactly_once(settings, outputs)
    got = decisions(outputs)
    assert [got[i] for i in reserved] == [("clean", None)] * 3
    # The copy was matched in the index rebuilt from the journal: the reserved id was
    # journaled as an article, and the checkpoint its key would have overwritten still
    # placed the restart (nothing published twice, nothing lost).
    assert got["copy"] == ("duplicate", reserved[0])
    assert got == file_decisions([v for _, v in first + second])


def oversized_inputs(settings: Settings) -> list[tuple[bytes | None, bytes]]:
    limit = settings.kafka.producer_max_request_size
    numbers = " ".join(str(100_000 + 7 * i) for i in range(50_000))  # 350 KB, journal ~700 KB
    return [
        (b"long-id", json.dumps({"id": "x" * 360_000, "body": BODY}).encode()),
        (b"big-record", json.dumps({"id": "big-record", "body": "word " * 90_000}).encode()),
        (b"big-journal", json.dumps({"id": "big-journal", "body": numbers}).encode()),
        (b"k" * (limit + 100_000), b"{not json"),  # the dead letter's own key is too large
    ]


def test_outputs_over_the_producer_limit_become_dead_letters_and_restarts_go_on(
    bootstrap: str, tmp_path: Path
) -> None:
    limit = 400_000
    settings = make_settings(bootstrap, kafka={"producer_max_request_size": limit})
    inputs_producer = make_settings(bootstrap).model_copy(update={"topics": settings.topics})
    feed = [(key_of(v), v) for v in sample_feed()]
    hostile = oversized_inputs(settings)
    first = feed[:15] + hostile[:2] + feed[15:30]
    second = hostile[2:] + feed[30:]
    config = write_config(settings, tmp_path / "s.yaml")

    produce(inputs_producer, [v for _, v in first], [k for k, _ in first])
    run_ok(config, tmp_path / "run1.log")
    produce(inputs_producer, [v for _, v in second], [k for k, _ in second])
    run_ok(config, tmp_path / "run2.log")
    run_ok(config, tmp_path / "run3.log")  # nothing new: nothing republished

    outputs = read_outputs(settings)
    assert_exactly_once(settings, outputs)
    letters = {o.input[2]: o for o in outputs["deadletter"] if o.input}  # type: ignore[index]
    offsets = {k: n for n, (k, _) in enumerate(first + second) if k is not None}
    long_id = letters[offsets[b"long-id"]].value
    assert long_id["error"]["type"] == "validation_error"
    assert long_id["error"]["message"].startswith("id: 360000 bytes")
    big = letters[offsets[b"big-record"]].value["error"]
    assert big["type"] == "too_large" and "clean record with its key and headers" in big["message"]
    journal_letter = letters[offsets[b"big-journal"]].value["error"]
    assert journal_letter["type"] == "too_large" and "journal entry" in journal_letter["message"]
    huge_key = letters[offsets[b"k" * (limit + 100_000)]]
    assert huge_key.value["error"]["type"] == "invalid_json"
    assert huge_key.value["key_truncated"] is True and huge_key.key == b"k" * 1024
    clean_ids = {o.value["id"] for o in outputs["clean"]}
    assert {"wire-s01", "big-record", "big-journal"} & clean_ids == {"wire-s01"}
