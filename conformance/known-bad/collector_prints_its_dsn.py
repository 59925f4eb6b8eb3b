"""Fault: the collector says where it stores, and the DSN it prints holds the password (breaks COL-6).

Only as much of a collector as the check needs to see it: it makes and holds its FIFO, then waits
for SIGTERM, storing nothing.
"""

import os
import signal
import sys

path = sys.argv[sys.argv.index("--fifo") + 1]
dsn = sys.argv[sys.argv.index("--dsn") + 1]
print(f"collector: storing into {dsn}", file=sys.stderr, flush=True)  # the fault: the password with it
if not os.path.exists(path):
    os.mkfifo(path, 0o600)
fd = os.open(path, os.O_RDWR)
signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
signal.signal(signal.SIGINT, lambda *_: sys.exit(0))
while True:
    signal.pause()
