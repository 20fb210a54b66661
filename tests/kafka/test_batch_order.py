"""The batch order and recovery's start points, without a broker.

The real-process tests (``test_exactly_once``) show the effect of the order
under crashes; these pin the order itself and the rule for where a partition
resumes, with a producer and consumer that only record what they are asked.
"""

from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

from kafka.structs import TopicPartition

from streamer.config import Settings
from streamer.faults import Faults
from streamer.kafka.commit import BatchOrder, BatchState
from streamer.kafka.recovery import resume_points, unaccounted
from streamer.metrics import Metrics
from streamer.models import Checkpoint, Coordinates, Outcome
from streamer.records import InputRecord, Result

RAW = TopicPartition("raw", 0)


class FakeProducer:
    def __init__(self, calls: list[tuple[Any, ...]]) -> None:
        self.calls = calls
        self.ends: dict[tuple[str, int], int] = {}

    def send(
        self,
        topic: str,
        key: bytes | None = None,
        value: bytes | None = None,
        headers: Any = None,
        partition: int = 0,
    ) -> Any:
        offset = self.ends.get((topic, partition), 0)
        self.ends[(topic, partition)] = offset + 1
        self.calls.append(("send", topic, key, value))
        md = SimpleNamespace(topic=topic, partition=partition, offset=offset)
        return SimpleNamespace(get=lambda timeout=None: md)

    def flush(self) -> None:
        self.calls.append(("flush",))


class FakeConsumer:
    def __init__(self, calls: list[tuple[Any, ...]]) -> None:
        self.calls = calls

    def commit(self, offsets: dict[TopicPartition, Any]) -> None:
        self.calls.append(("commit", {tp: o.offset for tp, o in offsets.items()}))


class FixedStage:
    """Decides nothing: hands back the results it was given, one per record."""

    def __init__(self, results: list[Result | None]) -> None:
        self.results = results

    def process(self, records: list[Any], upstream: dict[str, int]) -> list[Result | None]:
        return self.results


def record(offset: int) -> SimpleNamespace:
    return SimpleNamespace(topic=RAW.topic, partition=RAW.partition, offset=offset)


def result(offset: int, evicted: list[str] | None = None) -> Result:
    source = InputRecord(value=None, key=b"k", topic=RAW.topic, partition=0, offset=offset)
    return Result(
        source=source, outcome=Outcome.CLEAN, key=b"k", value=b"{}", evicted=evicted or []
    )


def test_outputs_are_acked_before_the_journal_and_the_commit_comes_last() -> None:
    settings = Settings()
    t = settings.topics
    calls: list[tuple[Any, ...]] = []
    metrics = Metrics()
    order = BatchOrder(FakeProducer(calls), FakeConsumer(calls), t, Faults(), metrics)
    state = BatchState(next_offsets={RAW: 5})
    # Offset 5 was published before a crash (the tail scan found it): not produced again.
    state.published_tail[Coordinates(topic=RAW.topic, partition=0, offset=5)] = Coordinates(
        topic=t.clean, partition=0, offset=40
    )
    results: list[Result | None] = [result(5), result(6, evicted=["old-1"]), None]
    order.run([record(5), record(6), record(7)], FixedStage(results), state, {RAW})

    kinds = [(c[0], c[1] if c[0] == "send" else None) for c in calls]
    assert kinds == [
        ("send", t.clean),  # 2. only the output the tail does not hold, then its ack
        ("flush", None),
        ("send", t.journal),  # 3. the tombstone, then the checkpoint, then their acks
        ("send", t.journal),
        ("flush", None),
        ("commit", None),  # 4. last
    ]
    assert calls[2][2:] == (b"old-1", None)
    checkpoint = Checkpoint.model_validate_json(calls[3][3])
    assert checkpoint.next_offset == 8
    assert checkpoint.outputs == {f"{t.clean}/0": 1}
    assert calls[-1] == ("commit", {RAW: 8})
    assert state.next_offsets == {RAW: 8}
    assert not state.published_tail
    assert metrics.registry.get_sample_value("streamer_commits_total") == 1


def test_a_partition_resumes_at_the_later_of_its_commit_and_its_checkpoint() -> None:
    now = datetime.now(UTC)
    behind, ahead, new = (TopicPartition("raw", p) for p in (0, 1, 2))
    checkpoints = {
        ("raw", 0): Checkpoint(
            topic="raw",
            partition=0,
            next_offset=10,
            outputs={"clean/0": 7, "clean/1": 3},
            upstream={"r/0": 4},
            written_at=now,
        ),
        ("raw", 1): Checkpoint(
            topic="raw",
            partition=1,
            next_offset=2,
            outputs={"clean/0": 5},
            upstream={"r/0": 9},
            written_at=now,
        ),
    }
    committed = {behind: 8, ahead: 6, new: None}
    state, scan_from = resume_points({behind, ahead, new}, checkpoints, committed, lambda tp: 0)

    # Journaled but not committed (10 > 8) is not redone; committed past it (6 > 2) is not either.
    assert state.next_offsets == {behind: 10, ahead: 6, new: 0}
    assert state.upstream == {"r/0": 9}
    # Each output partition is scanned from the lowest position any checkpoint recorded.
    assert scan_from == {TopicPartition("clean", 0): 5, TopicPartition("clean", 1): 3}


def test_a_checkpoint_is_held_back_to_the_first_output_still_pending() -> None:
    """Issue 15, item 0: outputs recovery found and no batch has re-decided yet are
    unjournaled, so no checkpoint may claim the position past them."""
    t = Settings().topics
    calls: list[tuple[Any, ...]] = []
    order = BatchOrder(FakeProducer(calls), FakeConsumer(calls), t, Faults(), Metrics())
    # Offsets 5..7 were published at clean/0 40..42 before a kill; this batch re-decides 5 only.
    tail = {
        Coordinates(topic=RAW.topic, partition=0, offset=5 + i): Coordinates(
            topic=t.clean, partition=0, offset=40 + i
        )
        for i in range(3)
    }
    state = BatchState(
        next_offsets={RAW: 5}, output_positions={f"{t.clean}/0": 43}, published_tail=dict(tail)
    )
    order.run([record(5)], FixedStage([result(5)]), state, {RAW})

    sent = [c for c in calls if c[0] == "send"]
    assert [c[1] for c in sent] == [t.journal], "offset 5 is taken from the tail, not produced"
    checkpoint = Checkpoint.model_validate_json(sent[0][3])
    assert checkpoint.next_offset == 6
    assert checkpoint.outputs == {f"{t.clean}/0": 41}
    assert state.output_positions == {f"{t.clean}/0": 43}

    order.run([record(6), record(7)], FixedStage([result(6), result(7)]), state, {RAW})
    last = Checkpoint.model_validate_json([c for c in calls if c[0] == "send"][-1][3])
    assert last.outputs == {f"{t.clean}/0": 43}, "nothing pending: past every output"


def test_only_outputs_of_inputs_the_journal_does_not_cover_are_pending() -> None:
    state = BatchState(next_offsets={RAW: 10}, upstream={"r/0": 4})

    def pending(topic: str, partition: int, offset: int) -> bool:
        coords = Coordinates(topic=topic, partition=partition, offset=offset)
        return unaccounted(coords, state, {RAW.topic})

    assert not pending("raw", 0, 9), "journaled: below the next offset"
    assert pending("raw", 0, 10)
    assert not pending("raw", 1, 50), "a partition another instance owns"
    # Behind another topic (a dedup writer's outputs name raw inputs): the upstream mark.
    assert not pending("r", 0, 4)
    assert pending("r", 0, 5)
    assert pending("r", 1, 0)
