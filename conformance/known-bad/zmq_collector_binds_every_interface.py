"""Fault: given `--zmq` with no endpoint, the collector binds every interface, tcp://*:5570, so that
any host that can reach the machine can write its logs (breaks ZMQ-1: loopback unless told otherwise).

A whole collector of its own, `collect --stdout --zmq [ENDPOINT]`: each record printed, each message
acknowledged.
"""

import signal
import sys

import zmq

args = sys.argv[1:]
given = args[args.index("--zmq") + 1:][:1]
endpoint = given[0] if given and not given[0].startswith("--") else "tcp://*:5570"  # the fault: "*"
router = zmq.Context().socket(zmq.ROUTER)
router.bind(endpoint)
signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
signal.signal(signal.SIGINT, lambda *_: sys.exit(0))
while True:
    identity, tag, session, first_seq, *records = router.recv_multipart()
    sys.stdout.buffer.write(b"".join(line.rstrip(b"\n") + b"\n" for line in records))
    sys.stdout.buffer.flush()
    router.send_multipart([identity, tag, session, first_seq, len(records).to_bytes(8, "big")])
