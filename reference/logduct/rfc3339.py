"""RFC 3339 timestamps, as SPEC.md REC-5 to REC-7 restrict them. No I/O.

Theory of operation: the grammar of RFC 3339 §5.6 is matched by one regular expression built from
its ABNF below; the numbers it captures are then checked against the ranges the ABNF comments give,
and the instant is moved to UTC and cut to microseconds, the precision PostgreSQL stores.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

from .errors import ProtocolError

# RFC 3339 §5.6:
#   date-fullyear   = 4DIGIT
#   date-month      = 2DIGIT  ; 01-12
#   date-mday       = 2DIGIT  ; 01-28, 01-29, 01-30, 01-31 based on month/year
#   time-hour       = 2DIGIT  ; 00-23
#   time-minute     = 2DIGIT  ; 00-59
#   time-second     = 2DIGIT  ; 00-58, 00-59, 00-60 based on leap second rules
#   time-secfrac    = "." 1*DIGIT
#   time-numoffset  = ("+" / "-") time-hour ":" time-minute
#   time-offset     = "Z" / time-numoffset
#   partial-time    = time-hour ":" time-minute ":" time-second [time-secfrac]
#   full-date       = date-fullyear "-" date-month "-" date-mday
#   full-time       = partial-time time-offset
#   date-time       = full-date "T" full-time
# and: "the 'T' and 'Z' characters in this syntax may alternatively be lower case".
_FULL_DATE = r"(?P<year>[0-9]{4})-(?P<month>[0-9]{2})-(?P<day>[0-9]{2})"
_PARTIAL_TIME = r"(?P<hour>[0-9]{2}):(?P<minute>[0-9]{2}):(?P<second>[0-9]{2})(?:\.(?P<fraction>[0-9]+))?"
_TIME_OFFSET = r"(?P<offset>[Zz]|(?P<sign>[+-])(?P<offset_hour>[0-9]{2}):(?P<offset_minute>[0-9]{2}))"
_DATE_TIME = re.compile(f"{_FULL_DATE}[Tt]{_PARTIAL_TIME}{_TIME_OFFSET}")
# The canonical spelling (ENC-5 item 3), which nearly every record uses: within it, only the ranges
# are left to check, and datetime.fromisoformat checks them in C ten times faster (year 0, hour 24,
# second 60 and the like fall back to the full parse, which names the fault).
_CANONICAL = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{6}Z")
# The same without the offset, only to say precisely what is wrong with a common mistake.
_LOCAL_DATE_TIME = re.compile(f"{_FULL_DATE}[Tt ]{_PARTIAL_TIME}")

_FIELD = "time"
UTC = timezone.utc
_MICROSECOND_DIGITS = 6
# datetime has no year 0, but REC-7 bounds the instant in UTC, and 0000-12-31T23:30:00-01:00 is 00:30 on
# 1 January of year 1. The Gregorian calendar repeats every 400 years (146,097 days, whole weeks), so
# a date of year 0 is checked in year 400 and its instant moved back.
_GREGORIAN_CYCLE = (400, timedelta(days=146_097))


def parse(text: str) -> datetime:
    """Return the instant ``text`` names, in UTC, truncated to microseconds (REC-6)."""
    if _CANONICAL.fullmatch(text):
        try:
            return datetime.fromisoformat(text[:-1] + "+00:00")  # tzinfo is UTC itself; replace() is slower
        except ValueError:
            pass
    match = _DATE_TIME.fullmatch(text)
    if match is None:
        if _LOCAL_DATE_TIME.fullmatch(text):
            raise ProtocolError("REC-5", "no UTC offset: add Z or +hh:mm", field=_FIELD, value=text)
        raise ProtocolError("REC-5", "not an RFC 3339 date-time", field=_FIELD, value=text)
    year, month, day = int(match["year"]), int(match["month"]), int(match["day"])
    hour, minute, second = int(match["hour"]), int(match["minute"]), int(match["second"])
    offset_hour = int(match["offset_hour"] or 0)
    offset_minute = int(match["offset_minute"] or 0)
    if hour > 23 or minute > 59 or second > 60:
        raise ProtocolError("REC-5", "time of day out of range", field=_FIELD, value=text)
    if offset_hour > 23 or offset_minute > 59:
        raise ProtocolError("REC-5", "UTC offset out of range", field=_FIELD, value=text)
    years_ahead, days_ahead = _GREGORIAN_CYCLE if year == 0 else (0, timedelta(0))
    # REC-6: digits after the sixth are truncated, never rounded.
    fraction = (match["fraction"] or "")[:_MICROSECOND_DIGITS]
    microsecond = int(fraction.ljust(_MICROSECOND_DIGITS, "0"))
    leap_second = second == 60
    try:
        local = datetime(year + years_ahead, month, day, hour, minute, 59 if leap_second else second, microsecond)
    except ValueError as error:  # 30 February, month 13 and the like
        raise ProtocolError("REC-5", f"no such date ({error})", field=_FIELD, value=text) from None
    offset = timedelta(hours=offset_hour, minutes=offset_minute)
    if match["sign"] == "-":
        offset = -offset
    try:
        # REC-6: a leap second is stored as second 00 of the next minute, as PostgreSQL does.
        utc = local - offset + timedelta(seconds=1 if leap_second else 0) - days_ahead
    except OverflowError:
        raise ProtocolError("REC-7", "instant outside 0001-01-01 to 9999-12-31 UTC",
                            field=_FIELD, value=text) from None
    return utc.replace(tzinfo=UTC)


def format_utc(instant: datetime) -> str:
    """The canonical spelling of ENC-5 item 3: ``YYYY-MM-DDTHH:MM:SS.ffffffZ``.

    Not ``strftime("%Y")``, which does not pad years before 1000 on glibc; ``isoformat`` does, and is
    the fastest way there is, though it leaves out a fraction of zero.
    """
    if instant.tzinfo is not UTC:
        instant = instant.astimezone(UTC)
    text = instant.isoformat()[:-6]  # without "+00:00"
    return f"{text}Z" if instant.microsecond else f"{text}.000000Z"
