"""Fault: data is required like the other members, though a record MAY leave it out (breaks REC-2)."""

import sys

from conforming_collector import MEMBERS, Collector, main


class RequiresData(Collector):
    required = MEMBERS  # the fault: all eight, data included


sys.exit(main(RequiresData))
