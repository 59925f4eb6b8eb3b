"""Fault: the last sequence number is checked by packing it into a signed 64-bit integer, whose
OverflowError is not a rejection: a message numbered past 2^63-1 kills the collector (breaks ZMQ-11, COL-2)."""

import sys

from conforming_collector import Collector, Rejected, main


class DiesOnSeqPast2To63(Collector):
    def check_sequence(self, first: int, count: int) -> None:
        if first == 0:
            raise Rejected("ZMQ-11", "the first sequence number is 0; numbers start at 1")
        (first + count - 1).to_bytes(8, "big", signed=True)  # the fault: raises OverflowError, uncaught


sys.exit(main(DiesOnSeqPast2To63))
