"""What the indexes of sql/schema.sql cost at ingest, against no index and against the obvious set.

    python -m bench.schema_cost [--rows 200000] [--batch 2000] [--dsn DSN]

Each variant COPYs the same ready rows (the reference's own binary COPY rows of ~250-byte records)
into a fresh ``logs`` table in batches, one transaction each, and reports rows/s and the ratio to
the table with no index, all in one run on one server. Without --dsn it uses an embedded PostgreSQL.
"""

from __future__ import annotations

import argparse
import platform
import shutil
import statistics
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

import orjson
import psycopg
from psycopg.types.json import set_json_dumps

from logduct import copy_format, sqlfiles
from logduct.embedded import embedded_dsn

from .records import copy_rows

#: The obvious choice: an index on each column a seed query filters or sorts on, GIN for data.
OBVIOUS_INDEXES = [
    "CREATE INDEX ON logs (time)",
    "CREATE INDEX ON logs (trace_id)",
    "CREATE INDEX ON logs (host_ip)",
    "CREATE INDEX ON logs (log_event, time)",
    "CREATE INDEX ON logs USING gin (data)",
]


def schema_without_indexes() -> str:
    return ";\n".join(statement for statement in sqlfiles.schema().split(";\n")
                      if "CREATE TABLE" in statement) + ";"


def ingest(conn: psycopg.Connection[tuple[object, ...]], setup: list[str], rows: list[copy_format.LogsRow],
           batch: int) -> float:
    """Rows per second COPYing ``rows`` into a fresh logs table made by ``setup``: binary COPY of
    ready rows (copy_format.py), as the collector's sink does, in batches as its."""
    conn.execute("DROP TABLE IF EXISTS logs, logs_rejected")
    for statement in setup:
        conn.execute(statement)
    set_json_dumps(orjson.dumps, context=conn)  # as the sink does
    copy_statement = psycopg.sql.SQL("COPY logs ({}) FROM STDIN (FORMAT BINARY)").format(
        psycopg.sql.SQL(", ").join(map(psycopg.sql.Identifier, copy_format.LOGS_COLUMNS)))
    began = time.perf_counter()
    for first in range(0, len(rows), batch):
        with conn.transaction(), conn.cursor().copy(copy_statement) as copy:
            copy.set_types(copy_format.LOGS_TYPES)
            for row in rows[first:first + batch]:
                copy.write_row(row)
    return len(rows) / (time.perf_counter() - began)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--batch", type=int, default=2_000)
    parser.add_argument("--rounds", type=int, default=3, help="runs of each variant, interleaved; the median counts")
    parser.add_argument("--dsn")
    args = parser.parse_args()
    rows = copy_rows(args.rows)
    with ExitStack() as stack:
        dsn = args.dsn or stack.enter_context(embedded_dsn(_scratch_dir(stack)))
        with psycopg.connect(dsn, autocommit=True) as conn:
            version = conn.info.parameter_status("server_version")
            variants = {
                "no index": [schema_without_indexes()],
                "logduct (sql/schema.sql)": [sqlfiles.schema()],
                "obvious: btree on each column + GIN(data)": [schema_without_indexes(), *OBVIOUS_INDEXES],
            }
            runs: dict[str, list[float]] = {name: [] for name in variants}
            for _ in range(args.rounds):  # interleaved, so that a slow spell of the machine hits all
                for name, setup in variants.items():
                    runs[name].append(ingest(conn, setup, rows, args.batch))
            rates = {name: statistics.median(rates) for name, rates in runs.items()}
            conn.execute("DROP TABLE IF EXISTS logs, logs_rejected")
    base = rates["no index"]
    print(f"COPY of {args.rows:,} rows in batches of {args.batch:,}, median of {args.rounds}; PostgreSQL {version}, "
          f"Python {platform.python_version()}, {platform.machine()}")
    for name, rate in rates.items():
        print(f"  {name:<45} {rate:>10,.0f} rows/s  {rate / base:5.2f} x no index")


def _scratch_dir(stack: ExitStack) -> Path:
    folder = Path(tempfile.mkdtemp(prefix="logduct-bench-"))
    stack.callback(shutil.rmtree, folder, ignore_errors=True)
    return folder / "data"


if __name__ == "__main__":
    main()
