#!/usr/bin/env python3
"""The minimal conforming FIFO emitter of docs/implementing.md: `emitter.py emit --fifo PATH [--portable]`
reads NDJSON records on stdin and sends each to a logduct collector's FIFO (SPEC.md sections 3, 4, 9)."""

import argparse
import os
import sys
import time

from logduct.errors import ProtocolError
from logduct.record import decode, encode  # SPEC.md sections 1 and 2: validate, then the canonical bytes

PIPE_BUF = 4096  # Linux: a write() of at most this many bytes to a pipe is atomic (FIFO-2)
PORTABLE_PIPE_BUF = 512  # POSIX's least PIPE_BUF, the portable profile (FIFO-3)


def open_fifo(path: str) -> int:
    """The FIFO opened for writing, once it exists and has a reader: a blocking open waits for the
    reader (FIFO-4); the collector creates the FIFO (FIFO-1), so until then we look again."""
    while True:
        try:
            return os.open(path, os.O_WRONLY)
        except FileNotFoundError:
            time.sleep(0.1)


def write_line(fd: int, path: str, line: bytes) -> int:
    """Write ``line`` whole in one write(), as often as it takes; the descriptor it was written to."""
    while True:
        try:
            os.write(fd, line)  # blocking, at most PIPE_BUF bytes: all of it or, on EPIPE, none (FIFO-2)
            return fd
        except BrokenPipeError:  # the reader went away: wait for the next one, write the same line (FIFO-5)
            os.close(fd)
            fd = open_fifo(path)


def main() -> int:
    parser = argparse.ArgumentParser(prog="emitter")
    parser.add_argument("command", choices=["emit"])
    parser.add_argument("--fifo", required=True)
    parser.add_argument("--portable", action="store_true")
    args = parser.parse_args()
    limit = PORTABLE_PIPE_BUF if args.portable else PIPE_BUF
    fd = open_fifo(args.fifo)  # held open between records (FIFO-6)
    refused = 0
    for number, given in enumerate(sys.stdin.buffer, start=1):  # each line as it comes, not when a buffer fills
        try:
            line = encode(decode(given))
            if len(line) > limit:  # never split, never truncated (FIFO-2)
                raise ProtocolError("FIFO-2", f"the line is {len(line):,} bytes; one write() takes {limit:,}")
        except ProtocolError as error:  # EMIT-1, CLI-2: name the line and the rule, send the others
            print(f"emitter: line {number}: {error}", file=sys.stderr)
            refused += 1
            continue
        fd = write_line(fd, args.fifo, line)
    os.close(fd)
    return 1 if refused else 0


if __name__ == "__main__":
    sys.exit(main())  # Python ignores SIGPIPE: a reader going away is BrokenPipeError, not death (FIFO-5)
