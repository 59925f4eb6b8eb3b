"""Fault: a message is acknowledged as soon as it is read, before its records are committed (breaks ZMQ-4)."""

import sys

from logduct import cli
from logduct.collector import Collector

original = Collector._take_message


def take_message(self: Collector, identity: bytes, frames: list[bytes], source: object) -> None:
    original(self, identity, frames, source)  # type: ignore[arg-type]
    if self._batch.after_commit:
        self._batch.after_commit.pop()()  # the fault: acknowledge now


Collector._take_message = take_message  # type: ignore[method-assign]
sys.exit(cli.main())
