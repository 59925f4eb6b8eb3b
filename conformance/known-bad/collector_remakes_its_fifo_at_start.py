"""Fault: the collector deletes and makes its FIFO again at every start, so a restart cuts off the records
waiting in the pipe and every writer holding it open: the loss has no bound (breaks FIFO-8)."""

import os
import stat
import sys

from conforming_collector import FifoInput, main


class RemakesItsFifoAtStart(FifoInput):
    def make_fifo(self) -> None:
        if os.path.exists(self.path) and stat.S_ISFIFO(os.stat(self.path).st_mode):
            os.unlink(self.path)  # the fault: "start afresh"
        super().make_fifo()


sys.exit(main(fifo=RemakesItsFifoAtStart))
