"""Fault: SIGPIPE keeps its default action, as in a C program that never changes it: the emitter dies
the moment its reader goes away, its unsent records with it (breaks FIFO-5).

A whole emitter of its own, `emit --fifo PATH`: blocking writes, one line each.
"""

import os
import signal
import sys

signal.signal(signal.SIGPIPE, signal.SIG_DFL)  # the fault
fd = os.open(sys.argv[sys.argv.index("--fifo") + 1], os.O_WRONLY)  # waits for a reader
for line in sys.stdin.buffer:
    os.write(fd, line)  # waits while the pipe is full; with no reader left, SIGPIPE
