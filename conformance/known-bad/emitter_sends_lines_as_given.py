"""Fault: a valid record is sent as the application spelt it, not in the canonical encoding (breaks ENC-4)."""

import sys

from conforming_emitter import FifoEmitter, main


class SendsLinesAsGiven(FifoEmitter):
    def prepare(self, number: int, line: bytes) -> bytes | None:
        if super().prepare(number, line) is None:
            return None  # refused, and named, as it should be
        return line if line.endswith(b"\n") else line + b"\n"  # the fault: its own spelling, checked but not canonical


sys.exit(main(fifo=SendsLinesAsGiven))
