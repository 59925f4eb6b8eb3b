"""Fault: the emitter waits for the FIFO to exist, but a FIFO with no reader (ENXIO) makes it give up,
its records dropped (breaks FIFO-4: keep them and try again).

A whole emitter of its own, `emit --fifo PATH`.
"""

import os
import sys
import time

path = sys.argv[sys.argv.index("--fifo") + 1]
while True:
    try:
        fd = os.open(path, os.O_WRONLY | os.O_NONBLOCK)
        break
    except FileNotFoundError:
        time.sleep(0.01)  # no FIFO yet: its collector is starting
    except OSError:
        sys.exit(f"emit: nobody reads {path}; records dropped")  # the fault: ENXIO is just as passing
os.set_blocking(fd, True)
for line in sys.stdin.buffer:
    os.write(fd, line)
