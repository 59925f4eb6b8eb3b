"""Fault: with no reader on the FIFO, a record is counted as sent and dropped (breaks FIFO-4: keep it and try again)."""

import sys

from conforming_emitter import FifoEmitter, main


class DropsWithoutReader(FifoEmitter):
    def hand_over(self, line: bytes) -> bool:
        if self.fd is None and not self.open():
            return True  # the fault: "sent", and the queue moves on
        return super().hand_over(line)


sys.exit(main(fifo=DropsWithoutReader))
