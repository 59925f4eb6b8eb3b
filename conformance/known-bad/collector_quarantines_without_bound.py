"""Fault: every rejection is stored, however fast they come: any writer can fill the disk (breaks COL-8)."""

import sys

from conforming_collector import Collector, Rejection, main


class QuarantinesWithoutBound(Collector):
    def admit(self, key: str, rejection: Rejection) -> bool:
        return True  # the fault: no budget per input and per second


sys.exit(main(QuarantinesWithoutBound))
