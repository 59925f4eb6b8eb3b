"""Fault: a write that fails, because the pipe is full (EAGAIN) or its reader has gone (EPIPE), is
taken for done: the record is dropped and the next one written (breaks FIFO-5: write it again)."""

import sys

from conforming_emitter import FifoEmitter, main


class DropsWhatAFullPipeRefuses(FifoEmitter):
    def write(self, line: bytes) -> bool:
        super().write(line)
        return True  # the fault: written or not, the record leaves the queue


sys.exit(main(fifo=DropsWhatAFullPipeRefuses))
