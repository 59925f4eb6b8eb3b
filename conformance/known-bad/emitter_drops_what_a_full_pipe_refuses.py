"""Fault: a write that fails, because the pipe is full (EAGAIN) or its reader has gone (EPIPE), is
taken for done: the record is dropped and the next one written (breaks FIFO-5: write it again).

A whole emitter of its own, `emit --fifo PATH`: non-blocking writes, one line each.
"""

import os
import sys

fd = os.open(sys.argv[sys.argv.index("--fifo") + 1], os.O_WRONLY)  # waits for a reader
os.set_blocking(fd, False)
for line in sys.stdin.buffer:
    try:
        os.write(fd, line)
    except (BlockingIOError, BrokenPipeError):
        pass  # the fault: the record is gone
