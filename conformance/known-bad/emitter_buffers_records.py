"""Fault: records are buffered as stdio buffers them and written 8 KiB at a time once input ends, a
record cut wherever a block ends (breaks FIFO-2, EMIT-2)."""

import os
import sys
import time

from conforming_emitter import FifoEmitter, main


class BuffersRecords(FifoEmitter):
    def flush(self) -> None:
        if not self.lines.ended:
            return  # the fault: nothing goes out while the application still runs
        data = b"".join(self.queue)
        self.queue.clear()
        while not self.open():
            time.sleep(self.RETRY_S)
        assert self.fd is not None
        os.set_blocking(self.fd, True)
        for start in range(0, len(data), 8192):  # the fault again: a block, not a line, per write()
            os.write(self.fd, data[start:start + 8192])


sys.exit(main(fifo=BuffersRecords))
