"""Fault: the collector says where it stores, and the DSN it prints holds the password (breaks COL-6)."""

import sys
from typing import Any

import psycopg
from conforming_collector import PostgresSink, main, say


class PrintsItsDsn(PostgresSink):
    def connect(self) -> psycopg.Connection[Any]:
        if self.conn is None:
            say(f"storing into {self.dsn}")  # the fault: the password with it
        return super().connect()


sys.exit(main(postgres=PrintsItsDsn))
