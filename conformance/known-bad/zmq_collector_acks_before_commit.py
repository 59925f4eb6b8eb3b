"""Fault: a message is acknowledged as soon as it is read, before its records are committed (breaks ZMQ-4)."""

import sys

import zmq
from conforming_collector import Collector, main


class AcksBeforeCommit(Collector):
    def acknowledge_after_commit(self, socket: zmq.Socket[bytes], ack: list[bytes]) -> None:
        socket.send_multipart(ack)  # the fault: not held for the commit of the batch holding the records


sys.exit(main(AcksBeforeCommit))
