"""Fault: the FIFO is created readable and writable by the collector's group (0660), "so that a team's
applications can log", with no mode configured (breaks FIFO-1: 0600 unless configured otherwise)."""

import os
import sys

from conforming_collector import FifoInput, main


class MakesFifoForItsGroup(FifoInput):
    def make_fifo(self) -> None:
        if not os.path.exists(self.path):
            os.mkfifo(self.path)
            os.chmod(self.path, 0o660)  # the fault


sys.exit(main(fifo=MakesFifoForItsGroup))
