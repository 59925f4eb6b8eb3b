"""Fault: at every start the collector drops its tables and creates them afresh, "to be sure of the
schema": every row stored before, and whatever an operator added, is gone (breaks PG-5)."""

import sys
from typing import Any

import psycopg
from conforming_collector import PostgresSink, main


class RecreatesItsTables(PostgresSink):
    def create_schema(self, conn: psycopg.Connection[Any]) -> None:
        with conn.transaction():
            conn.execute("DROP TABLE IF EXISTS logs, logs_rejected")  # the fault
        super().create_schema(conn)


sys.exit(main(postgres=RecreatesItsTables))
