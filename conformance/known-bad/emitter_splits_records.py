"""Fault: each record goes out in two write() calls, so concurrent writers interleave (breaks FIFO-2)."""

import os
import sys

from conforming_emitter import FifoEmitter, main


class SplitsRecords(FifoEmitter):
    def write(self, line: bytes) -> bool:
        half = len(line) // 2
        if not super().write(line[:half]):
            return False
        while True:  # the fault: the first half is in the pipe, alone, until the second follows
            try:
                os.write(self.fd, line[half:])  # type: ignore[arg-type]
                return True
            except BlockingIOError:
                pass  # the pipe is full: the same half again


sys.exit(main(fifo=SplitsRecords))
