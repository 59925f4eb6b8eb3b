"""Fault: a database that refuses writes ends the collector, and what it had read is lost (breaks COL-9)."""

import sys

from conforming_collector import Batch, Collector, main


class DiesOnDatabaseError(Collector):
    def commit_until_done(self, batch: Batch) -> None:
        self.sink.commit(batch, self.stored_keys)  # the fault: DatabaseAtFault is not waited out, it ends us


sys.exit(main(DiesOnDatabaseError))
