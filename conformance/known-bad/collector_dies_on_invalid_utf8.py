"""Fault: a line that is not UTF-8 raises out of the collector and kills it (breaks COL-2)."""

import sys

from logduct import cli, collector, record


def decode(line: bytes) -> record.Record:
    line.decode("utf-8")  # the fault: UnicodeDecodeError escapes
    return record.decode(line)


collector.decode = decode
sys.exit(cli.main())
