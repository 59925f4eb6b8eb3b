"""Fault: SIGTERM exits at once, the open batch never committed (breaks COL-4)."""

import os
import sys

from conforming_collector import Collector, main


class NoFlushOnSigterm(Collector):
    batch_seconds = 3600.0  # batches close by size only, so that one is open when SIGTERM comes

    def request_stop(self, *_: object) -> None:
        os._exit(0)  # the fault: out at once, with status 0, the batch read and never committed


sys.exit(main(NoFlushOnSigterm))
