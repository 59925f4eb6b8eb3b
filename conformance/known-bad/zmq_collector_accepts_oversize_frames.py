"""Fault: no ZMQ_MAXMSGSIZE and no length check: a frame of any size is taken for a record and stored,
past the 65,536 bytes a line may have (breaks ZMQ-8).

A whole collector of its own, `collect --zmq ENDPOINT --stdout`: each record printed, each message
acknowledged.
"""

import signal
import sys

import zmq

router = zmq.Context().socket(zmq.ROUTER)  # the fault: router.setsockopt(zmq.MAXMSGSIZE, 65_536) is missing
router.bind(sys.argv[sys.argv.index("--zmq") + 1])
signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
signal.signal(signal.SIGINT, lambda *_: sys.exit(0))
while True:
    identity, tag, session, first_seq, *records = router.recv_multipart()
    sys.stdout.buffer.write(b"".join(line.rstrip(b"\n") + b"\n" for line in records))
    sys.stdout.buffer.flush()
    router.send_multipart([identity, tag, session, first_seq, len(records).to_bytes(8, "big")])
