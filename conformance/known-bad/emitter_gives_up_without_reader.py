"""Fault: the emitter waits for the FIFO to exist, but a FIFO with no reader (ENXIO) makes it give up,
its records dropped (breaks FIFO-4: keep them and try again)."""

import os
import sys

from conforming_emitter import FifoEmitter, main


class GivesUpWithoutReader(FifoEmitter):
    def open(self) -> bool:
        if super().open():
            return True
        if os.path.exists(self.path):  # the fault: ENXIO, no reader yet, is taken for no reader ever
            sys.exit(f"emit: nobody reads {self.path}; records dropped")
        return False  # ENOENT: no FIFO yet, its collector is starting


sys.exit(main(fifo=GivesUpWithoutReader))
