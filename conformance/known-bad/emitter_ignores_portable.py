"""Fault: --portable is accepted and ignored, so lines up to PIPE_BUF go out, not up to 512 bytes (breaks FIFO-3)."""

import sys

from conforming_emitter import PIPE_BUF, FifoEmitter, main


class IgnoresPortable(FifoEmitter):
    def line_limit(self) -> int:
        return PIPE_BUF  # the fault: whatever self.portable says


sys.exit(main(fifo=IgnoresPortable))
