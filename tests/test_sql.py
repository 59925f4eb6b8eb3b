"""sql/ on a real PostgreSQL: the seed's table, statements and queries, the indexes, the delivery key."""

from __future__ import annotations

import json
import uuid
from typing import Any

import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from psycopg.types.json import Jsonb, set_json_loads
from reference_records import as_oracle

from logduct import sqlfiles
from logduct.record import Record, decode
from logduct_conformance import load_vectors, oracle
from logduct_conformance.compare import loads_stored_json, unmatched
from logduct_conformance.processes import stored_records
from logduct_conformance.strategies import records

Conn = psycopg.Connection[Any]

SEED_COLUMNS = [
    ("time", "timestamp with time zone", "NO"), ("application_name", "text", "NO"),
    ("environment_name", "text", "NO"), ("log_event", "text", "NO"), ("trace_id", "text", "NO"),
    ("file_path", "text", "NO"), ("host_ip", "text", "NO"), ("data", "jsonb", "YES"),
]
INSERT = ("INSERT INTO logs (time, application_name, environment_name, log_event, trace_id, file_path,"
          " host_ip, data) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)")


def insert(conn: Conn, records: list[Record] | list[oracle.Record]) -> None:
    with conn.cursor() as cur:
        cur.executemany(INSERT, [(r.time, r.application_name, r.environment_name, r.log_event, r.trace_id,
                                  r.file_path, r.host_ip, None if r.data is None else Jsonb(r.data))
                                 for r in records])


@pytest.fixture
def db(pg_conn: Conn) -> Conn:
    pg_conn.execute(sqlfiles.schema())
    set_json_loads(loads_stored_json, pg_conn)
    return pg_conn


def test_logs_has_the_seed_columns_first_and_defaults_after(db: Conn) -> None:
    """PG-1, PG-2: the seed's eight columns exactly, then only columns with defaults or NULL."""
    columns = db.execute("SELECT column_name, data_type, is_nullable, column_default FROM"
                         " information_schema.columns WHERE table_name = 'logs' ORDER BY ordinal_position"
                         ).fetchall()
    assert [c[:3] for c in columns[:8]] == SEED_COLUMNS
    assert all(nullable == "YES" or default is not None for _, _, nullable, default in columns[8:])


def test_schema_can_run_again_on_a_live_database(db: Conn) -> None:
    """PG-5: every statement is idempotent; the rows already stored stay."""
    db.execute(sqlfiles.named_statements("examples.sql")["insert_one"].sql)
    db.execute(sqlfiles.schema())
    assert db.execute("SELECT count(*) FROM logs").fetchone() == (1,)


def test_seed_inserts_run_unchanged(db: Conn) -> None:
    """PG-1: the seed's single and bulk INSERTs store three rows."""
    examples = sqlfiles.named_statements("examples.sql")
    assert list(examples) == ["insert_one", "insert_bulk"]
    for statement in examples.values():
        db.execute(statement.sql)
    assert db.execute("SELECT application_name, data->>'user' FROM logs ORDER BY application_name"
                      ).fetchall() == [("LoadBalancer", None), ("WebApp", "Shawn Corey Carter"),
                                       ("WebApp", "Shawn Corey Carter")]


def test_seed_queries_return_what_a_model_of_the_rows_predicts(db: Conn) -> None:
    """The five seed queries, run as written, select exactly the rows a Python model selects."""
    base = decode(load_vectors()[0].line)
    rows = []
    for i in range(40):
        data: dict[str, Any] | None = {"n": i}
        if i % 7 == 0:
            data = {"n": i, "traceback": f"Traceback #{i}"}
        elif i % 11 == 0:
            data = {"n": i, "traceback": None}  # ->> gives NULL: not selected
        elif i % 13 == 0:
            data = None
        rows.append(Record(
            time=base.time.replace(minute=i), application_name="WebApp", environment_name="production",
            log_event="login_error" if i % 3 == 0 else "login",
            trace_id="bfb95991-ae1b-4f7b-bc11-024dc53b964f" if i % 5 == 0 else str(uuid.UUID(int=i)),
            file_path=f"/app/{i}.py", host_ip="172.18.0.3" if i % 2 else "172.18.0.4", data=data))
    insert(db, rows)
    queries = sqlfiles.named_statements("queries.sql")
    assert list(queries) == ["latest", "by_trace_id", "by_host_ip", "login_errors", "with_traceback"]
    newest = sorted(rows, key=lambda r: r.time, reverse=True)

    def n_of(result: list[tuple[Any, ...]], data_column: int) -> list[int]:
        return [row[data_column]["n"] for row in result]

    latest = db.execute(queries["latest"].sql).fetchall()
    assert [r[0] for r in latest] == [r.time for r in newest[:5]]
    by_trace = db.execute(queries["by_trace_id"].sql).fetchall()
    assert sorted(r[7]["n"] for r in by_trace) == [i for i in range(40) if i % 5 == 0 and rows[i].data]
    assert len(by_trace) == sum(1 for i in range(40) if i % 5 == 0)
    assert len(db.execute(queries["by_host_ip"].sql).fetchall()) == 20
    errors = db.execute(queries["login_errors"].sql).fetchall()
    assert [file_path for _, file_path in errors] == [
        r.file_path for r in newest if r.log_event == "login_error"][:5]
    tracebacks = db.execute(queries["with_traceback"].sql).fetchall()
    assert sorted(n_of(tracebacks, 1)) == [i for i in range(40) if i % 7 == 0]


@pytest.mark.parametrize(("name", "index"), [
    ("latest", "logs_time_idx"), ("by_trace_id", "logs_trace_id_idx"),
    ("login_errors", "logs_log_event_time_idx"), ("with_traceback", "logs_traceback_idx"),
])
def test_seed_query_plan_uses_its_index(db: Conn, name: str, index: str) -> None:
    """Each indexed seed query is planned on its index once the table is large."""
    db.execute("""
        INSERT INTO logs (time, application_name, environment_name, log_event, trace_id, file_path, host_ip,
                          data)
        SELECT now() - i * interval '1 second', 'WebApp', 'production', 'event_' || (i % 50),
               md5(i::text), '/app.py', '172.18.0.' || (i % 4),
               CASE WHEN i % 1000 = 0 THEN '{"traceback": "x"}'::jsonb ELSE '{"n": 1}'::jsonb END
        FROM generate_series(1, 20000) AS i""")
    db.execute("ANALYZE logs")
    plan = db.execute("EXPLAIN (FORMAT JSON) " + sqlfiles.named_statements("queries.sql")[name].sql
                      ).fetchone()[0]  # type: ignore[index]
    assert index in json.dumps(plan), json.dumps(plan, indent=1)


def test_delivery_key_is_unique_and_plain_inserts_are_not_keyed(db: Conn) -> None:
    """PG-4: one (emitter_session, emitter_seq) stores once; rows without a key never collide."""
    db.execute(sqlfiles.named_statements("examples.sql")["insert_bulk"].sql)
    keyed = ("INSERT INTO logs (time, application_name, environment_name, log_event, trace_id, file_path,"
             " host_ip, emitter_session, emitter_seq)"
             " VALUES (now(), 'a', 'e', 'l', 't', 'f', '10.0.0.1', %s, %s) ON CONFLICT DO NOTHING")
    session = uuid.uuid4()
    for seq in (1, 2, 1, 2, 3):
        db.execute(keyed, (session, seq))
    db.execute(keyed, (uuid.uuid4(), 1))
    assert db.execute("SELECT count(*) FROM logs").fetchone() == (6,)
    with pytest.raises(psycopg.errors.UniqueViolation):
        db.execute(keyed.removesuffix(" ON CONFLICT DO NOTHING"), (session, 3))


def test_rejected_table_takes_any_bytes(db: Conn) -> None:
    """PG-3: the quarantine stores raw bytes PostgreSQL text could not, with rule and reason."""
    raw = b"\x00\xff\xfe{\"\\u0000\"}\n"
    db.execute("INSERT INTO logs_rejected (transport, source, rule, reason, raw) VALUES (%s, %s, %s, %s, %s)",
               ("fifo", "/run/logduct.fifo", "ENC-1", "not UTF-8", raw))
    assert db.execute("SELECT rule, raw FROM logs_rejected").fetchone() == ("ENC-1", raw)


def test_every_valid_vector_is_storable_in_one_batch(db: Conn, pg_dsn: str) -> None:
    """What the reference accepts, PostgreSQL stores: all valid vectors in one transaction."""
    valid = [decode(v.line) for v in load_vectors() if v.verdict == "accept"]
    with db.transaction():
        insert(db, valid)
    assert unmatched([as_oracle(r) for r in valid], stored_records(pg_dsn)) == ([], [])


@settings(max_examples=30, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(records(), min_size=1, max_size=20))
def test_generated_records_are_stored_as_they_are(db: Conn, pg_dsn: str, batch: list[oracle.Record]) -> None:
    """Any valid records go into PostgreSQL in one batch and come back equal (REC-6, PG-7)."""
    db.execute("TRUNCATE logs")
    with db.transaction():
        insert(db, batch)
    assert unmatched(batch, stored_records(pg_dsn)) == ([], [])


SEED_TABLE = """
CREATE TABLE logs (
    time                TIMESTAMPTZ       NOT NULL,
    application_name    TEXT              NOT NULL,
    environment_name    TEXT              NOT NULL,
    log_event           TEXT              NOT NULL,
    trace_id            TEXT              NOT NULL,
    file_path           TEXT              NOT NULL,
    host_ip             TEXT              NOT NULL,
    data                JSONB             NULL
)"""


def test_schema_adopts_a_database_made_by_the_seed(pg_conn: Conn) -> None:
    """PG-5: on the seed's own 8-column logs table, with rows, the schema adds what it needs and keeps them."""
    pg_conn.execute(SEED_TABLE)
    for statement in sqlfiles.named_statements("examples.sql").values():
        pg_conn.execute(statement.sql)
    pg_conn.execute(sqlfiles.schema())
    pg_conn.execute(sqlfiles.schema())
    assert pg_conn.execute("SELECT count(*), count(emitter_session) FROM logs").fetchone() == (3, 0)
    keyed = ("INSERT INTO logs (time, application_name, environment_name, log_event, trace_id, file_path,"
             " host_ip, emitter_session, emitter_seq) VALUES (now(), 'a', 'e', 'l', 't', 'f', '10.0.0.1', %s, 1)"
             " ON CONFLICT DO NOTHING")
    session = uuid.uuid4()
    pg_conn.execute(keyed, (session,))
    pg_conn.execute(keyed, (session,))
    assert pg_conn.execute("SELECT count(*) FROM logs").fetchone() == (4,)


def test_schema_upgrades_a_quarantine_made_before_it_had_the_delivery_key(pg_conn: Conn) -> None:
    """PG-5: a logs_rejected of an earlier logduct, without emitter_session, gets the columns it lacks."""
    pg_conn.execute("CREATE TABLE logs_rejected (received_at TIMESTAMPTZ NOT NULL DEFAULT now(), transport TEXT"
                    " NOT NULL, source TEXT NULL, rule TEXT NOT NULL, reason TEXT NOT NULL, raw BYTEA NOT NULL)")
    pg_conn.execute(sqlfiles.schema())
    columns = [c for (c,) in pg_conn.execute("SELECT column_name FROM information_schema.columns WHERE"
                                             " table_name = 'logs_rejected' ORDER BY ordinal_position")]
    assert columns[-2:] == ["emitter_session", "emitter_seq"]
