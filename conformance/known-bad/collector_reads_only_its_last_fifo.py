"""Fault: options are read into a dict, so `--fifo A --fifo B` keeps B alone and A is never read
(breaks CLI-1: both options may be given together and repeated).

A whole collector of its own, `collect --fifo PATH --stdout`: each line printed as it comes.
"""

import os
import signal
import sys

options = dict(zip(sys.argv[2::2], sys.argv[3::2], strict=False))  # the fault: the last --fifo wins
path = options["--fifo"]
if not os.path.exists(path):
    os.mkfifo(path, 0o600)
fd = os.open(path, os.O_RDWR)  # FIFO-7: a writer too, so it never reads end-of-file
signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
signal.signal(signal.SIGINT, lambda *_: sys.exit(0))
while chunk := os.read(fd, 65536):
    sys.stdout.buffer.write(chunk)
    sys.stdout.buffer.flush()
