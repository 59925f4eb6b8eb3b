"""Fault: the session ID is derived from the host name, so it is the same at every start; a restarted
emitter numbers from 1 again under it, and a collector drops its records as duplicates of the last
run's (breaks ZMQ-3: a session ID chosen at random when the emitter starts).

A whole emitter of its own, `emit --zmq ENDPOINT`: one record a message, each awaited.
"""

import hashlib
import socket
import sys

import zmq

session = hashlib.md5(socket.gethostname().encode()).digest()  # the fault: 16 bytes, never new
dealer = zmq.Context().socket(zmq.DEALER)
dealer.setsockopt(zmq.LINGER, 0)
dealer.connect(sys.argv[sys.argv.index("--zmq") + 1])
for seq, line in enumerate((line for line in sys.stdin.buffer if line.strip()), start=1):
    dealer.send_multipart([b"LD1", session, seq.to_bytes(8, "big"), line.rstrip(b"\n")])
    dealer.recv_multipart()  # its acknowledgement
