"""Fault: a batch is committed only once it holds 100 records, so at low load a record waits for 99
more, however long they take (breaks COL-3: a batch is bounded by time too)."""

import sys

from conforming_collector import Collector, main


class CommitsOnlyFullBatches(Collector):
    def flush_due(self) -> bool:
        return len(self.batch) >= 100  # the fault: no clock closes a batch


sys.exit(main(CommitsOnlyFullBatches))
