"""Fault: the FIFO is opened read-only and non-blocking: once a writer has come and gone, the pipe
reads end-of-file at once, every time, and the collector's loop spins on it, a core at full use while
nothing arrives (breaks FIFO-7)."""

import os
import sys

from conforming_collector import FifoInput, main


class SpinsWhenWritersLeave(FifoInput):
    def open(self) -> int:
        return os.open(self.path, os.O_RDONLY | os.O_NONBLOCK)  # the fault: read-only


sys.exit(main(fifo=SpinsWhenWritersLeave))
