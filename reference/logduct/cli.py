"""The ``logduct`` command: argument parsing only; the work is done by the modules it calls."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import BinaryIO, TextIO

from .errors import ProtocolError
from .record import decode, encode


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="logduct", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    check = commands.add_parser(
        "check", help="validate NDJSON records on stdin; canonical lines to stdout, refusals to stderr")
    check.set_defaults(run=lambda _args: check_records(sys.stdin.buffer, sys.stdout.buffer, sys.stderr))

    args = parser.parse_args(argv)
    status: int = args.run(args)
    return status


def check_records(lines: BinaryIO, out: BinaryIO, errors: TextIO) -> int:
    """Write the canonical line of each valid record; name each invalid one. 1 if any was invalid."""
    refused = 0
    for number, line in enumerate(lines, start=1):
        try:
            out.write(encode(decode(line)))
        except ProtocolError as error:
            refused += 1
            print(f"line {number}: {error}", file=errors)
    return 1 if refused else 0


if __name__ == "__main__":
    sys.exit(main())
