"""Fault: sequence numbers are not checked against 2^63-1, and the collector dies on the first that
does not fit PostgreSQL's BIGINT, losing what it held (breaks ZMQ-11 and COL-2)."""

import sys

from logduct import cli, delivery
from logduct.collector import Collector

delivery.MAX_SEQ = 2**64 - 1
original = Collector._take_message


def take_message(self: Collector, identity: bytes, incoming: delivery.IncomingMessage, source: object) -> None:
    message = incoming.parse() if incoming.frames[:1] == [delivery.TAG] and len(incoming.frames) > 3 else None
    if message is not None and message.first_seq + len(message.records) - 1 > 2**63 - 1:
        raise OverflowError("emitter_seq out of range for type bigint")  # the fault
    original(self, identity, incoming, source)  # type: ignore[arg-type]


Collector._take_message = take_message  # type: ignore[method-assign]
sys.exit(cli.main())
