"""The ``logduct`` command (SPEC.md section 9): argument parsing, and wiring the parts together."""

from __future__ import annotations

import argparse
import contextlib
import os
import select
import signal
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import BinaryIO, TextIO

import psycopg
import zmq

from . import sqlfiles
from .batching import Sink
from .collector import BATCH_LIMIT, FLUSH_INTERVAL_S, Collector
from .demo import run as demo_run
from .embedded import embedded_dsn
from .errors import LogductError, ProtocolError
from .fifo import DEFAULT_MODE, PIPE_BUF, PORTABLE_PIPE_BUF, FifoSource
from .fifo_emitter import FifoEmitter
from .record import decode, encode
from .sending import Emitter, Overflow
from .sink import PostgresSink, StdoutSink, safe_dsn
from .source import Source
from .tables import format_table
from .zmq_emitter import ZmqEmitter
from .zmq_transport import DEFAULT_ENDPOINT, ZmqSource, load_curve_keys, load_public_key

#: Exit statuses of ``emit``.
EXIT_REFUSED = 1  # some input lines were invalid or too large (CLI-2)
EXIT_USAGE = 2
EXIT_NOT_HANDED_OVER = 3  # --timeout passed with records still queued (FIFO) or unacknowledged (ZeroMQ)


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        status: int = args.run(args)
    except LogductError as error:
        print(f"logduct: {error}", file=sys.stderr)
        return EXIT_USAGE
    return status


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="logduct",
                                     description="Structured logs to PostgreSQL over a FIFO or ZeroMQ.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    collect = commands.add_parser("collect", help="receive records and store them (CLI-1)")
    collect.add_argument("--fifo", action="append", default=[], metavar="PATH",
                         help="a FIFO to read, created if absent (repeatable)")
    collect.add_argument("--zmq", action="append", default=[], metavar="ENDPOINT", nargs="?", const=DEFAULT_ENDPOINT,
                         help=f"a ZeroMQ endpoint to bind a ROUTER on (repeatable; default {DEFAULT_ENDPOINT})")
    collect.add_argument("--allow-remote", action="store_true",
                         help="allow binding a non-loopback address (ZMQ-1); use with --curve-secret-key")
    collect.add_argument("--curve-secret-key", type=Path, metavar="FILE",
                         help="the collector's CURVE key pair (.key_secret): encrypt and authenticate (ZMQ-10)")
    collect.add_argument("--curve-authorized-keys", type=Path, metavar="DIR",
                         help="directory of the public keys (.key) of the emitters to accept")
    sink = collect.add_mutually_exclusive_group()
    sink.add_argument("--dsn", help="PostgreSQL to store into (default: logduct's embedded server)")
    sink.add_argument("--stdout", action="store_true", help="write accepted records to stdout as NDJSON")
    collect.add_argument("--fifo-mode", type=lambda text: int(text, 8), default=DEFAULT_MODE, metavar="OCTAL",
                         help=f"permissions of a FIFO it creates (default {DEFAULT_MODE:o}; never for others)")
    collect.add_argument("--flush-interval", type=float, default=FLUSH_INTERVAL_S, metavar="SECONDS",
                         help=f"commit a batch at most this old (default {FLUSH_INTERVAL_S})")
    collect.add_argument("--batch-limit", type=int, default=BATCH_LIMIT, metavar="N",
                         help=f"records per commit at most (default {BATCH_LIMIT:,})")
    collect.set_defaults(run=_collect)

    emit = commands.add_parser("emit", help="send NDJSON records from stdin (CLI-2)")
    where = emit.add_mutually_exclusive_group(required=True)
    where.add_argument("--fifo", metavar="PATH", help="the collector's FIFO")
    where.add_argument("--zmq", action="append", metavar="ENDPOINT",
                       help="a collector's ZeroMQ endpoint (repeatable: records are spread over them)")
    emit.add_argument("--identity", help="ZeroMQ routing identity, e.g. app-myApp-123 (ZMQ-2)")
    emit.add_argument("--curve-server-key", type=Path, metavar="FILE",
                      help="the collector's public key (.key): use CURVE (ZMQ-10)")
    emit.add_argument("--curve-secret-key", type=Path, metavar="FILE",
                      help="this emitter's key pair (.key_secret), known to the collector")
    emit.add_argument("--portable", action="store_true",
                      help=f"refuse records over {PORTABLE_PIPE_BUF} bytes, POSIX's PIPE_BUF (FIFO-3)")
    emit.add_argument("--timeout", type=float, default=None, metavar="SECONDS",
                      help="give up this long after starting, reading of stdin included, if records are still "
                           f"waiting for a reader or an acknowledgement (exit {EXIT_NOT_HANDED_OVER}); default: wait")
    emit.set_defaults(run=_emit)

    query = commands.add_parser("query", help="run the seed's example queries of sql/queries.sql (CLI-3)")
    query.add_argument("--dsn", help="PostgreSQL to query (default: logduct's embedded server)")
    query.add_argument("names", nargs="*", metavar="NAME", help="queries to run (default: all)")
    query.set_defaults(run=_query)

    demo = commands.add_parser("demo", help="the seed's story: two apps, the collector killed, nothing lost")
    demo.add_argument("--seconds", type=float, default=4.0, help="length of each phase (default 4)")
    demo.add_argument("--rate", type=int, default=500, help="records a second from each app (default 500)")
    demo.set_defaults(run=lambda args: demo_run(seconds=args.seconds, rate=args.rate))

    check = commands.add_parser(
        "check", help="validate NDJSON records on stdin; canonical lines to stdout, refusals to stderr")
    check.set_defaults(run=lambda _args: check_records(sys.stdin.buffer, sys.stdout.buffer, sys.stderr))
    return parser


@contextlib.contextmanager
def _database(dsn: str | None) -> Iterator[str]:
    """The DSN given, or the embedded server's for as long as the command runs."""
    if dsn:
        yield dsn
        return
    with embedded_dsn() as embedded:
        print(f"logduct: embedded PostgreSQL: psql '{embedded}'", file=sys.stderr, flush=True)
        yield embedded


def _collect(args: argparse.Namespace) -> int:
    if not args.fifo and not args.zmq:
        print("logduct: collect needs --fifo PATH or --zmq [ENDPOINT], or both", file=sys.stderr)
        return EXIT_USAGE
    with contextlib.ExitStack() as stack:
        sink: Sink
        if args.stdout:
            sink = StdoutSink()
            into = "stdout"
        else:
            dsn = stack.enter_context(_database(args.dsn))
            sink = PostgresSink(dsn)  # connected and schema in place before any FIFO opens
            into = "PostgreSQL" if args.dsn is None else f"PostgreSQL {safe_dsn(dsn)}"
        sources = _sources(args, stack)
        collector = Collector(sources, sink, flush_interval_s=args.flush_interval, batch_limit=args.batch_limit)
        signal.signal(signal.SIGTERM, lambda *_: collector.request_stop())
        signal.signal(signal.SIGINT, lambda *_: collector.request_stop())
        signal.signal(signal.SIGUSR1, lambda *_: collector.request_report())
        for source in sources:
            print(f"logduct: collecting from {source.describe()} into {into}", file=sys.stderr, flush=True)
        counters = collector.run()
        collector.report("logduct: stopped: ")
    return 1 if counters.not_stored else 0


def _sources(args: argparse.Namespace, stack: contextlib.ExitStack) -> list[Source]:
    """The collector's inputs, one line per transport: a new transport is a module and a line here."""
    context: zmq.Context[zmq.Socket[bytes]] = stack.enter_context(zmq.Context())
    curve = load_curve_keys(args.curve_secret_key) if args.curve_secret_key else None
    sources: list[Source] = [ZmqSource(context, endpoint, allow_remote=args.allow_remote, curve=curve,
                                       authorized_keys=args.curve_authorized_keys) for endpoint in args.zmq]
    sources += [FifoSource(path, args.fifo_mode) for path in args.fifo]
    return sources


def _emit(args: argparse.Namespace) -> int:
    emitter: Emitter
    if args.fifo:
        pipe_buf = PORTABLE_PIPE_BUF if args.portable else PIPE_BUF
        emitter = FifoEmitter(args.fifo, overflow=Overflow.BLOCK, pipe_buf=pipe_buf)
    else:
        emitter = ZmqEmitter(args.zmq, identity=args.identity.encode() if args.identity else None,
                             overflow=Overflow.BLOCK,
                             server_key=load_public_key(args.curve_server_key) if args.curve_server_key else None,
                             curve=load_curve_keys(args.curve_secret_key) if args.curve_secret_key else None)
    deadline = None if args.timeout is None else time.monotonic() + args.timeout
    refused = 0
    number = 0
    try:
        for number, line in enumerate(_lines(sys.stdin.buffer.fileno(), deadline), start=1):
            try:
                emitter.send(decode(line), deadline)
            except ProtocolError as error:  # EMIT-1, FIFO-2: named, counted, and the rest still sent
                refused += 1
                print(f"logduct: line {number}: {error}", file=sys.stderr)
    except TimeoutError:
        print(f"logduct: --timeout {args.timeout:g} s ran out at line {number:,} of stdin; the rest was not read",
              file=sys.stderr)
        emitter.close(timeout_s=0)
        return EXIT_NOT_HANDED_OVER
    lost = emitter.close(timeout_s=None if deadline is None else max(0.0, deadline - time.monotonic()))
    if lost:
        return EXIT_NOT_HANDED_OVER
    return EXIT_REFUSED if refused else 0


def _lines(fd: int, deadline: float | None) -> Iterator[bytes]:
    """The lines of ``fd`` as they come (the last one perhaps without its LF); TimeoutError if
    ``deadline`` (time.monotonic()) passes while waiting for more."""
    pending = b""
    while True:
        left = None if deadline is None else deadline - time.monotonic()
        if left is not None and (left <= 0 or not select.select([fd], [], [], left)[0]):
            raise TimeoutError
        chunk = os.read(fd, 1 << 16)
        if not chunk:
            if pending:
                yield pending
            return
        *complete, pending = (pending + chunk).split(b"\n")
        for line in complete:
            yield line + b"\n"


def _query(args: argparse.Namespace) -> int:
    queries = sqlfiles.named_statements("queries.sql")
    unknown = [name for name in args.names if name not in queries]
    if unknown:
        print(f"logduct: no query named {', '.join(unknown)}; there are: {', '.join(queries)}", file=sys.stderr)
        return EXIT_USAGE
    with _database(args.dsn) as dsn, psycopg.connect(dsn) as conn:
        conn.execute(sqlfiles.schema())
        for name in args.names or list(queries):
            statement = queries[name]
            cursor = conn.execute(statement.sql)
            headers = [column.name for column in cursor.description or []]
            print(f"-- {name}: {statement.description}\n{statement.sql}")
            print(format_table(headers, cursor.fetchall()))
    return 0


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
