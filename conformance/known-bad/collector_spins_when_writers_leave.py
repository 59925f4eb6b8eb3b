"""Fault: the FIFO is opened read-only and non-blocking: once a writer has come and gone, the pipe
reads end-of-file at once, every time, and the collector's loop spins on it, a core at full use while
nothing arrives (breaks FIFO-7).

A whole collector of its own, `collect --fifo PATH --stdout`: each line printed as it comes.
"""

import os
import select
import signal
import sys

path = sys.argv[sys.argv.index("--fifo") + 1]
if not os.path.exists(path):
    os.mkfifo(path, 0o600)
fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)  # the fault: read-only
signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
signal.signal(signal.SIGINT, lambda *_: sys.exit(0))
while True:
    select.select([fd], [], [])  # with no writer left, "readable" at once: end-of-file
    sys.stdout.buffer.write(os.read(fd, 65536))  # b"" then, over and over
    sys.stdout.buffer.flush()
