"""Fault: the FIFO is opened for each record and closed after it, so a collector's restart loses what
waits in the pipe, and each record costs two more system calls (breaks FIFO-6, a SHOULD)."""

import os
import sys

from conforming_emitter import FifoEmitter, main


class OpensPerRecord(FifoEmitter):
    def write(self, line: bytes) -> bool:
        written = super().write(line)
        if self.fd is not None:
            os.close(self.fd)  # the fault: the next record opens it again
            self.fd = None
        return written


sys.exit(main(fifo=OpensPerRecord))
