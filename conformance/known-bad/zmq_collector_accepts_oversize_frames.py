"""Fault: no ZMQ_MAXMSGSIZE and no length check: a frame of any size is taken for a record and stored,
past the 65,536 bytes a line may have (breaks ZMQ-8).

Two overrides for the one fault: the base bounds a frame twice, ZeroMQ cutting off a sender whose frame
is over MAX_RECORD_BYTES and ENC-3's check of each record after it, and a frame too long is stored only
when neither is there.
"""

import sys

from conforming_collector import Collector, main


class AcceptsOversizeFrames(Collector):
    max_frame_bytes = -1  # the fault: no ZMQ_MAXMSGSIZE (ZeroMQ's default, no limit)

    def check_size(self, size: int) -> None:
        pass  # the fault again: no length check


sys.exit(main(AcceptsOversizeFrames))
