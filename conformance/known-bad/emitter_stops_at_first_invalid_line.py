"""Fault: the first invalid line is named, by number and rule, and the records after it are never sent
(breaks CLI-2: the other records are still sent)."""

import sys

from conforming_emitter import FifoEmitter, main


class StopsAtFirstInvalidLine(FifoEmitter):
    def enqueue(self, line: bytes) -> None:
        if not self.refusals:  # the fault: once a line is refused, nothing more goes out
            super().enqueue(line)


sys.exit(main(fifo=StopsAtFirstInvalidLine))
