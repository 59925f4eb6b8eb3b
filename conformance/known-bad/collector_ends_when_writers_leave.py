"""Fault: the FIFO is opened read-only, so when its last writer closes the collector reads end-of-file
and stops, and the next emitter finds no reader (breaks FIFO-7).

A whole collector of its own, `collect --fifo PATH --stdout`: each line printed as it comes.
"""

import os
import signal
import sys

path = sys.argv[sys.argv.index("--fifo") + 1]
if not os.path.exists(path):
    os.mkfifo(path, 0o600)
signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
signal.signal(signal.SIGINT, lambda *_: sys.exit(0))
with open(path, "rb", buffering=0) as pipe:  # the fault: read-only; it waits here for a first writer
    for line in pipe:  # ends at end-of-file: no writer left
        sys.stdout.buffer.write(line)
        sys.stdout.buffer.flush()
