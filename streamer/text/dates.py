"""A usable UTC publication time from whatever a feed sends, or the reason there is none.

Feeds send ISO 8601, RFC 2822, their own formats, epoch seconds or milliseconds, and
sometimes nonsense. The time places the article in the dedup window, whose clock is
the latest publication time seen, so one implausible time would move everyone's
window. The plausible range:

* not after the wall clock of the machine preparing the record plus a small slack
  (``limits.future_slack``): a clock's drift, not a time zone mislabelled by hours;
* a calendar date from 1900 on (older ones are default years: 0001, 1899-12-30);
* an epoch number above 0: 0 and -1 are what unset fields serialize to, not 1970.

Outside it, as when nothing parses, there is no publication time: the caller gets
``now`` and the reason (``missing``, ``unparseable``, ``future``, ``before_1900``,
``epoch_not_positive``) and decides what time to give the record.
"""

from __future__ import annotations

import math
import re
import warnings
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

FUTURE_SLACK = timedelta(minutes=15)  # the default of ``limits.future_slack``
_MAX_DATE_CHARS = 200
_YEAR_RE = re.compile(r"(?<!\d)\d{4}(?!\d)")
# email.utils is lenient to the point of dropping AM/PM; only trust it on RFC 2822 shapes.
_RFC2822_RE = re.compile(
    r"(?:[A-Za-z]{3},\s*)?\d{1,2}\s+[A-Za-z]{3}\s+\d{4}\s+\d{1,2}:\d{2}(?::\d{2})?"
    r"\s*(?:[+-]\d{4}|[A-Z]{1,5})?\s*$"
)
_EPOCH_RE = re.compile(r"[+-]?\d{9,}(?:\.\d+)?")
_TZINFOS: dict[str, int] = {
    "UTC": 0,
    "UT": 0,
    "GMT": 0,
    "Z": 0,
    "EST": -5 * 3600,
    "EDT": -4 * 3600,
    "CST": -6 * 3600,
    "CDT": -5 * 3600,
    "MST": -7 * 3600,
    "MDT": -6 * 3600,
    "PST": -8 * 3600,
    "PDT": -7 * 3600,
    "BST": 3600,
    "CET": 3600,
    "CEST": 7200,
    "EET": 7200,
    "EEST": 3 * 3600,
    "MSK": 3 * 3600,
    "JST": 9 * 3600,
    "KST": 9 * 3600,
    "AEST": 10 * 3600,
    "AEDT": 11 * 3600,
}
_DATEUTIL_DEFAULT = datetime(2000, 1, 1)


def _from_epoch(value: float) -> datetime | None:
    if not math.isfinite(value):
        return None
    magnitude = abs(value)
    if magnitude >= 1e17:
        value /= 1e9
    elif magnitude >= 1e14:
        value /= 1e6
    elif magnitude >= 1e11:
        value /= 1e3
    try:
        return datetime.fromtimestamp(value, tz=UTC)
    except (OverflowError, OSError, ValueError):
        return None


def _parse_date_string(s: str) -> datetime | None:
    if _EPOCH_RE.fullmatch(s):
        return _from_epoch(float(s))
    try:
        return datetime.fromisoformat(s.replace("Z", "+00:00") if s.endswith("Z") else s)
    except ValueError:
        pass
    if not _YEAR_RE.search(s):
        return None  # dateutil fills missing parts from a default: "5" is not a date
    if _RFC2822_RE.match(s):
        try:
            return parsedate_to_datetime(s)
        except (TypeError, ValueError, IndexError):
            pass
    from dateutil import parser as du_parser

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return du_parser.parse(s, default=_DATEUTIL_DEFAULT, tzinfos=_TZINFOS)
    except (ValueError, OverflowError, TypeError, LookupError):
        return None


def _as_utc(dt: datetime) -> datetime:
    return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt.astimezone(UTC)


def parse_published_at(
    value: str | int | float | None, *, now: datetime, slack: timedelta = FUTURE_SLACK
) -> tuple[datetime, str | None]:
    """A plausible UTC publication time, or ``now`` with the reason there is none.

    ``now`` is the wall clock, never a time from the input (a producer sets the
    Kafka timestamp too).
    """
    now = _as_utc(now)
    if value is None or (isinstance(value, str) and not value.strip()):
        return now, "missing"
    parsed: datetime | None
    not_positive = False
    if isinstance(value, bool):
        parsed = None
    elif isinstance(value, int | float):
        not_positive = value <= 0
        try:
            parsed = _from_epoch(float(value))
        except OverflowError:
            parsed = None
    elif isinstance(value, str):
        s = value.strip()
        parsed = _parse_date_string(s) if len(s) <= _MAX_DATE_CHARS else None
    else:
        parsed = None
    if parsed is None:
        return now, "unparseable"
    try:
        parsed = _as_utc(parsed)
    except (OverflowError, ValueError):
        return now, "unparseable"
    if parsed.year < 1900:
        return now, "before_1900"
    if not_positive:
        return now, "epoch_not_positive"
    if parsed > now + slack:
        return now, "future"
    return parsed, None


def record_time(timestamp_ms: int | None, *, now: datetime, slack: timedelta) -> datetime:
    """The ingest time of a record: its Kafka timestamp, unless that is missing, not
    after 1970, or beyond the wall clock ``now`` plus ``slack`` (producers set it)."""
    now = _as_utc(now)
    if timestamp_ms is not None and 0 < timestamp_ms <= (now + slack).timestamp() * 1000:
        return datetime.fromtimestamp(timestamp_ms / 1000, UTC)
    return now
