"""Fault: a rejected line is counted and dropped, never quarantined: the bytes of a misspelt record are
lost in silence (breaks COL-1)."""

import sys

from conforming_collector import Collector, Rejection, main


class DropsWhatItRejects(Collector):
    def quarantine(self, rejection: Rejection, budget_key: str | None = None) -> None:
        self.counts[f"rejected {rejection.rule}"] += 1  # the fault: nothing goes to the quarantine


sys.exit(main(DropsWhatItRejects))
