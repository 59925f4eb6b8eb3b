"""Fault: records are buffered like stdio and written 8 KiB at a time once input ends (breaks FIFO-2, EMIT-2).

A whole emitter of its own, the way a shell script might do it: `emit --fifo PATH` only.
"""

import os
import sys

if sys.argv[1:3] != ["emit", "--fifo"]:
    sys.exit(f"usage: {sys.argv[0]} emit --fifo PATH")
data = sys.stdin.buffer.read()  # nothing goes out while the application still runs
fd = os.open(sys.argv[3], os.O_WRONLY)
for start in range(0, len(data), 8192):
    os.write(fd, data[start : start + 8192])
