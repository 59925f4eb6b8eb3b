"""Fault: SIGTERM is handled, SIGINT (Ctrl-C) is not: Python's KeyboardInterrupt ends the collector
with a traceback and a status that is not 0 (breaks COL-4).

A whole collector of its own, `collect --fifo PATH --stdout`: each line printed as it comes.
"""

import os
import signal
import sys

path = sys.argv[sys.argv.index("--fifo") + 1]
if not os.path.exists(path):
    os.mkfifo(path, 0o600)
fd = os.open(path, os.O_RDWR)  # FIFO-7: a writer too, so it never reads end-of-file
signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))  # the fault: nothing of the kind for SIGINT
while chunk := os.read(fd, 65536):
    sys.stdout.buffer.write(chunk)
    sys.stdout.buffer.flush()
