"""Fault: a line cut by a read boundary is forgotten instead of kept for the next read (breaks ENC-2)."""

import sys

from conforming_collector import FifoInput, main


class DropsSplitLines(FifoInput):
    def lines(self, chunk: bytes) -> list[tuple[bytes, int]]:
        # The fault: each read is taken as whole lines. The start of a line cut by the read is dropped,
        # and its end, in the next read, becomes a line of its own, which is no record.
        return [(line + b"\n", len(line) + 1) for line in chunk.split(b"\n")[:-1]]


sys.exit(main(fifo=DropsSplitLines))
