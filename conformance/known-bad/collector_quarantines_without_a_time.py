"""Fault: logs_rejected has no received_at column, so nobody can tell when a rejected line came (breaks PG-3)."""

import sys

from conforming_collector import SCHEMA, PostgresSink, main


class QuarantinesWithoutATime(PostgresSink):
    schema = SCHEMA.replace("received_at TIMESTAMPTZ NOT NULL DEFAULT now(), ", "")  # the fault


sys.exit(main(postgres=QuarantinesWithoutATime))
