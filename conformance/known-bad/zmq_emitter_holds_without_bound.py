"""Fault: nothing bounds what the emitter holds: it reads all its input at once and sends every record
without waiting for acknowledgements, keeping each until one comes (breaks ZMQ-7, and ZMQ-13 with it)."""

import sys

from conforming_emitter import ZmqEmitter, main


class HoldsWithoutBound(ZmqEmitter):
    def has_room(self) -> bool:
        return True  # the fault: memory grows with the input...

    def room(self) -> int:
        return 10**9  # ...and with whatever is not acknowledged


sys.exit(main(zmq_emitter=HoldsWithoutBound))
