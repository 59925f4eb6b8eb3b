"""Fault: SIGTERM exits at once, the open batch never committed (breaks COL-4)."""

import os
import sys

from logduct import cli
from logduct.collector import Collector

cli.FLUSH_INTERVAL_S = 3600.0  # batches close by size only, so one is open when SIGTERM comes
Collector.request_stop = lambda self: os._exit(0)  # type: ignore[method-assign]
sys.exit(cli.main())
