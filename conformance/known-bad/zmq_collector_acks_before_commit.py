"""Fault: a message is acknowledged as soon as it is read, before its records are committed (breaks ZMQ-4)."""

import sys
from collections.abc import Callable

from logduct import cli
from logduct.collector import Collector


def acknowledge_now(self: Collector, acknowledge: Callable[[], None]) -> None:
    acknowledge()  # the fault: not held for the commit of the batch holding the message's records


Collector._acknowledge_after_commit = acknowledge_now  # type: ignore[method-assign]
sys.exit(cli.main())
