"""Fault: records waiting in the queue are kept in time order, so that the log reads chronologically; a
record the application gave later but dated earlier overtakes the others (breaks EMIT-4)."""

import bisect
import sys

from conforming_emitter import FifoEmitter, main


class SortsByTime(FifoEmitter):
    def enqueue(self, line: bytes) -> None:
        # The fault. A canonical line begins {"time":"YYYY-MM-DDTHH:MM:SS.ffffffZ", in UTC: its bytes
        # 9 to 36 sort as the instants they name.
        bisect.insort(self.queue, line, key=lambda queued: queued[9:36])


sys.exit(main(fifo=SortsByTime))
