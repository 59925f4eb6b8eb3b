"""Fault: records are committed in batches of 100 and only when a batch is full, so at low load a
record waits for 99 more, however long they take (breaks COL-3: a batch is bounded by time too).

A whole collector of its own, `collect --fifo PATH --stdout`: lines printed a batch at a time.
"""

import os
import signal
import sys

BATCH = 100
path = sys.argv[sys.argv.index("--fifo") + 1]
if not os.path.exists(path):
    os.mkfifo(path, 0o600)
fd = os.open(path, os.O_RDWR)  # FIFO-7: a writer too, so it never reads end-of-file
batch: list[bytes] = []


def commit() -> None:
    sys.stdout.buffer.write(b"".join(batch))
    sys.stdout.buffer.flush()
    batch.clear()


def stop(*_: object) -> None:
    commit()  # COL-4: what was read is committed at the stop
    sys.exit(0)


signal.signal(signal.SIGTERM, stop)
signal.signal(signal.SIGINT, stop)
pending = b""
while chunk := os.read(fd, 65536):
    *lines, pending = (pending + chunk).split(b"\n")
    batch += [line + b"\n" for line in lines]
    if len(batch) >= BATCH:  # the fault: no clock closes a batch
        commit()
