"""Fault: a line that is not UTF-8 raises out of the collector and kills it (breaks COL-2 and ENC-1)."""

import sys

from conforming_collector import Collector, main


class DiesOnInvalidUtf8(Collector):
    def check_utf8(self, line: bytes) -> str:
        return line.decode("utf-8")  # the fault: UnicodeDecodeError escapes, where a rejection was due


sys.exit(main(DiesOnInvalidUtf8))
