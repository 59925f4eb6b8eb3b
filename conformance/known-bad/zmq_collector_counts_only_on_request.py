"""Fault: the counts are reported on SIGUSR1 only: a collector that stops says nothing of what it received,
stored, rejected and found duplicate (breaks COL-5)."""

import sys

from conforming_collector import Collector, main


class CountsOnlyOnRequest(Collector):
    def report_counts(self, *signal_arguments: object) -> None:
        if signal_arguments:  # the fault: called by the SIGUSR1 handler it reports; called at exit, not
            super().report_counts()


sys.exit(main(CountsOnlyOnRequest))
