"""The lease a batch is processed under: the group membership it was polled in, and for how long.

A consumer that outlives its membership (a batch longer than
``max_poll_interval_ms``, a process paused past its session) no longer owns
its partitions: another member may already have recovered them and published
the same inputs. kafka-python notices on its own thread (the heartbeat loop
leaves the group once the poll interval has passed; a heartbeat answered
``UnknownMemberId`` or ``IllegalGeneration`` resets the generation), but the
rebalance listener only hears of it in the next ``poll``. The batch order
therefore asks the lease before each step that has an effect (produce,
journal, commit) and gives the batch up when it is not held.

The lease is held while all of these are true, read through public API only
(``KafkaConsumer.group_metadata``, kafka-python 3.0.12 and later, and
``KafkaConsumer.metrics``):

1. the generation and member id are still the ones the batch was polled under
   (the client has not left or been told it is out);
2. the poll interval is not about to run out: ``max_poll_interval_ms`` less
   one heartbeat interval since the poll, so the check fails before the
   heartbeat loop sends its LeaveGroup, not after;
3. the heartbeat thread has not been silent for a session during the batch
   (``last-heartbeat-seconds-ago``, counted from the poll at the most): a
   process paused that long (a stop, a swap storm, a stalled VM) has been
   dropped by the coordinator before its own client can know it.

What none of them can see is a membership lost between the check and the
moment the broker appends the write that follows it; see README, "Zombies".
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any

from streamer.config import KafkaSettings

_COORDINATOR_METRICS = "consumer-coordinator-metrics"
_HEARTBEAT_AGE = "last-heartbeat-seconds-ago"


def heartbeat_age(consumer: Any) -> float | None:
    """Seconds since the client last sent a heartbeat (inf: never); None when unknown.

    kafka-python calls ``metrics()`` an unstable interface, so anything other
    than a number under the expected names reads as unknown.
    """
    try:
        value = (consumer.metrics() or {}).get(_COORDINATOR_METRICS, {}).get(_HEARTBEAT_AGE)
    except Exception:
        return None
    if not isinstance(value, int | float) or math.isnan(value):
        return None
    return float(value)


class MembershipLost(Exception):
    """The batch in hand may no longer be this instance's: it is given up at ``step``."""

    def __init__(self, step: str, reason: str) -> None:
        super().__init__(f"membership lost before {step}: {reason}")
        self.step = step
        self.reason = reason


@dataclass(frozen=True)
class Lease:
    """The membership one polled batch belongs to; ``check`` before every effect."""

    generation: int
    member_id: str
    polled_at: float  # time.monotonic() when the poll began
    expires: float  # time.monotonic() past which the poll interval may have run out
    silence_s: float  # a heartbeat gap this long may have ended the session

    @classmethod
    def taken(cls, consumer: Any, kafka: KafkaSettings, polled_at: float) -> Lease:
        """The lease of the batch a ``poll`` begun at ``polled_at`` (monotonic) returned.

        The poll interval is counted from before the poll, where kafka-python
        restarts its own timer at the earliest, so the lease never outlasts it.
        """
        meta = consumer.group_metadata()
        beat = kafka.heartbeat_interval_ms / 1000
        return cls(
            generation=meta.generation_id,
            member_id=meta.member_id,
            polled_at=polled_at,
            expires=polled_at + kafka.max_poll_interval_ms / 1000 - beat,
            silence_s=kafka.session_timeout_ms / 1000 - beat,
        )

    def lost(self, consumer: Any) -> str | None:
        """Why the batch may no longer be ours (the three conditions above), or None."""
        if self.generation < 0:
            return "polled outside a generation"
        meta = consumer.group_metadata()
        if (meta.generation_id, meta.member_id) != (self.generation, self.member_id):
            return f"generation {self.generation} ended (now {meta.generation_id})"
        now = time.monotonic()
        if now >= self.expires:
            return "max_poll_interval_ms is running out"
        age = heartbeat_age(consumer)
        if age is not None:
            silent = min(age, now - self.polled_at)
            if silent >= self.silence_s:
                return f"no heartbeat sent for {silent:.1f} s of the batch"
        return None

    def check(self, consumer: Any, step: str) -> None:
        """Raise ``MembershipLost`` unless the lease still holds before ``step``."""
        reason = self.lost(consumer)
        if reason is not None:
            raise MembershipLost(step, reason)
