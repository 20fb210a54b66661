"""Publication times: every common feed format accepted, implausible ones rejected with a reason."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from streamer.text.dates import parse_published_at
from tests.text.helpers import NOW


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2016-10-12T09:30:00+03:00", datetime(2016, 10, 12, 6, 30, tzinfo=UTC)),
        ("2016-10-12T09:30:00Z", datetime(2016, 10, 12, 9, 30, tzinfo=UTC)),
        ("2016-10-12T09:30:00.250Z", datetime(2016, 10, 12, 9, 30, 0, 250000, tzinfo=UTC)),
        ("2016-10-12 09:30:00", datetime(2016, 10, 12, 9, 30, tzinfo=UTC)),
        ("2016-10-12", datetime(2016, 10, 12, tzinfo=UTC)),
        ("Tue, 10 Jun 2003 04:00:00 GMT", datetime(2003, 6, 10, 4, 0, tzinfo=UTC)),
        ("Tue, 10 Jun 2003 04:00:00 +0200", datetime(2003, 6, 10, 2, 0, tzinfo=UTC)),
        ("10 Jun 2003 04:00 EDT", datetime(2003, 6, 10, 8, 0, tzinfo=UTC)),
        ("October 12, 2016 9:30 PM EST", datetime(2016, 10, 13, 2, 30, tzinfo=UTC)),
        ("Wed Oct 12 09:30:00 +0000 2016", datetime(2016, 10, 12, 9, 30, tzinfo=UTC)),
        ("12 Oct 2016", datetime(2016, 10, 12, tzinfo=UTC)),
        (1465531200, datetime(2016, 6, 10, 4, 0, tzinfo=UTC)),
        (1465531200.5, datetime(2016, 6, 10, 4, 0, 0, 500000, tzinfo=UTC)),
        (1465531200000, datetime(2016, 6, 10, 4, 0, tzinfo=UTC)),
        ("1465531200", datetime(2016, 6, 10, 4, 0, tzinfo=UTC)),
        ("1465531200000", datetime(2016, 6, 10, 4, 0, tzinfo=UTC)),
        ("2024-05-01T12:14:59Z", datetime(2024, 5, 1, 12, 14, 59, tzinfo=UTC)),  # in the slack
        (1, datetime(1970, 1, 1, 0, 0, 1, tzinfo=UTC)),
        ("1900-01-01T00:00:00Z", datetime(1900, 1, 1, tzinfo=UTC)),
    ],
)
def test_parse_published_at_accepts(value: str | int | float, expected: datetime) -> None:
    parsed, reason = parse_published_at(value, now=NOW)
    assert reason is None
    assert parsed == expected
    assert parsed.tzinfo is not None and parsed.utcoffset() == timedelta(0)


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        (None, "missing"),
        ("", "missing"),
        ("   ", "missing"),
        ("garbage", "unparseable"),
        ("5", "unparseable"),
        ("yesterday-ish", "unparseable"),
        ("2016-13-45", "unparseable"),
        (float("nan"), "unparseable"),
        (float("inf"), "unparseable"),
        (10**30, "unparseable"),
        ("x" * 5000, "unparseable"),
        ("2030-01-01T00:00:00Z", "future"),
        ("2024-05-02T12:00:01Z", "future"),
        ("2024-05-02T11:00:00Z", "future"),  # 23 hours ahead: it would shrink every window
        ("2024-05-01T12:15:01Z", "future"),
        (-1, "epoch_not_positive"),
        (0, "epoch_not_positive"),
        (-0.5, "epoch_not_positive"),
        (-1000, "epoch_not_positive"),
        (4102444800, "future"),
        ("1850-06-01", "before_1900"),
        ("Tue, 10 Jun 1800 04:00:00 GMT", "before_1900"),
        (-5000000000, "before_1900"),
    ],
)
def test_parse_published_at_rejects(value: str | int | float | None, reason: str) -> None:
    parsed, got = parse_published_at(value, now=NOW)
    assert got == reason
    assert parsed == NOW


def test_parse_published_at_returns_utc_now_for_other_zones() -> None:
    now = datetime(2024, 5, 1, 14, 0, tzinfo=timezone(timedelta(hours=2)))
    parsed, reason = parse_published_at(None, now=now)
    assert reason == "missing"
    assert parsed == now and parsed.utcoffset() == timedelta(0)
