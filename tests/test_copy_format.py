"""COPY rows (binary format): the values each column gets, and a real PostgreSQL reads back exactly
what was written."""

from __future__ import annotations

import uuid
from datetime import datetime, timezone
from typing import Any

import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from reference_records import as_oracle, records

from logduct import sqlfiles
from logduct.batching import Accepted, Batch, Rejection
from logduct.copy_format import LOGS_COLUMNS, LOGS_TYPES, REJECTED_COLUMNS, REJECTED_TYPES, logs_row, rejected_row
from logduct.delivery import Delivery
from logduct.record import Record, encode
from logduct.sink import PostgresSink
from logduct_conformance.compare import unmatched
from logduct_conformance.processes import rejected_rows, stored_records

RECORD = Record(time=datetime(2018, 11, 1, 14, 3, 51, 123456, tzinfo=timezone.utc), application_name="a\tb",
                environment_name="c\\d", log_event="e\nf", trace_id="g\rh", file_path="/p", host_ip="10.0.0.1",
                data={"k": "v\\w\n"})


def test_rows_hold_a_value_for_each_column_and_type() -> None:
    """A logs row is the record's values in LOGS_COLUMNS' order, then the delivery key (ZMQ-3)."""
    assert len(LOGS_COLUMNS) == len(LOGS_TYPES) and len(REJECTED_COLUMNS) == len(REJECTED_TYPES)
    session = uuid.UUID(int=1)
    row = logs_row(RECORD, session, 7)
    assert dict(zip(LOGS_COLUMNS, row, strict=True)) == {
        "time": RECORD.time, "application_name": "a\tb", "environment_name": "c\\d", "log_event": "e\nf",
        "trace_id": "g\rh", "file_path": "/p", "host_ip": "10.0.0.1", "data": {"k": "v\\w\n"},
        "emitter_session": session, "emitter_seq": 7}
    assert logs_row(RECORD)[-2:] == (None, None)


def test_rejected_row_keeps_raw_bytes_and_escapes_what_text_cannot_hold() -> None:
    """PG-3: raw bytes as they came; U+0000 and surrogates in a reason or a source are escaped, since
    PostgreSQL's text cannot hold them."""
    row = rejected_row("fifo", "/run/x\udcff", "ENC-1", "bad\x00 byte", b"\xff\x00\n")
    assert row == ("fifo", "/run/x\\udcff", "ENC-1", "bad\\x00 byte", b"\xff\x00\n", None, None)


def test_sink_stores_records_and_rejections_in_one_batch(pg_dsn: str) -> None:
    """PostgresSink writes a batch's records to logs and its rejections to logs_rejected."""
    sink = PostgresSink(pg_dsn)
    raw = b"\x00\xff not json\n"
    written = sink.write(Batch(records=[Accepted(RECORD)], rejections=[Rejection("fifo", "/f", "ENC-1", "why", raw)]))
    sink.close()
    assert (written.stored, written.duplicates) == (1, 0)
    assert unmatched([as_oracle(RECORD)], stored_records(pg_dsn)) == ([], [])
    assert rejected_rows(pg_dsn) == [("fifo", "ENC-1", "why", raw)]


def test_sink_quarantines_a_row_postgres_refuses_and_keeps_the_rest(pg_dsn: str) -> None:
    """COL-2: a row the database refuses (here a CHECK added for the test) costs only itself."""
    with psycopg.connect(pg_dsn, autocommit=True) as conn:
        conn.execute(sqlfiles.schema())
        conn.execute("ALTER TABLE logs ADD CONSTRAINT no_bad CHECK (log_event <> 'bad')")
    good = [Record(time=RECORD.time, application_name="a", environment_name="e", log_event=f"ok{i}",
                   trace_id="t", file_path="f", host_ip="10.0.0.1") for i in range(3)]
    bad = Record(time=RECORD.time, application_name="a", environment_name="e", log_event="bad", trace_id="t",
                 file_path="f", host_ip="10.0.0.1")
    sink = PostgresSink(pg_dsn)
    written = sink.write(Batch(records=[Accepted(r) for r in (good[0], bad, good[1], good[2])]))
    sink.close()
    assert (written.stored, written.refused_by_database) == (3, 1)
    assert sorted(r.log_event for r in stored_records(pg_dsn)) == ["ok0", "ok1", "ok2"]
    [(transport, rule, reason, raw)] = rejected_rows(pg_dsn)
    assert (transport, rule) == ("copy", "COL-2") and "no_bad" in reason and raw == encode(bad)


@settings(max_examples=25, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(batch=st.lists(records(), min_size=1, max_size=30))
def test_any_valid_records_survive_copy_unchanged(pg_dsn: str, batch: list[Any]) -> None:
    """Generated records, hostile text included, go through COPY and come back equal."""
    with psycopg.connect(pg_dsn, autocommit=True) as conn:
        conn.execute(sqlfiles.schema())
        conn.execute("TRUNCATE logs")
    sink = PostgresSink(pg_dsn)
    assert sink.write(Batch(records=[Accepted(r) for r in batch])).stored == len(batch)
    sink.close()
    assert unmatched([as_oracle(r) for r in batch], stored_records(pg_dsn)) == ([], [])


def _seed_like(count: int, event: str = "ok") -> list[Record]:
    return [Record(time=RECORD.time, application_name="a", environment_name="e", log_event=f"{event}{i}",
                   trace_id="t", file_path="f", host_ip="10.0.0.1", data={"n": i}) for i in range(count)]


def test_a_batch_begun_and_refused_by_postgresql_is_stored_row_by_row(pg_dsn: str) -> None:
    """COL-2 on the collector's own way in: a COPY sent by ``begin`` that PostgreSQL refuses whole
    is stored again the careful way, the refused row quarantined and its neighbours stored."""
    with psycopg.connect(pg_dsn, autocommit=True) as conn:
        conn.execute(sqlfiles.schema())
        conn.execute("TRUNCATE logs, logs_rejected")
        conn.execute("ALTER TABLE logs ADD CONSTRAINT no_bad CHECK (log_event <> 'bad0')")
    try:
        sink = PostgresSink(pg_dsn)
        records = [*_seed_like(2), *_seed_like(1, "bad"), *_seed_like(3, "late")]
        written = sink.begin(Batch(records=[Accepted(r) for r in records])).result()
        sink.close()
        assert (written.stored, written.refused_by_database) == (5, 1)
        assert len(stored_records(pg_dsn)) == 5 and [row[1] for row in rejected_rows(pg_dsn)] == ["COL-2"]
    finally:
        with psycopg.connect(pg_dsn, autocommit=True) as conn:
            conn.execute("ALTER TABLE logs DROP CONSTRAINT no_bad")


def test_a_batch_begun_is_stored_once_when_its_connection_is_cut_before_its_result(
        pg_dsn: str, capfd: pytest.CaptureFixture[str]) -> None:
    """COL-9 while a commit is in flight: the server ends the sink's session after the rows were sent
    and before PostgreSQL stored them (they wait on a delivery key another transaction holds). The
    sink stores the batch again once it can, every record exactly once (ZMQ-6, PG-4)."""
    session = uuid.uuid4()
    records = _seed_like(10)
    with psycopg.connect(pg_dsn, autocommit=True) as conn:
        conn.execute(sqlfiles.schema())
        conn.execute("TRUNCATE logs, logs_rejected")
        sink = PostgresSink(pg_dsn)
        with conn.transaction(force_rollback=True):  # holds delivery (session, 1) until rolled back
            conn.execute("INSERT INTO logs (time, application_name, environment_name, log_event, trace_id,"
                         " file_path, host_ip, emitter_session, emitter_seq)"
                         " VALUES (now(), 'x', 'x', 'x', 'x', 'x', '10.0.0.1', %s, 1)", [session])
            commit = sink.begin(Batch(records=[Accepted(r, Delivery(session, n))
                                               for n, r in enumerate(records, start=1)]))
            conn.execute("SELECT pg_terminate_backend(%s)", [sink._conn.info.backend_pid])
            assert not any(row for row in conn.execute("SELECT 1 FROM logs WHERE emitter_session = %s"
                                                       " AND emitter_seq > 1", [session]))
        written = commit.result()
    sink.close()
    assert written.stored == len(records)
    assert unmatched([as_oracle(r) for r in records], stored_records(pg_dsn)) == ([], [])
    said = capfd.readouterr().err  # COL-9: the fault and the recovery, once each
    assert said.count("keeping the batch and retrying") == 1 and said.count("PostgreSQL works again") == 1, said


def test_a_batch_prepared_while_the_one_before_commits_is_stored_as_prepared(
        pg_dsn: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The collector's order (collector.py, ``_commit``): the next batch is formatted while the
    commit before it is in flight on the same connection, then sent once that commit is settled.
    PostgreSQL must take both as sent: the careful path, which would mend a bad COPY, is shut."""
    with psycopg.connect(pg_dsn, autocommit=True) as conn:
        conn.execute(sqlfiles.schema())
        conn.execute("TRUNCATE logs, logs_rejected")
    sink = PostgresSink(pg_dsn)

    def refuse(batch: Batch) -> None:
        raise AssertionError("PostgreSQL refused a COPY as it was sent")
    monkeypatch.setattr(sink, "_write_after_failed_fast_path", refuse)
    first, second = _seed_like(300, "first"), _seed_like(300, "second")
    in_flight = sink.begin(Batch(records=[Accepted(r) for r in first]))
    prepared = Batch(records=[Accepted(r) for r in second])
    sink.prepare(prepared)
    assert prepared.prepared is not None
    assert in_flight.result().stored == len(first)
    assert sink.begin(prepared).result().stored == len(second)
    sink.close()
    assert unmatched([as_oracle(r) for r in first + second], stored_records(pg_dsn)) == ([], [])


def test_a_batch_prepared_before_its_connection_is_lost_is_stored_the_careful_way(
        pg_dsn: str, capfd: pytest.CaptureFixture[str]) -> None:
    """COL-9 between ``prepare`` and ``begin``: what was prepared is of no use on a connection that
    is gone, and the batch is stored all the same, once."""
    with psycopg.connect(pg_dsn, autocommit=True) as conn:
        conn.execute(sqlfiles.schema())
        conn.execute("TRUNCATE logs, logs_rejected")
        sink = PostgresSink(pg_dsn)
        records = _seed_like(10)
        batch = Batch(records=[Accepted(r) for r in records])
        sink.prepare(batch)
        conn.execute("SELECT pg_terminate_backend(%s)", [sink._conn.info.backend_pid])
    assert sink.begin(batch).result().stored == len(records)
    sink.close()
    assert unmatched([as_oracle(r) for r in records], stored_records(pg_dsn)) == ([], [])
    assert "PostgreSQL works again" in capfd.readouterr().err
