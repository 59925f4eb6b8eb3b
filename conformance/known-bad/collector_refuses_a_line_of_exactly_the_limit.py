"""Fault: an off-by-one line limit, the bound taken as exclusive: a line of exactly 65,536 bytes with its
LF is refused (breaks ENC-3)."""

import sys

from conforming_collector import MAX_RECORD_BYTES, Collector, Rejected, main


class RefusesALineOfExactlyTheLimit(Collector):
    def check_size(self, size: int) -> None:
        if size >= MAX_RECORD_BYTES:  # the fault: >= where ENC-3 says "MUST NOT exceed"
            raise Rejected("ENC-3", f"the line is {size:,} bytes with its LF")


sys.exit(main(RefusesALineOfExactlyTheLimit))
