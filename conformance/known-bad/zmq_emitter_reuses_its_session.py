"""Fault: the session ID is derived from the host name, so it is the same at every start; a restarted
emitter numbers from 1 again under it, and a collector drops its records as duplicates of the last
run's (breaks ZMQ-3: a session ID chosen at random when the emitter starts)."""

import hashlib
import socket
import sys

from conforming_emitter import ZmqEmitter, main


class ReusesItsSession(ZmqEmitter):
    def new_session(self) -> bytes:
        return hashlib.md5(socket.gethostname().encode()).digest()  # the fault: 16 bytes, never new


sys.exit(main(zmq_emitter=ReusesItsSession))
