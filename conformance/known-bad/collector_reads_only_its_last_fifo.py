"""Fault: of the FIFOs it is given, only the last is kept, as if the options were read into a dict where
the last --fifo wins: `--fifo A --fifo B` lets A go, and no writer of A finds a reader (breaks CLI-1:
both options may be given together and repeated)."""

import os
import sys

import zmq
from conforming_collector import Collector, FifoInput, main


class ReadsOnlyItsLastFifo(Collector):
    def run(self, fifos: list[FifoInput], zmq_inputs: list[tuple[str, zmq.Socket[bytes]]]) -> int:
        for forgotten in fifos[:-1]:  # the fault
            os.close(forgotten.fd)
        return super().run(fifos[-1:], zmq_inputs)


sys.exit(main(ReadsOnlyItsLastFifo))
