"""``logduct query`` with filters, ``logduct tail``, and where the commands find PostgreSQL, on a real
PostgreSQL (conftest's ``pg_dsn``)."""

from __future__ import annotations

import os
import signal
import subprocess
from collections.abc import Iterator, Mapping
from datetime import datetime, timedelta, timezone
from pathlib import Path

import psycopg
import pytest
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from rig import Rig

from logduct import cli, querying
from logduct.database import DSN_ENV, LIBPQ_VARIABLES, choose
from logduct.record import Record, encode
from logduct.sqlfiles import schema
from logduct_conformance.processes import REFERENCE, wait_for
from spec_ids import ROOT

NOW = datetime.now(timezone.utc).replace(microsecond=0)


@pytest.fixture(autouse=True)
def _now() -> None:
    """NOW, read again at each test: "10m ago" is counted from the query's clock, so the records a
    test stores must be placed by a clock read minutes, not a whole run, before."""
    global NOW
    NOW = datetime.now(timezone.utc).replace(microsecond=0)
#: Text a statement built by splicing would break on (PG-6).
HOSTILE = "it's \\ a \"name\"; DROP TABLE logs; --"


def record(n: int, *, app: str = "WebApp", env: str = "production", event: str = "login",
           minutes_ago: float = 0, data: dict[str, object] | None = None) -> Record:
    return Record(time=NOW - timedelta(minutes=minutes_ago, seconds=n), application_name=app, environment_name=env,
                  log_event=event, trace_id=f"trace-{n}", file_path="/app/login.py", host_ip="10.0.0.1",
                  data=data)


def insert(dsn: str, records: list[Record]) -> None:
    """Rows as the seed's own INSERT statements would store them, in one transaction."""
    with psycopg.connect(dsn) as conn:
        if conn.execute("SELECT to_regclass('logs')").fetchone() == (None,):
            conn.execute(schema())  # not every time: its ALTER TABLEs would wait for a test's open transaction
        for r in records:
            conn.execute("INSERT INTO logs (time, application_name, environment_name, log_event, trace_id, file_path,"
                         " host_ip, data) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
                         (r.time, r.application_name, r.environment_name, r.log_event, r.trace_id, r.file_path,
                          r.host_ip, psycopg.types.json.Jsonb(r.data) if r.data is not None else None))


def logduct(*args: str, env: Mapping[str, str] | None = None) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([*REFERENCE, *args], capture_output=True, timeout=120, check=False,
                          env=dict(env) if env is not None else None)


def clean_env(**extra: str) -> dict[str, str]:
    """This process's environment without any database variable, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if k != DSN_ENV and k not in LIBPQ_VARIABLES}
    return {**env, **extra}


# --- where the DSN comes from ---------------------------------------------------------------------

def test_the_dsn_comes_from_the_option_then_logduct_dsn_then_libpq_variables_then_the_embedded_server() -> None:
    option, ours = "postgresql://a:pw1@h1/db", "postgresql://b:pw2@h2/db"
    libpq = {"PGHOST": "h3", "PGPASSWORD": "pw3"}
    assert choose(option, {DSN_ENV: ours, **libpq}).dsn == option
    assert choose(None, {DSN_ENV: ours, **libpq}).dsn == ours
    assert choose(None, libpq).dsn == ""  # libpq reads its variables itself
    assert choose(None, {}).dsn is None
    assert choose(None, {"PGSSLMODE": "require", DSN_ENV: ""}).dsn is None  # tuning only, and an empty DSN: unset
    for described in (choose(option, {}).described, choose(None, {DSN_ENV: ours}).described,
                      choose(None, libpq).described):
        assert "pw" not in described, described  # COL-6
    assert "$LOGDUCT_DSN" in choose(None, {DSN_ENV: ours}).described
    assert "PGHOST=h3" in choose(None, libpq).described


def test_query_reads_logduct_dsn_and_libpq_variables(pg_dsn: str) -> None:
    insert(pg_dsn, [record(1, app="FromEnv")])
    params = {k: v for k, v in conninfo_to_dict(pg_dsn).items() if v}
    libpq = {f"PG{key.upper()}" if key != "dbname" else "PGDATABASE": str(value) for key, value in params.items()}
    for env in (clean_env(**{DSN_ENV: pg_dsn}), clean_env(**libpq)):
        done = logduct("query", "--app", "FromEnv", "--ndjson", env=env)
        assert (done.returncode, done.stdout) == (0, encode(record(1, app="FromEnv"))), done.stderr


def test_collect_names_the_database_of_logduct_dsn_without_its_password(pg_dsn: str, tmp_path: Path) -> None:
    """COL-6 for a DSN from the environment; the password is one the server does not even ask for."""
    env = clean_env(**{DSN_ENV: make_conninfo(pg_dsn, password="s3cret")})
    with open(tmp_path / "err", "wb") as err:
        popen = subprocess.Popen([*REFERENCE, "collect", "--fifo", str(tmp_path / "logs.fifo")], env=env, stderr=err)
    try:
        wait_for(lambda: "collecting from" in (tmp_path / "err").read_text() or popen.poll() is not None,
                 "the collector to start")
        popen.send_signal(signal.SIGTERM)
        assert popen.wait(60) == 0
    finally:
        popen.kill()
        popen.wait()
    errors = (tmp_path / "err").read_text()
    assert "(from $LOGDUCT_DSN)" in errors and "***" in errors and "s3cret" not in errors, errors


@pytest.mark.parametrize("env", [{DSN_ENV: "postgresql://me:s3cret@127.0.0.1:1/db?connect_timeout=5"},
                                 {DSN_ENV: "not a dsn password=s3cret"},
                                 {"PGHOST": "127.0.0.1", "PGPORT": "1", "PGPASSWORD": "s3cret",
                                  "PGCONNECT_TIMEOUT": "5"}],
                         ids=["LOGDUCT_DSN", "malformed-LOGDUCT_DSN", "PG-variables"])
@pytest.mark.parametrize("command", [["query"], ["tail"], ["collect", "--fifo", "{tmp}/f.fifo"]])
def test_an_unreachable_database_from_the_environment_is_one_line_and_exit_status_2(
        env: dict[str, str], command: list[str], tmp_path: Path) -> None:
    """A closed port on loopback: one line, status 2, no traceback, no password (COL-6)."""
    done = logduct(*(arg.format(tmp=tmp_path) for arg in command), env=clean_env(**env))
    errors = done.stderr.decode()
    assert done.returncode == 2, errors
    assert errors.count("\n") == 1 and errors.startswith("logduct: cannot reach PostgreSQL"), errors
    assert "s3cret" not in errors


# --- query's filters ----------------------------------------------------------------------------

@pytest.fixture
def stored(pg_dsn: str) -> list[Record]:
    """Six records of three apps, two environments, two events, spread over three hours."""
    records = [record(1, app="WebApp", event="login"),
               record(2, app="WebApp", event="login_error", minutes_ago=30),
               record(3, app="Billing", env="staging", event="charge", minutes_ago=90),
               record(4, app=HOSTILE, event=HOSTILE, minutes_ago=150, data={"note": HOSTILE}),
               record(5, app="WebApp", env="staging", event="login", minutes_ago=170),
               record(6, app="Billing", event="charge", minutes_ago=5)]
    insert(pg_dsn, records)
    return records


def selected(dsn: str, limit: int = 100, **filters: object) -> list[str]:
    """The trace ids ``querying.latest`` selects, newest first."""
    with psycopg.connect(dsn) as conn:
        return [row[4] for row in querying.latest(conn, querying.Filters(**filters), limit)]  # type: ignore[arg-type]


def test_each_filter_selects_what_it_names_newest_first(pg_dsn: str, stored: list[Record]) -> None:
    assert selected(pg_dsn) == [f"trace-{n}" for n in (1, 6, 2, 3, 4, 5)]
    assert selected(pg_dsn, apps=("WebApp",)) == ["trace-1", "trace-2", "trace-5"]
    assert selected(pg_dsn, apps=("WebApp", "Billing")) == ["trace-1", "trace-6", "trace-2", "trace-3", "trace-5"]
    assert selected(pg_dsn, envs=("staging",)) == ["trace-3", "trace-5"]
    assert selected(pg_dsn, events=("charge",)) == ["trace-6", "trace-3"]
    assert selected(pg_dsn, traces=("trace-4",)) == ["trace-4"]
    assert selected(pg_dsn, apps=("WebApp",), envs=("staging",)) == ["trace-5"]
    assert selected(pg_dsn, limit=2) == ["trace-1", "trace-6"]


def test_since_and_until_take_an_instant_or_a_duration_ago(pg_dsn: str, stored: list[Record]) -> None:
    assert selected(pg_dsn, since=timedelta(hours=1)) == ["trace-1", "trace-6", "trace-2"]
    assert selected(pg_dsn, since=timedelta(hours=2), until=timedelta(hours=1)) == ["trace-3"]
    assert selected(pg_dsn, until=NOW - timedelta(minutes=150, seconds=4)) == ["trace-5"]  # before, not at
    assert selected(pg_dsn, since=NOW - timedelta(minutes=150, seconds=4)) == [f"trace-{n}" for n in (1, 6, 2, 3, 4)]
    assert querying.parse_when("1h30m") == timedelta(minutes=90)
    assert querying.parse_when("2026-11-26T05:00:00+01:00") == datetime(2026, 11, 26, 4, tzinfo=timezone.utc)


def test_values_are_parameters_never_sql_text(pg_dsn: str, stored: list[Record]) -> None:
    """PG-6: a value made to break a spliced statement matches itself, and nothing else happens."""
    assert selected(pg_dsn, apps=(HOSTILE,), events=(HOSTILE,)) == ["trace-4"]
    assert selected(pg_dsn, apps=("' OR '1'='1",)) == []
    assert len(selected(pg_dsn)) == len(stored)


def test_query_prints_filtered_records_as_a_table_or_as_canonical_lines(pg_dsn: str, stored: list[Record]) -> None:
    done = logduct("query", "--dsn", pg_dsn, "--app", HOSTILE, "--ndjson")
    assert (done.returncode, done.stdout, done.stderr) == (0, encode(stored[3]), b"")
    done = logduct("query", "--dsn", pg_dsn, "--event", "charge", "--since", "1h")
    lines = done.stdout.decode().splitlines()
    assert done.returncode == 0, done.stderr
    assert lines[0].split() == ["time", "|", "application_name", "|", "environment_name", "|", "log_event", "|",
                                "trace_id", "|", "file_path", "|", "host_ip", "|", "data"]
    assert "trace-6" in lines[2] and lines[3:] == ["(1 row)", ""]


def test_named_queries_run_as_before_and_do_not_mix_with_filters(pg_dsn: str, stored: list[Record]) -> None:
    done = logduct("query", "--dsn", pg_dsn, "latest")
    assert done.returncode == 0 and done.stdout.startswith(b"-- latest: The five most recent records.\n")
    assert done.stdout.count(b"trace-") == 5
    done = logduct("query", "--dsn", pg_dsn, "latest", "--app", "WebApp")
    assert done.returncode == 2 and done.stderr.startswith(b"logduct: a named query keeps its own values")
    done = logduct("query", "--dsn", pg_dsn, "--since", "yesterday")
    assert done.returncode == 2 and b"neither an RFC 3339 date-time" in done.stderr
    for bad in (["--limit", "-1"], ["--follow", "--interval", "0"], ["--follow", "--interval", "nan"]):
        done = logduct("tail", "--dsn", pg_dsn, *bad)  # refused before anything is read: a poll without pause
        assert done.returncode == 2 and b"or more" in done.stderr, (bad, done.stderr)


def test_a_stored_row_that_is_no_valid_record_is_named_not_printed_as_ndjson(pg_dsn: str) -> None:
    """A plain INSERT can store what no emitter may send (REC-9: host_ip); --ndjson names it."""
    insert(pg_dsn, [record(1)])
    with psycopg.connect(pg_dsn) as conn:
        conn.execute("UPDATE logs SET host_ip = 'not an address'")
    done = logduct("query", "--dsn", pg_dsn, "--app", "WebApp", "--ndjson")
    assert (done.returncode, done.stdout) == (1, b"")
    assert done.stderr.decode().startswith("logduct: a stored row is not a valid record: REC-")


# --- tail ---------------------------------------------------------------------------------------

def test_tail_prints_the_newest_records_oldest_first_one_readable_line_each(pg_dsn: str,
                                                                          stored: list[Record]) -> None:
    done = logduct("tail", "--dsn", pg_dsn, "--limit", "3", "--since", "3h")
    lines = done.stdout.decode().splitlines()
    assert done.returncode == 0, done.stderr
    assert [line.split()[4] for line in lines] == ["trace-2", "trace-6", "trace-1"]
    assert lines[0].split()[:4] == [(NOW - timedelta(minutes=30, seconds=2)).isoformat()[:19] + ".000000Z",
                                    "WebApp", "production", "login_error"]
    done = logduct("tail", "--dsn", pg_dsn, "--app", HOSTILE)
    assert done.stdout.decode().count("\n") == 1  # a quote or a space in a field keeps the record on one line


def test_a_control_character_in_a_field_is_shown_escaped(pg_dsn: str) -> None:
    insert(pg_dsn, [record(1, event="two\nlines\x1b[31m")])
    done = logduct("tail", "--dsn", pg_dsn)
    assert done.stdout.decode().splitlines()[0].split()[3] == '"two\\nlines\\u001b[31m"'


@pytest.fixture
def follower(pg_dsn: str) -> Iterator[querying.Follower]:
    insert(pg_dsn, [])
    with psycopg.connect(pg_dsn, autocommit=True) as conn:
        yield querying.Follower(conn, querying.Filters())


def test_the_follower_returns_each_row_once_when_it_is_committed(pg_dsn: str, follower: querying.Follower) -> None:
    """Including a row inserted under a savepoint (as the ZeroMQ sink does) by a transaction that began
    before a look and committed after it: the case a plain snapshot comparison misses."""
    insert(pg_dsn, [record(1)])
    assert [row[4] for row in follower.start(limit=5)] == ["trace-1"]
    assert follower.look() == []
    with psycopg.connect(pg_dsn) as writer:
        writer.execute("SELECT pg_current_xact_id()")  # the transaction has its ID before the next look
        with writer.transaction():  # a savepoint: the row's xmin is a subtransaction's
            insert_row(writer, record(2))
        assert follower.look() == []  # not committed yet
        insert(pg_dsn, [record(3)])  # another writer commits meanwhile
        assert [row[4] for row in follower.look()] == ["trace-3"]
    assert [row[4] for row in follower.look()] == ["trace-2"]  # committed when the block ended
    assert follower.look() == []


def test_the_follower_shows_records_older_than_its_window_only_with_since(pg_dsn: str) -> None:
    insert(pg_dsn, [])
    with psycopg.connect(pg_dsn, autocommit=True) as a, psycopg.connect(pg_dsn, autocommit=True) as b:
        default = querying.Follower(a, querying.Filters())
        wide = querying.Follower(b, querying.Filters(since=timedelta(hours=3)))
        default.start(0), wide.start(0)
        insert(pg_dsn, [record(1, minutes_ago=60), record(2)])
        assert [row[4] for row in default.look()] == ["trace-2"]
        assert [row[4] for row in wide.look()] == ["trace-1", "trace-2"]


def insert_row(conn: psycopg.Connection[tuple[object, ...]], r: Record) -> None:
    conn.execute("INSERT INTO logs (time, application_name, environment_name, log_event, trace_id, file_path,"
                 " host_ip) VALUES (%s, %s, %s, %s, %s, %s, %s)",
                 (r.time, r.application_name, r.environment_name, r.log_event, r.trace_id, r.file_path, r.host_ip))


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_tail_follow_prints_what_collectors_commit_and_ends_cleanly_on_a_signal(rig: Rig, signum: int) -> None:
    before = [record(n, minutes_ago=1) for n in (1, 2, 3)]
    insert(rig.dsn, before)
    tail = rig.start("tail", "tail", "--dsn", rig.dsn, "--follow", "--ndjson", "--limit", "2", "--interval", "0.05")
    wait_for(lambda: tail.stdout.count(b"\n") >= 2 or tail.popen.poll() is not None, "tail's first lines")
    assert tail.stdout == b"".join(encode(r) for r in sorted(before[:2], key=lambda r: r.time))
    rig.collect_fifo()
    rig.collect_zmq()
    over_fifo = [record(n, app="OverFifo") for n in range(10, 20)]
    over_zmq = [record(n, app="OverZmq") for n in range(20, 30)]
    assert rig.emit_fifo(over_fifo, "emit-fifo").wait() == 0
    assert rig.emit_zmq(over_zmq, "emit-zmq").wait() == 0
    expected = {encode(r) for r in over_fifo + over_zmq}
    wait_for(lambda: tail.stdout.count(b"\n") >= 2 + len(expected) or tail.popen.poll() is not None,
             "tail to print every committed record")
    assert tail.stop(signum) == 0, tail.stderr
    printed = tail.stdout.splitlines(keepends=True)[2:]
    assert sorted(printed) == sorted(expected)  # each once, nothing else: not the third record from before
    assert tail.stderr == ""


def test_the_readme_states_tails_window_interval_and_limits_as_they_are() -> None:
    readme = " ".join((ROOT / "README.md").read_text(encoding="utf-8").split())
    parser = cli._parser()
    assert f"looks every {querying.FOLLOW_INTERVAL_S:g} s (`--interval`)" in readme
    assert f"in the last {querying.FOLLOW_WINDOW.total_seconds() / 60:g} minutes, or after `--since`" in readme
    assert f"({parser.parse_args(['tail']).limit} unless `--limit`)" in readme
    assert f"({parser.parse_args(['query']).limit} unless `--limit`)" in readme


def test_tail_follow_ends_quietly_when_its_reader_goes_away(pg_dsn: str, tmp_path: Path) -> None:
    """`logduct tail --follow | head -n 1`: head leaves after one line; tail's next write finds no
    reader and tail ends with status 0 and nothing on stderr, as `yes | head -n 1` does."""
    insert(pg_dsn, [record(1)])
    script = (f"{' '.join(REFERENCE)} tail --dsn '{pg_dsn}' --follow --limit 1 --interval 0.05 2>{tmp_path}/err"
              f" | head -n 1; echo \"status ${{PIPESTATUS[0]}}\"")
    with open(tmp_path / "out", "wb") as out:
        pipeline = subprocess.Popen(["bash", "-c", script], stdout=out)
    try:
        wait_for(lambda: (tmp_path / "out").read_bytes().count(b"\n") >= 1, "head's one line")
        insert(pg_dsn, [record(2)])  # tail's next line finds the pipe closed
        assert pipeline.wait(60) == 0
    finally:
        pipeline.kill()
        pipeline.wait()
    lines = (tmp_path / "out").read_text().splitlines()
    assert lines[0].split()[4] == "trace-1" and lines[1:] == ["status 0"]
    assert (tmp_path / "err").read_text() == ""
