"""A usable UTC publication time from whatever a feed sends, or the reason there is none.

Feeds send ISO 8601, RFC 2822, their own formats, epoch seconds or milliseconds, and
sometimes nonsense. The time places the article in the dedup window, so no input may
put it in the future (beyond a day's slack) or before 1900: those, like the ones that
do not parse, fall back to the ingest time, with the reason.
"""

from __future__ import annotations

import math
import re
import warnings
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

_FUTURE_SLACK = timedelta(days=1)
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
    value: str | int | float | None, *, now: datetime
) -> tuple[datetime, str | None]:
    """A usable UTC publication time, or `now` with the reason the input was rejected."""
    now = _as_utc(now)
    if value is None or (isinstance(value, str) and not value.strip()):
        return now, "missing"
    parsed: datetime | None
    if isinstance(value, bool):
        parsed = None
    elif isinstance(value, int | float):
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
    if parsed > now + _FUTURE_SLACK:
        return now, "future"
    return parsed, None
