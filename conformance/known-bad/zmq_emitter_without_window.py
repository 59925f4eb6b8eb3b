"""Fault: every queued record is sent at once, however many are unacknowledged: no window (breaks ZMQ-13)."""

import sys

from conforming_emitter import ZmqEmitter, main


class WithoutWindow(ZmqEmitter):
    def room(self) -> int:
        return 10**9  # the fault


sys.exit(main(zmq_emitter=WithoutWindow))
