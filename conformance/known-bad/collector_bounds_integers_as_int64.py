"""Fault: integers are bounded as signed 64-bit, so 2^63 to 2^64-1, which a record may carry, are
refused (breaks REC-13)."""

import sys

from conforming_collector import Collector, Rejected, main


class BoundsIntegersAsInt64(Collector):
    def json_integer(self, lexeme: str) -> int:
        if len(lexeme) > 20 or not -(2**63) <= int(lexeme) <= 2**63 - 1:  # the fault: not 2^64-1
            raise Rejected("REC-13", f"integer {lexeme[:40]} outside the range of a 64-bit integer")
        return int(lexeme)


sys.exit(main(BoundsIntegersAsInt64))
