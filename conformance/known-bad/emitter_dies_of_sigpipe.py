"""Fault: SIGPIPE keeps its default action, as in a C program that never changes it: the emitter dies
the moment its reader goes away, its unsent records with it (breaks FIFO-5)."""

import signal
import sys

from conforming_emitter import FifoEmitter, main


class DiesOfSigpipe(FifoEmitter):
    def ignore_sigpipe(self) -> None:
        signal.signal(signal.SIGPIPE, signal.SIG_DFL)  # the fault


sys.exit(main(fifo=DiesOfSigpipe))
