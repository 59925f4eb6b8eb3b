"""Fault: with no reader on the FIFO, a record is counted as sent and dropped (breaks FIFO-4)."""

import sys

from logduct import cli
from logduct.fifo import FifoWriter

original = FifoWriter.try_write


def try_write(self: FifoWriter, line: bytes) -> bool:
    if self._fd is None and not self._open():
        return True  # the fault: "sent"
    return original(self, line)


FifoWriter.try_write = try_write  # type: ignore[method-assign]
sys.exit(cli.main())
