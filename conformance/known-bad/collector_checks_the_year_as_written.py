"""Fault: REC-7's range is checked on the year as written, not on the instant in UTC, so the first instant
of year 1 written in year 0 at an offset west is refused (breaks REC-7)."""

import sys
from datetime import datetime

from conforming_collector import Collector, Rejected, main


class ChecksTheYearAsWritten(Collector):
    def instant(self, microseconds: int, text: str) -> datetime:
        if not 1 <= int(text[:4]) <= 9999:  # the fault: "0000-12-31T23:00:00-01:00" is year 1 in UTC
            raise Rejected("REC-7", f"time {text!r} lies outside the years 1 to 9999")
        return super().instant(microseconds, text)


sys.exit(main(ChecksTheYearAsWritten))
