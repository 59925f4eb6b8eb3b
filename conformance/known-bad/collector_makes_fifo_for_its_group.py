"""Fault: the FIFO is created readable and writable by the collector's group (0660), "so that a team's
applications can log", with no mode configured (breaks FIFO-1: 0600 unless configured otherwise).

A whole collector of its own, `collect --fifo PATH --stdout`: each line printed as it comes.
"""

import os
import signal
import sys

path = sys.argv[sys.argv.index("--fifo") + 1]
if not os.path.exists(path):
    os.mkfifo(path)
    os.chmod(path, 0o660)  # the fault
fd = os.open(path, os.O_RDWR)  # FIFO-7: a writer too, so it never reads end-of-file
signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
signal.signal(signal.SIGINT, lambda *_: sys.exit(0))
while chunk := os.read(fd, 65536):
    sys.stdout.buffer.write(chunk)
    sys.stdout.buffer.flush()
