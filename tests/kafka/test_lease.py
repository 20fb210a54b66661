"""The lease a batch is processed under, without a broker.

The real-process test (``test_zombie``) shows a stalled owner giving its batch
up; these pin each condition of the lease and where the batch order stops.
"""

from __future__ import annotations

import time
from typing import Any

import pytest
from kafka.structs import ConsumerGroupMetadata

from streamer.config import KafkaSettings, Settings
from streamer.faults import Faults
from streamer.kafka.commit import BatchOrder, BatchState
from streamer.kafka.lease import Lease, MembershipLost
from streamer.metrics import Metrics
from tests.kafka.test_batch_order import RAW, FakeConsumer, FakeProducer, FixedStage, record, result

KAFKA = KafkaSettings(
    session_timeout_ms=6000, heartbeat_interval_ms=1000, max_poll_interval_ms=8000
)


class Member(FakeConsumer):
    """A group consumer whose generation and heartbeat age the test sets."""

    def __init__(self, calls: list[tuple[Any, ...]], generation: int = 3) -> None:
        super().__init__(calls)
        self.generation = generation
        self.heartbeat_age: float | None = 0.5

    def group_metadata(self) -> ConsumerGroupMetadata:
        return ConsumerGroupMetadata("g", self.generation, "m-1", None)

    def metrics(self) -> dict[str, dict[str, float]]:
        if self.heartbeat_age is None:
            return {}
        return {"consumer-coordinator-metrics": {"last-heartbeat-seconds-ago": self.heartbeat_age}}


def test_a_lease_holds_while_the_generation_lasts() -> None:
    member = Member([])
    lease = Lease.taken(member, KAFKA, time.monotonic())
    assert lease.lost(member) is None
    member.generation = -1  # the heartbeat thread left the group
    assert lease.lost(member) == "generation 3 ended (now -1)"


def test_a_lease_ends_one_heartbeat_before_the_poll_interval() -> None:
    member = Member([])
    assert Lease.taken(member, KAFKA, time.monotonic() - 6.9).lost(member) is None
    reason = Lease.taken(member, KAFKA, time.monotonic() - 7.0).lost(member)
    assert reason == "max_poll_interval_ms is running out"


def test_a_lease_ends_when_the_heartbeat_was_silent_for_a_session_of_the_batch() -> None:
    member = Member([])
    lease = Lease.taken(member, KAFKA, time.monotonic() - 5.5)
    member.heartbeat_age = 5.2  # paused: nothing sent since before the poll
    assert lease.lost(member) == "no heartbeat sent for 5.2 s of the batch"
    member.heartbeat_age = 0.3
    assert lease.lost(member) is None
    member.heartbeat_age = None  # metrics unavailable: the other two conditions only
    assert lease.lost(member) is None
    # Just joined: no heartbeat sent yet, the silence counts from the poll.
    member.heartbeat_age = float("inf")
    assert Lease.taken(member, KAFKA, time.monotonic()).lost(member) is None
    assert lease.lost(member) is not None


def test_a_batch_polled_outside_a_generation_is_never_held() -> None:
    member = Member([], generation=-1)
    assert (
        Lease.taken(member, KAFKA, time.monotonic()).lost(member) == "polled outside a generation"
    )


class Losing(Member):
    """Loses its generation after ``checks`` lease checks."""

    def __init__(self, calls: list[tuple[Any, ...]], checks: int) -> None:
        super().__init__(calls)
        self.checks = checks

    def group_metadata(self) -> ConsumerGroupMetadata:
        meta = super().group_metadata()
        self.checks -= 1
        return meta if self.checks >= 0 else meta._replace(generation_id=-1)


@pytest.mark.parametrize(
    ("step", "checks", "sent"),
    [("produce", 1, []), ("journal", 2, ["clean"]), ("commit", 3, ["clean", "journal"])],
)
def test_the_batch_order_stops_at_the_first_step_without_the_lease(
    step: str, checks: int, sent: list[str]
) -> None:
    t = Settings().topics
    calls: list[tuple[Any, ...]] = []
    member = Losing(calls, checks)  # the first group_metadata call takes the lease
    order = BatchOrder(FakeProducer(calls), member, t, Faults(), Metrics())
    lease = Lease.taken(member, KAFKA, time.monotonic())
    with pytest.raises(MembershipLost) as lost:
        order.run([record(5)], FixedStage([result(5)]), BatchState(), {RAW}, lease)
    assert lost.value.step == step
    names = {t.clean: "clean", t.journal: "journal"}
    assert [names[c[1]] for c in calls if c[0] == "send"] == sent
    assert not [c for c in calls if c[0] == "commit"]
