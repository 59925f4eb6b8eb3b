"""Fault: logs gets a column of the collector's own, received_at, NOT NULL with no default: the collector
fills it, but the seed's INSERT, which names only the eight columns, fails (breaks PG-2)."""

import sys

from conforming_collector import SCHEMA, PostgresSink, main


class AddsAColumnWithoutDefault(PostgresSink):
    schema = SCHEMA + "ALTER TABLE logs ADD COLUMN IF NOT EXISTS received_at TIMESTAMPTZ NOT NULL;\n"  # the fault
    insert_logs = PostgresSink.insert_logs.replace("(time,", "(received_at, time,").replace("(%s,", "(now(), %s,")


sys.exit(main(postgres=AddsAColumnWithoutDefault))
