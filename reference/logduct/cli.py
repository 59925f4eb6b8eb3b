"""The ``logduct`` command (SPEC.md section 9): argument parsing, and wiring the parts together."""

from __future__ import annotations

import argparse
import contextlib
import gc
import importlib.metadata
import os
import select
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any, BinaryIO, TextIO

import psycopg
import zmq

from . import querying, sqlfiles
from .batching import Sink
from .collector import BATCH_LIMIT, FLUSH_INTERVAL_S, Collector
from .database import DSN_ENV, connected_dsn
from .demo import run as demo_run
from .errors import DatabaseUnavailable, LogductError, ProtocolError
from .fifo import DEFAULT_MODE, PIPE_BUF, PORTABLE_PIPE_BUF, FifoSource
from .fifo_emitter import FifoEmitter
from .record import FIELDS, decode, encode
from .sending import Emitter, Overflow
from .sink import PostgresSink, StdoutSink
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


#: Where collect, query and tail find PostgreSQL (database.py), for --help.
_DSN_HELP = (f"PostgreSQL to use; without it ${DSN_ENV}, else libpq's PG* variables (PGHOST, PGPORT, "
             "PGDATABASE, PGUSER, PGPASSWORD, PGSERVICE, ...) if any is set, else logduct's embedded server")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="logduct",
                                     description="Structured logs to PostgreSQL over a FIFO or ZeroMQ.",
                                     epilog=f"PostgreSQL, for collect, query and tail: --dsn DSN, else ${DSN_ENV}, "
                                            "else libpq's own PG* variables when one is set, else logduct's "
                                            "embedded server. Commands and options beyond SPEC.md section 9 "
                                            "(query's filters, tail, --metrics) are this implementation's own.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {importlib.metadata.version('logduct')}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    collect = commands.add_parser("collect", help="receive records and store them (CLI-1)")
    collect.add_argument("--fifo", action="append", default=[], metavar="PATH",
                         help="a FIFO to read, created if absent (repeatable)")
    collect.add_argument("--zmq", action="append", default=[], metavar="ENDPOINT", nargs="?", const=DEFAULT_ENDPOINT,
                         help=f"a ZeroMQ endpoint to bind a ROUTER on (repeatable; default {DEFAULT_ENDPOINT})")
    collect.add_argument("--allow-remote", action="store_true",
                         help="allow binding a non-loopback address (ZMQ-1, --metrics); use with --curve-secret-key")
    collect.add_argument("--curve-secret-key", type=Path, metavar="FILE",
                         help="the collector's CURVE key pair (.key_secret): encrypt and authenticate (ZMQ-10)")
    collect.add_argument("--curve-authorized-keys", type=Path, metavar="DIR",
                         help="directory of the public keys (.key) of the emitters to accept")
    sink = collect.add_mutually_exclusive_group()
    sink.add_argument("--dsn", help=_DSN_HELP)
    sink.add_argument("--stdout", action="store_true", help="write accepted records to stdout as NDJSON")
    collect.add_argument("--fifo-mode", type=lambda text: int(text, 8), default=DEFAULT_MODE, metavar="OCTAL",
                         help=f"permissions of a FIFO it creates (default {DEFAULT_MODE:o}; never for others)")
    collect.add_argument("--flush-interval", type=float, default=FLUSH_INTERVAL_S, metavar="SECONDS",
                         help=f"commit a batch at most this old (default {FLUSH_INTERVAL_S})")
    collect.add_argument("--batch-limit", type=int, default=BATCH_LIMIT, metavar="N",
                         help=f"records per commit at most (default {BATCH_LIMIT:,})")
    collect.add_argument("--metrics", metavar="HOST:PORT",
                         help="serve COL-5's counters, commit times and queue depths at http://HOST:PORT/metrics "
                              "in Prometheus's text format (loopback only without --allow-remote; port 0: any)")
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

    query = commands.add_parser(
        "query", help="run the named queries of sql/queries.sql (CLI-3), or select records with filters",
        description="With NAMEs or nothing else: the named queries of sql/queries.sql (CLI-3). With a filter: "
                    "the newest records it selects, newest first.")
    query.add_argument("--dsn", help=_DSN_HELP)
    query.add_argument("names", nargs="*", metavar="NAME", help="queries to run (default: all)")
    _add_filters(query, limit=100)
    query.set_defaults(run=_query)

    tail = commands.add_parser("tail", help="print the newest records, and with --follow each new one as it is "
                                            "committed",
                               description="The newest records the filters select, oldest first; with --follow, "
                                           "then each record as it is committed, by any collector.")
    tail.add_argument("--dsn", help=_DSN_HELP)
    _add_filters(tail, limit=10)
    tail.add_argument("-f", "--follow", action="store_true",
                      help="then print the records committed from now on, until SIGINT or SIGTERM (exit 0); only "
                           f"those whose time is after --since (default: the last {_minutes(querying.FOLLOW_WINDOW)})")
    tail.add_argument("--interval", type=_positive(float, least=0.01), default=querying.FOLLOW_INTERVAL_S,
                      metavar="SECONDS",
                      help=f"with --follow, look every SECONDS (default {querying.FOLLOW_INTERVAL_S:g})")
    tail.set_defaults(run=_tail)

    demo = commands.add_parser("demo", help="the seed's story: two apps, the collector killed, nothing lost")
    demo.add_argument("--seconds", type=float, default=4.0, help="length of each phase (default 4)")
    demo.add_argument("--rate", type=int, default=500, help="records a second from each app (default 500)")
    demo.set_defaults(run=lambda args: demo_run(seconds=args.seconds, rate=args.rate))

    check = commands.add_parser(
        "check", help="validate NDJSON records on stdin; canonical lines to stdout, refusals to stderr")
    check.set_defaults(run=lambda _args: check_records(sys.stdin.buffer, sys.stdout.buffer, sys.stderr))
    return parser


def _add_filters(command: argparse.ArgumentParser, *, limit: int) -> None:
    """query's and tail's filters: each value a parameter of the statement (PG-6), never SQL text."""
    filters = command.add_argument_group("filters (a repeated option matches any of its values)")
    filters.add_argument("--app", action="append", default=[], metavar="NAME", help="application_name")
    filters.add_argument("--env", action="append", default=[], metavar="NAME", help="environment_name")
    filters.add_argument("--event", action="append", default=[], metavar="NAME", help="log_event")
    filters.add_argument("--trace", action="append", default=[], metavar="ID", help="trace_id")
    filters.add_argument("--since", type=_when, metavar="WHEN",
                         help="time at or after WHEN: RFC 3339 (2026-11-26T04:00:00Z) or a duration ago "
                              "(30s, 10m, 2h, 1d, 1w, 1h30m)")
    filters.add_argument("--until", type=_when, metavar="WHEN", help="time before WHEN, as --since")
    filters.add_argument("--limit", type=_positive(int), default=limit, metavar="N",
                         help=f"at most N records, the newest (default {limit})")
    command.add_argument("--ndjson", action="store_true",
                         help="print each record as its canonical NDJSON line (ENC-5)")


def _when(text: str) -> querying.When:
    try:
        return querying.parse_when(text)
    except LogductError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _positive(kind: type[int] | type[float], *, least: float = 0) -> Callable[[str], float]:
    def parse(text: str) -> float:
        value = kind(text)
        if value < least or value != value:  # NaN compares false both ways
            raise argparse.ArgumentTypeError(f"must be {least:g} or more (got {text})")
        return value
    parse.__name__ = kind.__name__  # argparse names the type in its message: "invalid int value"
    return parse


def _minutes(window: timedelta) -> str:
    return f"{window.total_seconds() / 60:g} minutes"


def _filters(args: argparse.Namespace) -> querying.Filters:
    return querying.Filters(apps=tuple(args.app), envs=tuple(args.env), events=tuple(args.event),
                            traces=tuple(args.trace), since=args.since, until=args.until)


@contextlib.contextmanager
def _connection(dsn: str | None, **options: Any) -> Iterator[querying.Connection]:
    """A connection to the database of database.py's order; one line on stderr if there is none."""
    with connected_dsn(dsn) as (chosen, _):
        try:
            conn = psycopg.connect(chosen, **options)
        except psycopg.Error as error:
            raise DatabaseUnavailable(None, f"cannot reach PostgreSQL: {' '.join(str(error).split())}") from None
        with conn:
            querying.ensure_schema(conn)
            yield conn


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
            dsn, into = stack.enter_context(connected_dsn(args.dsn))
            sink = PostgresSink(dsn)  # connected and schema in place before any FIFO opens
        numbers = None
        if args.metrics:
            from . import metrics  # prometheus_client, imported only by a collector that serves metrics

            address = metrics.parse_address(args.metrics, allow_remote=args.allow_remote)  # before anything opens
            numbers = metrics.CollectorMetrics()
            sink = numbers.timed(sink)
        sources = _sources(args, stack)
        collector = Collector(sources, sink, flush_interval_s=args.flush_interval, batch_limit=args.batch_limit)
        if numbers is not None:
            numbers.watch(collector)
            url = stack.enter_context(numbers.serve(address))
            print(f"logduct: metrics at {url}", file=sys.stderr, flush=True)
        signal.signal(signal.SIGTERM, lambda *_: collector.request_stop())
        signal.signal(signal.SIGINT, lambda *_: collector.request_stop())
        signal.signal(signal.SIGUSR1, lambda *_: collector.request_report())
        for source in sources:
            print(f"logduct: collecting from {source.describe()} into {into}", file=sys.stderr, flush=True)
        _collect_garbage_rarely()
        counters = collector.run()
        collector.report("logduct: stopped: ")
    return 1 if counters.not_stored else 0


def _collect_garbage_rarely() -> None:
    """What the collector allocates (parsed lines, records, rows) is freed by reference counting, never
    by the cycle collector; yet each batch of a thousand records held until its commit is what the
    collector's default thresholds scan again and again: 10% of decode's time (issue 13). Everything
    allocated so far is set aside for good, and young objects are scanned every 100,000 allocations."""
    gc.freeze()
    gc.set_threshold(100_000, 10, 10)


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
    filters = _filters(args)
    if filters.any() or args.ndjson:
        if args.names:
            print("logduct: a named query keeps its own values; give NAMEs or filters, not both", file=sys.stderr)
            return EXIT_USAGE
        with _connection(args.dsn) as conn:
            rows = querying.latest(conn, filters, args.limit)
            if args.ndjson:
                return _print_ndjson(rows)
            print(format_table(list(FIELDS), rows))
        return 0
    queries = sqlfiles.named_statements("queries.sql")
    unknown = [name for name in args.names if name not in queries]
    if unknown:
        print(f"logduct: no query named {', '.join(unknown)}; there are: {', '.join(queries)}", file=sys.stderr)
        return EXIT_USAGE
    with _connection(args.dsn) as conn:
        for name in args.names or list(queries):
            statement = queries[name]
            cursor = conn.execute(statement.sql)
            headers = [column.name for column in cursor.description or []]
            print(f"-- {name}: {statement.description}\n{statement.sql}")
            print(format_table(headers, cursor.fetchall()))
    return 0


def _tail(args: argparse.Namespace) -> int:
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):  # a clean end, not a KeyboardInterrupt: exit 0
        signal.signal(signum, lambda *_: stop.set())
    print_rows = _print_ndjson if args.ndjson else _print_readable
    refused = 0
    try:
        with _connection(args.dsn, autocommit=True) as conn:
            follower = querying.Follower(conn, _filters(args))
            refused += print_rows(follower.start(args.limit))
            while args.follow and not stop.wait(args.interval):
                refused += print_rows(follower.look())
    except BrokenPipeError:  # `logduct tail -f | head`: the reader has all it wanted
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # nothing left to flush at exit
        return 0
    return 1 if refused else 0


def _print_readable(rows: list[querying.Row]) -> int:
    for row in rows:
        print(querying.readable(row), flush=True)
    return 0


def _print_ndjson(rows: list[querying.Row]) -> int:
    """Canonical lines of the rows; a row that is no valid record (stored by other means than a
    collector) is named on stderr and counted."""
    refused = 0
    for row in rows:
        try:
            sys.stdout.buffer.write(querying.canonical(row))
        except ProtocolError as error:
            refused += 1
            print(f"logduct: a stored row is not a valid record: {error}", file=sys.stderr)
    sys.stdout.buffer.flush()
    return refused


def check_records(lines: BinaryIO, out: BinaryIO, errors: TextIO) -> int:
    """Write the canonical line of each valid record; name each invalid one. 1 if any was invalid."""
    refused = 0
    for number, line in enumerate(lines, start=1):
        try:
            out.write(encode(decode(line)))
        except ProtocolError as error:
            refused += 1
            print(f"logduct: line {number}: {error}", file=errors)  # emit's form (CLI-2)
    return 1 if refused else 0
