#!/usr/bin/env python3
"""Step 1 of docs/implementing.md: the emitter anyone writes first. It is wrong (FIFO-2)."""

import argparse
import sys

from logduct.errors import ProtocolError
from logduct.record import decode, encode  # SPEC.md sections 1 and 2: validate, then the canonical bytes


def main() -> int:
    parser = argparse.ArgumentParser(prog="emitter_naive")
    parser.add_argument("command", choices=["emit"])
    parser.add_argument("--fifo", required=True)
    args = parser.parse_args()
    refused = 0
    with open(args.fifo, "wb") as fifo:  # a buffered file: the fault is here
        for number, line in enumerate(sys.stdin.buffer, start=1):
            try:
                fifo.write(encode(decode(line)))
            except ProtocolError as error:  # EMIT-1: name the line and the rule, send the others
                print(f"emitter_naive: line {number}: {error}", file=sys.stderr)
                refused += 1
    return 1 if refused else 0


if __name__ == "__main__":
    sys.exit(main())
