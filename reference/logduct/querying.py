"""``logduct query`` with filters and ``logduct tail``: records out of ``logs``, selected by parameters.

Theory of operation. A ``Filters`` becomes a WHERE clause composed from fixed fragments by
psycopg.sql: column names are constants of this module and every value a user typed travels as a
parameter, never as SQL text (PG-6).

``tail --follow`` must print each row once, when it is committed, whichever collector committed it
(any conforming implementation, or a plain INSERT). ``logs`` has no column in commit order: ``time``
is the emitter's clock, and records arrive out of that order (several emitters, retransmissions).
So the follower asks PostgreSQL's own bookkeeping instead. Every row carries ``xmin``, the ID of the
transaction that inserted it. Each look is one REPEATABLE READ transaction, and its snapshot's
``xmin`` is a horizon: every transaction below it had ended before the look. A row not yet seen is
either below the previous look's horizon, and then it was already visible then, so it was seen, or
at or above it: a candidate. Candidates are compared against the rows already printed, remembered by
their place (``tableoid``, ``ctid``, stable in a table only ever inserted into), and forgotten once
the horizon passes them. Polling, not LISTEN/NOTIFY, because a NOTIFY would come only from the
reference collector, and a statement-level trigger would change the contract's schema (section 7).

A look reads only the rows whose ``time`` is at or after ``since`` (through the ``time`` index), by
default the last ``FOLLOW_WINDOW``: a record committed with an older time is stored, and not shown.
xmin is a 32-bit counter that wraps; each row's is widened to the 64 bits of ``pg_snapshot`` by the
snapshot's own epoch, as PostgreSQL compares them, so that the comparison holds across a wrap.
It needs PostgreSQL 13 or later (``pg_current_snapshot``). Citus's distributed tables have an
xmin per worker: tail does not follow them.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, timezone
from typing import Any

import psycopg
from psycopg import sql

from . import rfc3339, sqlfiles
from .errors import ConfigurationError, ProtocolError
from .record import FIELDS, JSON_ENCODER, Record, encode

#: tail --follow reads the records of this last stretch of time, unless --since says otherwise.
FOLLOW_WINDOW = timedelta(minutes=10)
#: tail --follow looks this often.
FOLLOW_INTERVAL_S = 0.5

_UNITS = {"s": 1, "m": 60, "h": 3_600, "d": 86_400, "w": 604_800}
_RELATIVE = re.compile(r"(?:[0-9]+[smhdw])+")
_PART = re.compile(r"([0-9]+)([smhdw])")

#: A point in time: an instant, or a duration before now (re-read at each look of tail --follow).
When = datetime | timedelta

Row = tuple[Any, ...]  # the eight columns of section 1, in FIELDS order, as psycopg loads them
Connection = psycopg.Connection[Row]


def parse_when(text: str) -> When:
    """An RFC 3339 date-time, or a duration ago: ``90s``, ``10m``, ``2h``, ``1d``, ``1w``, ``1h30m``."""
    if _RELATIVE.fullmatch(text):
        return timedelta(seconds=sum(int(n) * _UNITS[unit] for n, unit in _PART.findall(text)))
    try:
        return rfc3339.parse(text)
    except ProtocolError:
        raise ConfigurationError(None, f"{text!r} is neither an RFC 3339 date-time (2026-11-26T04:00:00Z) "
                                       "nor a duration ago (30s, 10m, 2h, 1d, 1w)") from None


def instant(when: When, now: datetime) -> datetime:
    return now - when if isinstance(when, timedelta) else when


@dataclass(frozen=True, kw_only=True)
class Filters:
    """What ``--app``, ``--env``, ``--event``, ``--trace``, ``--since`` and ``--until`` select; a
    repeated option matches any of its values."""

    apps: tuple[str, ...] = ()
    envs: tuple[str, ...] = ()
    events: tuple[str, ...] = ()
    traces: tuple[str, ...] = ()
    since: When | None = None
    until: When | None = None

    def any(self) -> bool:
        return bool(self.apps or self.envs or self.events or self.traces) or (self.since, self.until) != (None, None)

    def where(self, now: datetime) -> tuple[sql.Composable, dict[str, object]]:
        """The WHERE clause's conditions, joined by AND (TRUE for none), and their parameters."""
        conditions: list[sql.Composable] = []
        params: dict[str, object] = {}
        for column, values in (("application_name", self.apps), ("environment_name", self.envs),
                               ("log_event", self.events), ("trace_id", self.traces)):
            if values:
                # One value is ``=``, which every index serves, the hash index on trace_id included.
                operator = sql.SQL("{} = {}") if len(values) == 1 else sql.SQL("{} = ANY({})")
                conditions.append(operator.format(sql.Identifier("logs", column), sql.Placeholder(column)))
                params[column] = values[0] if len(values) == 1 else list(values)
        if self.since is not None:
            conditions.append(sql.SQL("logs.time >= {}").format(sql.Placeholder("since")))
            params["since"] = instant(self.since, now)
        if self.until is not None:
            conditions.append(sql.SQL("logs.time < {}").format(sql.Placeholder("until")))
            params["until"] = instant(self.until, now)
        return sql.SQL(" AND ").join(conditions or [sql.SQL("TRUE")]), params


_COLUMNS = sql.SQL(", ").join(sql.Identifier("logs", name) for name in FIELDS)


def ensure_schema(conn: Connection) -> None:
    """A database no collector has used yet gets the schema, so that a query finds an empty table;
    a database that has ``logs`` is only read (a reader's role may not create anything)."""
    found = conn.execute("SELECT to_regclass('logs') IS NOT NULL").fetchone()
    if not (found and found[0]):
        conn.execute(sqlfiles.schema())


def latest(conn: Connection, filters: Filters, limit: int) -> list[Row]:
    """The ``limit`` newest records that ``filters`` selects, newest first."""
    where, params = filters.where(_utc_now())
    statement = sql.SQL("SELECT {columns} FROM logs WHERE {where} ORDER BY logs.time DESC LIMIT {limit}").format(
        columns=_COLUMNS, where=where, limit=sql.Placeholder("limit"))
    return conn.execute(statement, {**params, "limit": limit}).fetchall()


class Follower:
    """``tail --follow``: each look returns the rows committed since the last, each row once."""

    def __init__(self, conn: Connection, filters: Filters) -> None:
        self._conn = conn
        # REPEATABLE READ: every statement of a look sees the one snapshot the horizon comes from.
        conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        conn.read_only = True
        # Each look's parameters differ: plan each one with its values, never a generic plan that
        # would not know how little of the table ``time >= since`` leaves.
        conn.prepare_threshold = None
        self._filters = filters
        self._window = filters if filters.since is not None else replace(filters, since=FOLLOW_WINDOW)
        self._horizon = 0
        self._seen: dict[tuple[int, str], int] = {}  # (tableoid, ctid) -> the row's 64-bit xmin

    def start(self, limit: int) -> list[Row]:
        """The ``limit`` newest records, oldest first; from here on, only what is committed later."""
        with self._conn.transaction():
            rows = latest(self._conn, self._filters, limit) if limit else []
            self._look()  # what is visible now is not new: seen, not returned
        return rows[::-1]

    def look(self) -> list[Row]:
        """The rows committed since the last look, in ``time`` order."""
        with self._conn.transaction():
            return self._look()

    def _look(self) -> list[Row]:
        where, params = self._window.where(_utc_now())
        statement = sql.SQL(_CANDIDATES).format(columns=_COLUMNS, where=where, horizon=sql.Placeholder("horizon"))
        new: list[Row] = []
        for *row, table, place, xid in self._conn.execute(statement, {**params, "horizon": self._horizon}):
            if (table, place) not in self._seen:
                self._seen[table, place] = xid
                new.append(tuple(row))
        [(horizon,)] = self._conn.execute("SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint")
        self._horizon = horizon
        # Below the horizon a row is never a candidate again: it need not be remembered.
        self._seen = {key: xid for key, xid in self._seen.items() if xid >= horizon}
        return new


# The rows at or above the horizon, widened from 32-bit xmin to 64 bits by the snapshot's next ID:
# xid = next - ((next - xmin) mod 2^32). Frozen rows show xmin 2, which lands far below any horizon.
_CANDIDATES = """
SELECT * FROM (
    SELECT {columns}, logs.tableoid::bigint, logs.ctid::text,
           next_xid - ((next_xid - logs.xmin::text::bigint) & 4294967295) AS xid
    FROM logs, (SELECT pg_snapshot_xmax(pg_current_snapshot())::text::bigint AS next_xid) AS snapshot
    WHERE {where}
) AS recent
WHERE xid >= {horizon}
ORDER BY time
"""


def _utc_now() -> datetime:
    return datetime.now(timezone.utc)


def readable(row: Row) -> str:
    """One line for a person: time, app, environment, event, trace, file, host, data. A field with
    a control character (a newline, an escape) is shown JSON-quoted, so one record stays one line."""
    time, *texts, data = row
    shown = [_printable(str(text)) for text in texts]
    stamp = rfc3339.format_utc(time) if isinstance(time, datetime) else str(time)
    return " ".join([stamp, *shown, "" if data is None else JSON_ENCODER.encode(data)]).rstrip()


def canonical(row: Row) -> bytes:
    """The canonical line of the stored record (ENC-5); ProtocolError if a row put there by other
    means than a collector is no valid record."""
    return encode(Record(**dict(zip(FIELDS, row, strict=True))))


def _printable(text: str) -> str:
    return text if text.isprintable() and text else json.dumps(text, ensure_ascii=False)
