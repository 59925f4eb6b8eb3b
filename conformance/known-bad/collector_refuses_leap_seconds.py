"""Fault: time is read the way datetime reads it, which knows no second 60, so a leap second is refused
(breaks REC-6)."""

import sys
from datetime import datetime
from typing import Any

from conforming_collector import Collector, Rejected, main


class RefusesLeapSeconds(Collector):
    def read_time(self, text: Any) -> datetime:
        if isinstance(text, str) and text[17:19] == "60":  # the fault: "23:59:60Z" is a legal instant
            raise Rejected("REC-5", f"time {text!r}: second must be in 0..59")
        return super().read_time(text)


sys.exit(main(RefusesLeapSeconds))
