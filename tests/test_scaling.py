"""Growing past one collector and one table (docs/scaling.md): what of it runs on this machine."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

import psycopg

from logduct import sqlfiles
from logduct.delivery import encode_message
from logduct.record import Record, encode
from logduct_conformance.peers import RawDealer
from logduct_conformance.processes import REFERENCE, Process, count_rows, delivery_report, stored_records, wait_for


def test_partitioned_logs_take_records_deduplicate_and_drop_a_month(tmp_path: Path, pg_dsn: str) -> None:
    """sql/partitioned.sql: the collector keeps it, stores across months once each, and a month drops whole."""
    with psycopg.connect(pg_dsn, autocommit=True) as conn:
        conn.execute(sqlfiles.read("partitioned.sql"))
    endpoint = f"ipc://{tmp_path}/collector.ipc"
    collector = Process([*REFERENCE, "collect", "--zmq", endpoint, "--dsn", pg_dsn], tmp_path, "collector")
    wait_for(lambda: "collecting from ZeroMQ" in collector.stderr, "the collector to bind")
    this_month = datetime.now(timezone.utc).replace(day=1, hour=12, minute=0, second=0, microsecond=0)
    months = [this_month - timedelta(days=20), this_month, this_month + timedelta(days=40),
              datetime(2001, 1, 1, tzinfo=timezone.utc)]  # the last: no monthly partition, so the default one
    records = [Record(time=months[n % 4] + timedelta(seconds=n), application_name="app", environment_name="test",
                      log_event="request", trace_id=f"t-{n}", file_path="/a.py", host_ip="10.0.0.1")
               for n in range(400)]
    dealer = RawDealer(endpoint)
    session = uuid.uuid4()
    message = encode_message(session, 1, [encode(r)[:-1] for r in records])
    dealer.send(message)
    dealer.send(message)  # a resend of every record
    assert len(dealer.acks(2)) == 2
    assert collector.stop() == 0
    dealer.close()
    assert delivery_report(records, stored_records(pg_dsn)) == (0, 0, 0)
    with psycopg.connect(pg_dsn, autocommit=True) as conn:
        assert conn.execute("SELECT relkind FROM pg_class WHERE relname = 'logs'").fetchone() == ("p",)
        for statement in sqlfiles.named_statements("queries.sql").values():
            conn.execute(statement.sql)
        assert conn.execute("SELECT count(*) FROM logs_default").fetchone() == (100,)
        month = f"logs_{(this_month + timedelta(days=40)).strftime('%Y_%m')}"
        conn.execute(psycopg.sql.SQL("DROP TABLE {}").format(psycopg.sql.Identifier(month)))
    assert count_rows(pg_dsn) == 300
