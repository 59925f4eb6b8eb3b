"""Fault: the FIFO is read as a file is, opened read-only and read until end-of-file, so when its last
writer closes the collector takes the input for finished and stops, and the next emitter finds no
reader (breaks FIFO-7).

Two overrides for the one fault: on the base, a FIFO opened read-only alone would spin on end-of-file
(collector_spins_when_writers_leave.py), since the base, holding its FIFO open for writing too, never
meets end-of-file and so gives it no meaning; `for line in pipe` gives it one.
"""

import os
import sys

from conforming_collector import READ_BYTES, FifoInput, main


class EndsWhenWritersLeave(FifoInput):
    def open(self) -> int:
        return os.open(self.path, os.O_RDONLY)  # the fault: read-only; it waits here for a first writer

    def read(self) -> list[tuple[bytes, int]]:
        chunk = os.read(self.fd, READ_BYTES)
        if not chunk:  # end-of-file: no writer left
            raise SystemExit(0)
        return self.lines(chunk)


sys.exit(main(fifo=EndsWhenWritersLeave))
