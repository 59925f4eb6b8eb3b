"""Fault: the UTC offset of a time is dropped, the local time stored as if it were UTC (breaks REC-5)."""

import sys

from conforming_collector import Collector, main


class IgnoresOffset(Collector):
    def offset_seconds(self, sign: str | None, hours: int, minutes: int, text: str) -> int:
        return 0  # the fault: "+02:00" read as "Z"


sys.exit(main(IgnoresOffset))
