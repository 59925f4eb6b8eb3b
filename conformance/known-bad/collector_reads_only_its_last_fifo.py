"""Fault: of the FIFOs it is given, only the last is read, as if the options were kept in a dict where
the last --fifo wins: `--fifo A --fifo B` makes and holds A, and never reads it (breaks CLI-1: both
options may be given together and repeated)."""

import sys

import zmq
from conforming_collector import Collector, FifoInput, main


class ReadsOnlyItsLastFifo(Collector):
    def run(self, fifos: list[FifoInput], zmq_inputs: list[tuple[str, zmq.Socket[bytes]]]) -> int:
        return super().run(fifos[-1:], zmq_inputs)  # the fault


sys.exit(main(ReadsOnlyItsLastFifo))
