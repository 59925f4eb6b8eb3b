"""Fault: a record longer than PIPE_BUF is written anyway, in one write() that need not be atomic (breaks FIFO-2)."""

import sys

from conforming_emitter import FifoEmitter, main


class WritesOversize(FifoEmitter):
    def check_size(self, line: bytes) -> None:
        pass  # the fault: no limit


sys.exit(main(fifo=WritesOversize))
