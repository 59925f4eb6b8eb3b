"""Fault: SIGTERM is handled, SIGINT (Ctrl-C) is not: Python's KeyboardInterrupt ends the collector
with a traceback and a status that is not 0, what it had read not committed (breaks COL-4)."""

import signal
import sys

from conforming_collector import Collector, main


class DiesOnSigint(Collector):
    def handle_signals(self) -> None:
        signal.signal(signal.SIGTERM, self.request_stop)  # the fault: nothing of the kind for SIGINT
        signal.signal(signal.SIGUSR1, self.report_counts)


sys.exit(main(DiesOnSigint))
