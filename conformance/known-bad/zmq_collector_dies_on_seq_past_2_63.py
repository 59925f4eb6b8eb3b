"""Fault: sequence numbers are not checked against 2^63-1, and the collector dies on the first that
does not fit PostgreSQL's BIGINT, losing what it held (breaks ZMQ-11 and COL-2)."""

import sys

from logduct import cli, delivery
from logduct.collector import Collector
from logduct.source import Arrivals, Source

delivery.MAX_SEQ = 2**64 - 1
original = Collector._take


def take(self: Collector, source: Source, arrivals: Arrivals) -> None:
    if arrivals.deliveries and arrivals.deliveries[-1].seq > 2**63 - 1:
        raise OverflowError("emitter_seq out of range for type bigint")  # the fault
    original(self, source, arrivals)


Collector._take = take  # type: ignore[method-assign]
sys.exit(cli.main())
