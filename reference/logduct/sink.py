"""Where accepted records and rejections go: PostgreSQL (COPY, one transaction a batch) or stdout.

Theory of operation. The collector fills a ``Batch``: COPY lines for ``logs`` and for the
quarantine ``logs_rejected``. ``PostgresSink.write`` stores a batch in one transaction, so that a
record and a rejection received together are committed together (ZMQ-4 acknowledges on that).
A lost connection is retried until it comes back: nothing of the batch is dropped. Validation makes
every record storable (section 1); should PostgreSQL still refuse a batch, the sink falls back to
one row at a time and quarantines the row it refuses, so that one row never costs its batch
(COL-2).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import BinaryIO, NamedTuple, Protocol, TextIO
from uuid import UUID

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from . import copy_format, sqlfiles
from .delivery import Delivery, SeenDeliveries
from .errors import LogductError
from .record import Record, encode

#: How long the sink waits between attempts to reach a database that went away.
RECONNECT_INTERVAL_S = 0.5


class Accepted(NamedTuple):
    """A valid record, with its delivery key when it came over ZeroMQ (ZMQ-3)."""

    record: Record
    delivery: Delivery | None = None


@dataclass(frozen=True, slots=True)
class Rejection:
    """Input that broke a rule, on its way to the quarantine (COL-1, PG-3)."""

    transport: str  # "fifo" or "zmq"
    source: str | None  # the FIFO path or the ZeroMQ routing identity
    rule: str
    reason: str
    raw: bytes
    delivery: Delivery | None = None


@dataclass
class Batch:
    """What one commit stores, and what to do once it is committed (ZMQ-4: acknowledge)."""

    records: list[Accepted] = field(default_factory=list)
    rejections: list[Rejection] = field(default_factory=list)
    after_commit: list[Callable[[], None]] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.records) + len(self.rejections)


@dataclass(frozen=True)
class Written:
    stored: int  # records now in the sink
    rejected: int  # rejections now in the quarantine, those the sink itself added included
    duplicates: int = 0  # deliveries already stored, not stored again (ZMQ-6)
    refused_by_database: int = 0  # valid records PostgreSQL refused all the same: a bug, quarantined as COL-2


class Sink(Protocol):
    def write(self, batch: Batch) -> Written: ...

    def close(self) -> None: ...


def _staging(table: str) -> sql.Identifier:
    return sql.Identifier(f"{table}_incoming")


def _key(delivery: Delivery | None) -> tuple[UUID | None, int | None]:
    return (None, None) if delivery is None else (delivery.session, delivery.seq)


def safe_dsn(dsn: str) -> str:
    """COL-6: a DSN fit to print, its password masked."""
    params = conninfo_to_dict(dsn)
    if params.get("password"):
        params["password"] = "***"
    return make_conninfo("", **{k: v for k, v in params.items() if v is not None})


class PostgresSink:
    """COPY into ``logs`` and ``logs_rejected``; the schema is created if missing (PG-5)."""

    def __init__(self, dsn: str) -> None:
        self._dsn = dsn
        self._conn = self._connect(first=True)

    def _connect(self, *, first: bool = False) -> psycopg.Connection[tuple[object, ...]]:
        while True:
            try:
                conn = psycopg.connect(self._dsn, autocommit=True)
                with conn.transaction():
                    # Collectors starting together would race on CREATE ... IF NOT EXISTS.
                    conn.execute("SELECT pg_advisory_xact_lock(hashtext('logduct schema'))")
                    conn.execute(sqlfiles.schema())
                for table in ("logs", "logs_rejected"):  # staging for keyed rows, once per connection
                    conn.execute(sql.SQL("CREATE TEMP TABLE IF NOT EXISTS {} (LIKE {} INCLUDING DEFAULTS)"
                                         " ON COMMIT DELETE ROWS").format(_staging(table), sql.Identifier(table)))
                return conn
            except psycopg.OperationalError as error:
                if first:  # a wrong DSN at start is the operator's to fix, not a wait
                    raise LogductError(f"cannot reach PostgreSQL: {error}".strip()) from None
                print(f"logduct: PostgreSQL unreachable, retrying: {error}".strip(), file=sys.stderr)
                time.sleep(RECONNECT_INTERVAL_S)

    def write(self, batch: Batch) -> Written:
        while True:
            try:
                return self._write_once(batch)
            except psycopg.OperationalError as error:
                print(f"logduct: lost PostgreSQL mid-batch, retrying: {error}".strip(), file=sys.stderr)
                self._conn.close()
                self._conn = self._connect()

    def _write_once(self, batch: Batch) -> Written:
        logs_rows = [copy_format.logs_row(a.record, *_key(a.delivery)) for a in batch.records]
        rejected_rows = [copy_format.rejected_row(r.transport, r.source, r.rule, r.reason, r.raw, *_key(r.delivery))
                         for r in batch.rejections]
        keyed = any(a.delivery for a in batch.records) or any(r.delivery for r in batch.rejections)
        try:
            with self._conn.transaction():
                stored = self._store("logs", copy_format.LOGS_COLUMNS, logs_rows, keyed)
                rejected = self._store("logs_rejected", copy_format.REJECTED_COLUMNS, rejected_rows, keyed)
        except (psycopg.DataError, psycopg.IntegrityError, psycopg.ProgrammingError):
            return self._write_row_by_row(logs_rows, rejected_rows, keyed)
        return Written(stored=stored, rejected=rejected,
                       duplicates=len(logs_rows) + len(rejected_rows) - stored - rejected)

    def _write_row_by_row(self, logs_rows: list[str], rejected_rows: list[str], keyed: bool) -> Written:
        """COL-2: store what PostgreSQL takes; quarantine, with its error, each row it refuses."""
        stored = refused = 0
        rejected_rows = list(rejected_rows)
        for row in logs_rows:
            try:
                with self._conn.transaction():
                    stored += self._store("logs", copy_format.LOGS_COLUMNS, [row], keyed)
            except (psycopg.DataError, psycopg.IntegrityError, psycopg.ProgrammingError) as error:
                refused += 1
                rejected_rows.append(copy_format.rejected_row(
                    "copy", None, "COL-2", f"PostgreSQL refused a valid record: {error}".strip(),
                    row.encode()))
        with self._conn.transaction():
            rejected = self._store("logs_rejected", copy_format.REJECTED_COLUMNS, rejected_rows, keyed)
        return Written(stored=stored, rejected=rejected, duplicates=len(logs_rows) - stored - refused,
                       refused_by_database=refused)

    def _store(self, table: str, columns: tuple[str, ...], rows: list[str], keyed: bool) -> int:
        """COPY ``rows`` into ``table``; the number of rows stored. With delivery keys, a row already
        stored is skipped, not an error (ZMQ-6, PG-4)."""
        if not rows:
            return 0
        names = sql.SQL(", ").join(map(sql.Identifier, columns))
        if keyed:
            try:
                # Most batches hold no delivery stored before: COPY them straight in, under a savepoint.
                with self._conn.transaction():
                    self._copy_into(sql.Identifier(table), names, rows)
                return len(rows)
            except psycopg.errors.UniqueViolation:
                pass  # some were stored before: sort them out through the staging table
        else:
            self._copy_into(sql.Identifier(table), names, rows)
            return len(rows)
        staging = _staging(table)
        self._copy_into(staging, names, rows)
        # No conflict target: the delivery key's unique index may also hold the partition key (time)
        # or Citus's distribution column (trace_id), which a resent record repeats (docs/scaling.md).
        inserted = self._conn.execute(sql.SQL(
            "INSERT INTO {table} ({names}) SELECT {names} FROM {staging} ON CONFLICT DO NOTHING").format(
                table=sql.Identifier(table), names=names, staging=staging))
        return inserted.rowcount

    def _copy_into(self, table: sql.Identifier, names: sql.Composable, rows: list[str]) -> None:
        with self._conn.cursor().copy(sql.SQL("COPY {} ({}) FROM STDIN").format(table, names)) as copy:
            copy.write("".join(rows))

    def close(self) -> None:
        self._conn.close()


class StdoutSink:
    """Canonical NDJSON of each accepted record on stdout; each rejection on stderr (COL-7).

    ZMQ-6 holds for as long as the process lives: deliveries are remembered in memory.
    """

    def __init__(self, out: BinaryIO | None = None, errors: TextIO | None = None) -> None:
        self._out = out if out is not None else sys.stdout.buffer
        self._errors = errors if errors is not None else sys.stderr
        self._seen = SeenDeliveries()

    def write(self, batch: Batch) -> Written:
        new = [a.record for a in batch.records if a.delivery is None or self._seen.add(a.delivery)]
        rejections = [r for r in batch.rejections if r.delivery is None or self._seen.add(r.delivery)]
        self._out.write(b"".join(encode(record) for record in new))
        self._out.flush()
        for rejection in rejections:
            print(f"logduct: rejected from {rejection.source}: {rejection.reason}", file=self._errors)
        return Written(stored=len(new), rejected=len(rejections),
                       duplicates=len(batch) - len(new) - len(rejections))

    def close(self) -> None:
        self._out.flush()
