"""Fault: a message of any number of records and any size is taken whole (breaks ZMQ-12)."""

import sys

from conforming_collector import Collector, main


class AcceptsUnboundedMessages(Collector):
    def check_message_bounds(self, records: list[bytes]) -> None:
        pass  # the fault: no MAX_MESSAGE_RECORDS, no MAX_MESSAGE_BYTES


sys.exit(main(AcceptsUnboundedMessages))
