"""Fault: the standard-output sink prints each accepted line as it was received, not in the canonical
encoding, so offsets, escapes, member order and spacing come out as each emitter spelt them (breaks COL-7).

Two overrides for the one fault: the base's sink is handed rows, not lines, so the collector keeps each
line beside its row for the sink to print.
"""

import sys

from conforming_collector import Collector, Row, StdoutSink, main


class KeepsTheLine(Collector):
    def judge(self, line: bytes, size: int) -> Row:
        row = super().judge(line, size)
        row.received = line  # type: ignore[attr-defined]
        return row


class PrintsLinesAsReceived(StdoutSink):
    def canonical(self, row: Row) -> bytes:
        return row.received + b"\n"  # type: ignore[attr-defined, no-any-return]  # the fault: the bytes received


sys.exit(main(KeepsTheLine, stdout=PrintsLinesAsReceived))
