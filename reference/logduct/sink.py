"""Where accepted records and rejections go: PostgreSQL (COPY, one transaction a batch) or stdout.

Theory of operation. The collector fills a ``Batch`` (batching.py) of records and rejections.
``PostgresSink.write`` turns them into rows (copy_format.py) and COPYs them, in binary, into ``logs``
and the quarantine ``logs_rejected`` in one transaction, so that a record and a rejection received
together are committed together (ZMQ-4 acknowledges on that).

``PostgresSink.begin`` is the collector's way in, and it does not wait for the commit. A batch of
records alone (the common case) goes as one COPY statement in autocommit, so that statement is its
own transaction: the sink sends the rows and returns, and the collector reads and judges the next
batch while PostgreSQL stores this one and flushes its commit. Waiting for each commit instead left
the collector idle 40% of the time (issue 13). ``PostgresSink.prepare`` formats a batch's COPY data
ahead of ``begin``, while the commit before it may still be under way. Every other case, and any
failure of the fast path, goes through ``write``, which waits, and which knows every way a write can
fail.

Two kinds of failure, told apart by what PostgreSQL says. A fault of the database's state (the
connection lost or refused, a read-only server, a full disk, a missing permission) says nothing
about the rows: the sink keeps the batch, reconnects (re-creating a dropped schema, PG-5) and tries
again with growing pauses, saying so on stderr when the state changes (COL-9). A fault of a row
(PostgreSQL's data or integrity errors) should never happen, since validation makes every record
storable (section 1); should it happen all the same, the sink stores the batch one row at a time
under savepoints and quarantines the row it refuses, so that one row never costs its batch (COL-2).
A rejection that even the quarantine refuses is counted and named on stderr, never fatal.
"""

from __future__ import annotations

import io
import select
import sys
import time
from collections.abc import Callable, Sequence
from typing import BinaryIO, NamedTuple, TextIO, TypeVar
from uuid import UUID

import orjson
import psycopg
from psycopg import postgres, pq, sql
from psycopg.adapt import Dumper
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from psycopg.copy import Copy, FileWriter
from psycopg.types.json import set_json_dumps

from . import copy_format, sqlfiles
from .batching import Batch, Commit, Done, Written
from .delivery import Delivery, SeenDeliveries
from .errors import DatabaseUnavailable
from .record import encode

Connection = psycopg.Connection[tuple[object, ...]]
T = TypeVar("T")
R = TypeVar("R")

#: COL-9: the pause after a database fault, doubled after each failed attempt up to the most.
RETRY_FIRST_S = 0.5
RETRY_MOST_S = 30.0
#: PostgreSQL's verdicts on rows, not on its own state: the batch is then stored row by row (COL-2).
_ROW_FAULTS = (psycopg.DataError, psycopg.IntegrityError)


class _Table(NamedTuple):
    """A table the sink COPYs into: its name, and the columns and types of its rows (copy_format.py)."""

    name: str
    columns: tuple[str, ...]
    types: tuple[str, ...]

    def names(self) -> sql.Composable:
        return sql.SQL(", ").join(map(sql.Identifier, self.columns))


_LOGS = _Table("logs", copy_format.LOGS_COLUMNS, copy_format.LOGS_TYPES)
_REJECTED = _Table("logs_rejected", copy_format.REJECTED_COLUMNS, copy_format.REJECTED_TYPES)


def _staging(table: str) -> sql.Identifier:
    return sql.Identifier(f"{table}_incoming")


def _key(delivery: Delivery | None) -> tuple[UUID | None, int | None]:
    return (None, None) if delivery is None else (delivery.session, delivery.seq)


def _logs_rows(batch: Batch) -> list[copy_format.LogsRow]:
    return [copy_format.logs_row(a.record, *_key(a.delivery)) for a in batch.records]


class _CopyJsonbDumper(Dumper):
    """``data`` in binary COPY: jsonb's binary form, version byte 1 then the JSON text, in one call.
    psycopg's own jsonb dumper makes two Python calls and as many type checks around the encoder's:
    a seed-like row took 0.74 us to format for COPY with it, 0.52 with this one, the same bytes
    (issue 13). Registered by type OID only, so it serves COPY after ``set_types`` and nothing else."""

    format = pq.Format.BINARY
    oid = postgres.types["jsonb"].oid

    def dump(self, obj: object) -> bytes:
        return b"\x01" + orjson.dumps(obj)


def _connect(dsn: str) -> Connection:
    conn = psycopg.connect(dsn, autocommit=True)
    # PostgreSQL stores the value of a JSON text, not its spelling, so any JSON encoder gives the same
    # jsonb: orjson takes 0.07 us for a seed-like data object where the json module takes 1.3 (issue
    # 13). It refuses what section 1 already refuses (NaN, lone surrogates, integers past 64 bits).
    set_json_dumps(orjson.dumps, context=conn)
    conn.adapters.register_dumper(None, _CopyJsonbDumper)
    return conn


def _one_line(error: BaseException) -> str:
    return " ".join(str(error).split())


def safe_dsn(dsn: str) -> str:
    """COL-6: a DSN fit to print, its password masked."""
    params = conninfo_to_dict(dsn)
    if params.get("password"):
        params["password"] = "***"
    return make_conninfo("", **{k: v for k, v in params.items() if v is not None})


class PostgresSink:
    """COPY into ``logs`` and ``logs_rejected``; the schema is created if missing (PG-5).

    ``give_up`` is asked between attempts while the database is at fault: once it says True, ``write``
    raises DatabaseUnavailable instead of waiting on (the collector sets it when told to stop).
    """

    def __init__(self, dsn: str) -> None:
        self._dsn = dsn
        self.give_up: Callable[[], bool] = lambda: False
        self._fault: str | None = None  # what is wrong with the database now, as last said on stderr
        try:  # a DSN that is malformed or names no reachable server at start is the operator's to fix
            self._conn = _connect(dsn)
        except psycopg.Error as error:
            raise DatabaseUnavailable(None, f"cannot reach PostgreSQL: {_one_line(error)}") from None
        self._conn = self._until_done(self._prepare, self._conn)

    def write(self, batch: Batch) -> Written:
        return self._until_done(self._write_once, batch)

    def prepare(self, batch: Batch) -> None:
        """Format the COPY data of a batch that ``begin`` will send as it is: records only."""
        if batch.records and not batch.rejections:
            try:
                self._copy_data(batch)
            except psycopg.Error:
                pass  # ``begin`` meets it again, and takes the careful path

    def begin(self, batch: Batch) -> Commit:
        """Send a batch of records as one COPY in autocommit, and return before PostgreSQL answers.
        A batch with rejections, or with the database at fault, is written and waited for."""
        if batch.rejections or not batch.records or self._fault is not None:
            return Done(self.write(batch))
        try:
            self._send_copy(self._copy_data(batch))
        except (psycopg.Error, _FastPathFailed):
            return Done(self._write_after_failed_fast_path(batch))
        finally:
            batch.prepared = None  # sent, or of no use to the careful path: not held while in flight
        return _CopyInFlight(self, batch)

    def _copy_data(self, batch: Batch) -> bytes:
        """The batch's records as binary COPY data for ``logs``, kept in the batch once formatted.
        psycopg formats them in C, as _copy_into does; FileWriter keeps the bytes instead of sending them."""
        if batch.prepared is None:
            data = io.BytesIO()
            with Copy(self._conn.cursor(), binary=True, writer=FileWriter(data)) as copy:
                copy.set_types(_LOGS.types)
                for row in _logs_rows(batch):
                    copy.write_row(row)
            batch.prepared = data.getvalue()
        return batch.prepared

    def _send_copy(self, data: bytes) -> None:
        """Start ``COPY logs FROM STDIN`` and send ``data`` (``_copy_data``), leaving its result to come."""
        pgconn = self._conn.pgconn
        pgconn.send_query(self._copy_statement(sql.Identifier(_LOGS.name), _LOGS).as_bytes(self._conn))
        started = _next_result(pgconn)
        if started is None or started.status != pq.ExecStatus.COPY_IN:
            while started is not None:  # an error: take the rest of the query's results
                started = _next_result(pgconn)
            raise _FastPathFailed
        # psycopg keeps libpq non-blocking and waits in its own loop; sending in blocking mode lets
        # libpq wait instead, until all of it is with the kernel. PostgreSQL reads on through a COPY
        # and answers only at its end, so the sender cannot deadlock with it.
        nonblocking, pgconn.nonblocking = pgconn.nonblocking, 0
        try:
            if pgconn.put_copy_data(data) != 1 or pgconn.put_copy_end() != 1 or pgconn.flush() != 0:
                raise _FastPathFailed
        finally:
            pgconn.nonblocking = nonblocking

    def _finish_copy(self, batch: Batch) -> Written:
        """Wait for the result of ``_send_copy``; on anything but success, the careful path."""
        pgconn = self._conn.pgconn
        try:
            stored: int | None = None
            while (result := _next_result(pgconn)) is not None:
                if result.status == pq.ExecStatus.COMMAND_OK:
                    stored = result.command_tuples
        except psycopg.Error:
            stored = None
        if stored != len(batch.records):
            # A row PostgreSQL refused, a delivery stored before (ZMQ-6), the connection lost: the
            # statement was its own transaction, so nothing of it is stored; ``write`` sorts it out.
            return self._write_after_failed_fast_path(batch)
        return Written(stored=stored)

    def _write_after_failed_fast_path(self, batch: Batch) -> Written:
        pgconn = self._conn.pgconn
        if pgconn.transaction_status != pq.TransactionStatus.IDLE:  # lost, or in a state unknown
            why = " ".join(pgconn.get_error_message().split()) or "the connection is in an unknown state"
            self._say_fault(f"OperationalError: {why}")
            self._reconnect()
        return self.write(batch)

    def _until_done(self, attempt: Callable[[T], R], argument: T) -> R:
        """COL-9: ``attempt`` until the database lets it succeed; reconnect and pause between tries."""
        pause = RETRY_FIRST_S
        while True:
            try:
                result = attempt(argument)
            except psycopg.Error as error:  # the database's state, not a row: rows are judged inside
                self._say_fault(f"{type(error).__name__}: {_one_line(error)}")
            else:
                if self._fault is not None:
                    print("logduct: PostgreSQL works again; carrying on", file=sys.stderr, flush=True)
                    self._fault = None
                return result
            if self.give_up():
                raise DatabaseUnavailable("COL-9", f"PostgreSQL still failing when told to stop: {self._fault}")
            time.sleep(pause)
            pause = min(RETRY_MOST_S, pause * 2)
            self._reconnect()

    def _say_fault(self, fault: str) -> None:
        kind = fault.split(":", 1)[0]
        if self._fault is None or not self._fault.startswith(kind):  # once per change of state
            print(f"logduct: PostgreSQL: {fault}; keeping the batch and retrying (up to every "
                  f"{RETRY_MOST_S:g} s)", file=sys.stderr, flush=True)
        self._fault = fault

    def _reconnect(self) -> None:
        self._conn.close()
        try:
            self._conn = _connect(self._dsn)  # closed by the next reconnect
            self._prepare(self._conn)
        except psycopg.Error as error:
            self._say_fault(f"{type(error).__name__}: {_one_line(error)}")

    @staticmethod
    def _prepare(conn: Connection) -> Connection:
        with conn.transaction():
            # Collectors starting together would race on CREATE ... IF NOT EXISTS.
            conn.execute("SELECT pg_advisory_xact_lock(hashtext('logduct schema'))")
            conn.execute(sqlfiles.schema())
        for table in ("logs", "logs_rejected"):  # staging for keyed rows, once per connection
            conn.execute(sql.SQL("CREATE TEMP TABLE IF NOT EXISTS {} (LIKE {} INCLUDING DEFAULTS)"
                                 " ON COMMIT DELETE ROWS").format(_staging(table), sql.Identifier(table)))
        return conn

    def _write_once(self, batch: Batch) -> Written:
        logs_rows = _logs_rows(batch)
        rejected_rows = [copy_format.rejected_row(r.transport, r.source, r.rule, r.reason, r.raw, *_key(r.delivery))
                         for r in batch.rejections]
        keyed = any(a.delivery for a in batch.records) or any(r.delivery for r in batch.rejections)
        try:
            with self._conn.transaction():
                stored = self._store(_LOGS, logs_rows, keyed)
                rejected = self._store(_REJECTED, rejected_rows, keyed)
        except _ROW_FAULTS:
            return self._write_row_by_row(batch, logs_rows, rejected_rows, keyed)
        return Written(stored=stored,
                       duplicates=len(logs_rows) + len(rejected_rows) - stored - rejected)

    def _write_row_by_row(self, batch: Batch, logs_rows: list[copy_format.LogsRow],
                          rejected_rows: list[copy_format.RejectedRow], keyed: bool) -> Written:
        """COL-2: store what PostgreSQL takes; quarantine, with its error, each row it refuses. One
        transaction, a savepoint a row: a database fault midway leaves nothing half stored."""
        stored = refused = rejected = unstorable = 0
        rejected_rows = list(rejected_rows)
        with self._conn.transaction():
            for accepted, row in zip(batch.records, logs_rows, strict=True):
                count, error = self._store_one(_LOGS, row, keyed)
                stored += count
                if error is not None:
                    refused += 1
                    rejected_rows.append(copy_format.rejected_row(
                        "copy", None, "COL-2", f"PostgreSQL refused a valid record: {_one_line(error)}",
                        encode(accepted.record)))
            for rejection in rejected_rows:
                count, error = self._store_one(_REJECTED, rejection, keyed)
                rejected += count
                if error is not None:
                    unstorable += 1
                    print(f"logduct: COL-9: the quarantine refused a rejection ({_one_line(error)}): "
                          f"{str(rejection)[:200]}", file=sys.stderr)
        return Written(stored=stored, refused_by_database=refused, unstorable=unstorable,
                       duplicates=len(logs_rows) + len(rejected_rows) - stored - rejected - refused - unstorable)

    def _store_one(self, table: _Table, row: tuple[object, ...], keyed: bool) -> tuple[int, Exception | None]:
        """One row under a savepoint: (rows stored, None), or (0, the error) if PostgreSQL refused it."""
        try:
            with self._conn.transaction():
                return self._store(table, [row], keyed), None
        except _ROW_FAULTS as error:
            return 0, error

    def _store(self, table: _Table, rows: Sequence[tuple[object, ...]], keyed: bool) -> int:
        """COPY ``rows`` into ``table``; the number of rows stored. With delivery keys, a row already
        stored is skipped, not an error (ZMQ-6, PG-4)."""
        if not rows:
            return 0
        if keyed:
            try:
                # Most batches hold no delivery stored before: COPY them straight in, under a savepoint.
                with self._conn.transaction():
                    self._copy_into(sql.Identifier(table.name), table, rows)
                return len(rows)
            except psycopg.errors.UniqueViolation:
                pass  # some were stored before: sort them out through the staging table
        else:
            self._copy_into(sql.Identifier(table.name), table, rows)
            return len(rows)
        staging = _staging(table.name)
        names = table.names()
        self._copy_into(staging, table, rows)
        # No conflict target: the delivery key's unique index may also hold the partition key (time)
        # or Citus's distribution column (trace_id), which a resent record repeats (docs/scaling.md).
        inserted = self._conn.execute(sql.SQL(
            "INSERT INTO {table} ({names}) SELECT {names} FROM {staging} ON CONFLICT DO NOTHING").format(
                table=sql.Identifier(table.name), names=names, staging=staging))
        return inserted.rowcount

    @staticmethod
    def _copy_statement(target: sql.Identifier, table: _Table) -> sql.Composed:
        # PG-6: values travel only as COPY data; names are composed by psycopg.sql, never spliced.
        return sql.SQL("COPY {} ({}) FROM STDIN (FORMAT BINARY)").format(target, table.names())

    def _copy_into(self, target: sql.Identifier, table: _Table, rows: Sequence[tuple[object, ...]]) -> None:
        with self._conn.cursor().copy(self._copy_statement(target, table)) as copy:
            copy.set_types(table.types)
            for row in rows:
                copy.write_row(row)

    def close(self) -> None:
        self._conn.close()


class _FastPathFailed(Exception):
    """PostgreSQL did not take a batch the way ``PostgresSink.begin`` sent it."""


def _next_result(pgconn: pq.abc.PGconn) -> pq.abc.PGresult | None:
    """libpq's next result of the query in progress, waiting for it; None when there are no more."""
    while True:
        pgconn.consume_input()
        if not pgconn.is_busy():
            return pgconn.get_result()
        readable = select.poll()  # not select.select: a collector with many peers has descriptors past 1,024
        readable.register(pgconn.socket, select.POLLIN)
        readable.poll()


class _CopyInFlight:
    """A batch sent by ``PostgresSink.begin`` whose commit PostgreSQL has yet to confirm."""

    def __init__(self, sink: PostgresSink, batch: Batch) -> None:
        self._sink = sink
        self._batch = batch
        self._written: Written | None = None

    def fileno(self) -> int | None:
        if self._written is not None:
            return None
        try:
            return self._sink._conn.pgconn.socket
        except psycopg.Error:  # the connection is gone: ``done`` says so
            return None

    def done(self) -> bool:
        if self._written is not None:
            return True
        pgconn = self._sink._conn.pgconn
        try:
            pgconn.consume_input()
            return not pgconn.is_busy()
        except psycopg.Error:  # the connection is gone: ``result`` takes the careful path at once
            return True

    def result(self) -> Written:
        if self._written is None:
            self._written = self._sink._finish_copy(self._batch)
        return self._written


class StdoutSink:
    """Canonical NDJSON of each accepted record on stdout; each rejection on stderr (COL-7).

    ZMQ-6 holds for as long as the process lives: deliveries are remembered in memory.
    """

    def __init__(self, out: BinaryIO | None = None, errors: TextIO | None = None) -> None:
        self._out = out if out is not None else sys.stdout.buffer
        self._errors = errors if errors is not None else sys.stderr
        self._seen = SeenDeliveries()
        self.give_up: Callable[[], bool] = lambda: False  # stdout never fails

    def write(self, batch: Batch) -> Written:
        new = [a.record for a in batch.records if a.delivery is None or self._seen.add(a.delivery)]
        rejections = [r for r in batch.rejections if r.delivery is None or self._seen.add(r.delivery)]
        self._out.write(b"".join(encode(record) for record in new))
        self._out.flush()
        for rejection in rejections:  # COL-7's form: "rejected from SOURCE: RULE: reason"
            reason = rejection.reason.removeprefix(f"{rejection.rule}: ")
            print(f"logduct: rejected from {rejection.source}: {rejection.rule}: {reason}", file=self._errors)
        return Written(stored=len(new),
                       duplicates=len(batch) - len(new) - len(rejections))

    def prepare(self, batch: Batch) -> None:
        pass  # what ``write`` prints depends on the deliveries seen before, known only at its turn

    def begin(self, batch: Batch) -> Commit:
        return Done(self.write(batch))

    def close(self) -> None:
        self._out.flush()
