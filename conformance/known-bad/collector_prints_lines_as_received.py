"""Fault: the standard-output sink prints each accepted line as it was received, not in the canonical
encoding, so offsets, escapes, member order and spacing come out as each emitter spelt them (breaks COL-7).

A whole collector of its own, `collect --fifo PATH --stdout`, that takes any JSON object for a record.
"""

import json
import os
import signal
import sys

path = sys.argv[sys.argv.index("--fifo") + 1]
if not os.path.exists(path):
    os.mkfifo(path, 0o600)
fd = os.open(path, os.O_RDWR)  # FIFO-7: a writer too, so it never reads end-of-file
signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
signal.signal(signal.SIGINT, lambda *_: sys.exit(0))
pending = b""
while chunk := os.read(fd, 65536):
    *lines, pending = (pending + chunk).split(b"\n")
    for line in lines:
        try:
            accepted = isinstance(json.loads(line), dict)
        except ValueError:
            accepted = False
        if accepted:
            sys.stdout.buffer.write(line + b"\n")  # the fault: the bytes received
        else:
            print(f"collector: rejected from {path}: ENC-2: not a JSON object", file=sys.stderr)
    sys.stdout.buffer.flush()
    sys.stderr.flush()
