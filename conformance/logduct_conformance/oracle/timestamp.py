"""``time``: REC-5 to REC-7 and ENC-5 item 3, written from RFC 3339.

The instant is counted here in whole microseconds from 0000-01-01 with the Gregorian calendar of
RFC 3339 Appendix C, not with ``datetime``, which has no year 0 and no second 60: both are legal
spellings of instants that REC-7 allows ("0000-12-31T23:30:00-01:00" is 00:30 on 1 January of
year 1, UTC).
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

from .breach import Breach

# RFC 3339 §5.6:
#   date-time      = full-date "T" full-time
#   full-date      = date-fullyear "-" date-month "-" date-mday
#   full-time      = partial-time time-offset
#   partial-time   = time-hour ":" time-minute ":" time-second [time-secfrac]
#   time-secfrac   = "." 1*DIGIT
#   time-offset    = "Z" / time-numoffset
#   time-numoffset = ("+" / "-") time-hour ":" time-minute
# and "the 'T' and 'Z' characters in this syntax may alternatively be lower case" (REC-5). Every
# other field is exactly two digits, the year four.
_DATE_TIME = re.compile(r"""
    (?P<year>[0-9]{4}) - (?P<month>[0-9]{2}) - (?P<day>[0-9]{2})
    [Tt]
    (?P<hour>[0-9]{2}) : (?P<minute>[0-9]{2}) : (?P<second>[0-9]{2}) (?: \. (?P<fraction>[0-9]+) )?
    (?: [Zz] | (?P<sign>[+-]) (?P<offset_hour>[0-9]{2}) : (?P<offset_minute>[0-9]{2}) )
""", re.VERBOSE)

UTC = timezone.utc
_MICROSECONDS_PER_DAY = 86_400 * 1_000_000


def is_leap_year(year: int) -> bool:
    """RFC 3339 Appendix C."""
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)


def days_in_month(year: int, month: int) -> int:
    """RFC 3339 §5.7's table of date-mday: 28, 29, 30 or 31 "based on month/year"."""
    if month == 2:
        return 29 if is_leap_year(year) else 28
    return 30 if month in (4, 6, 9, 11) else 31


def _days_since_year_0(year: int, month: int, day: int) -> int:
    leap_years_before = (year + 3) // 4 - (year + 99) // 100 + (year + 399) // 400  # years 0 .. year-1
    days_before_month = sum(days_in_month(year, m) for m in range(1, month))
    return 365 * year + leap_years_before + days_before_month + day - 1


def _microseconds(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0,
                  microsecond: int = 0) -> int:
    return (_days_since_year_0(year, month, day) * _MICROSECONDS_PER_DAY
            + ((hour * 60 + minute) * 60 + second) * 1_000_000 + microsecond)


# REC-7: "between 0001-01-01T00:00:00Z and 9999-12-31T23:59:59.999999Z inclusive".
_EARLIEST = _microseconds(1, 1, 1)
_LATEST = _microseconds(9999, 12, 31, 23, 59, 59, 999_999)
_EARLIEST_DATETIME = datetime(1, 1, 1, tzinfo=UTC)


def judge_time(value: str) -> tuple[datetime | None, list[Breach]]:
    """The UTC instant ``value`` names, cut to microseconds (REC-6), or the rules it breaks."""
    match = _DATE_TIME.fullmatch(value)
    if match is None:
        return None, [Breach("REC-5", "time", f"not an RFC 3339 date-time with an offset: {value[:60]!r}")]
    year, month, day, hour, minute, second = (int(match[name]) for name in
                                              ("year", "month", "day", "hour", "minute", "second"))
    offset_hour, offset_minute = int(match["offset_hour"] or 0), int(match["offset_minute"] or 0)
    faults = []
    if not (1 <= month <= 12 and 1 <= day <= days_in_month(year, month)):
        faults.append("no such date")  # REC-5: "The date MUST exist (no 30 February)"
    # RFC 3339 §5.6: hour 00-23, minute 00-59, second 00-60 (a leap second, REC-6).
    if hour > 23 or minute > 59 or second > 60:
        faults.append("no such time of day")
    if offset_hour > 23 or offset_minute > 59:
        faults.append("offset beyond 23:59")  # REC-5: "the offset MUST be at most 23:59"
    if faults:
        return None, [Breach("REC-5", "time", f"{', '.join(faults)}: {value!r}")]
    # REC-6: "digits after the sixth are truncated, never rounded"; a second of 60 is second 00 of
    # the next minute, which counting seconds gives without further ado.
    microsecond = int((match["fraction"] or "")[:6].ljust(6, "0"))
    offset = (offset_hour * 60 + offset_minute) * 60 * 1_000_000
    instant = _microseconds(year, month, day, hour, minute, second, microsecond) - (
        -offset if match["sign"] == "-" else offset)
    if not _EARLIEST <= instant <= _LATEST:
        return None, [Breach("REC-7", "time", f"{value!r} lies outside 0001-01-01 to 9999-12-31 UTC")]
    return _EARLIEST_DATETIME + timedelta(microseconds=instant - _EARLIEST), []


def canonical_time(instant: datetime) -> str:
    """ENC-5 item 3: "``time`` in UTC as ``YYYY-MM-DDTHH:MM:SS.ffffffZ``: always six fraction digits and ``Z``"."""
    if instant.utcoffset() is None:
        raise ValueError(f"REC-5: {instant} has no UTC offset, so names no instant")
    utc = instant.astimezone(UTC)
    return (f"{utc.year:04d}-{utc.month:02d}-{utc.day:02d}T{utc.hour:02d}:{utc.minute:02d}:{utc.second:02d}"
            f".{utc.microsecond:06d}Z")
