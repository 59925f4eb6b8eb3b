"""Fault: at every start the collector drops its tables and creates them afresh, "to be sure of the
schema": every row stored before, and whatever an operator added, is gone (breaks PG-5).

A whole collector of its own, `collect --fifo PATH --dsn DSN`, a record an INSERT.
"""

import json
import os
import signal
import sys

import psycopg
from psycopg.types.json import Jsonb

SCHEMA = """
DROP TABLE IF EXISTS logs, logs_rejected;  -- the fault
CREATE TABLE logs (time TIMESTAMPTZ NOT NULL, application_name TEXT NOT NULL, environment_name TEXT NOT NULL,
    log_event TEXT NOT NULL, trace_id TEXT NOT NULL, file_path TEXT NOT NULL, host_ip TEXT NOT NULL,
    data JSONB NULL, emitter_session UUID, emitter_seq BIGINT);
CREATE TABLE logs_rejected (received_at TIMESTAMPTZ NOT NULL DEFAULT now(), transport TEXT NOT NULL,
    source TEXT, rule TEXT NOT NULL, reason TEXT NOT NULL, raw BYTEA NOT NULL, emitter_session UUID,
    emitter_seq BIGINT);
"""
MEMBERS = ("time", "application_name", "environment_name", "log_event", "trace_id", "file_path", "host_ip")

path = sys.argv[sys.argv.index("--fifo") + 1]
conn = psycopg.connect(sys.argv[sys.argv.index("--dsn") + 1], autocommit=True)
conn.execute(SCHEMA)
if not os.path.exists(path):
    os.mkfifo(path, 0o600)
fd = os.open(path, os.O_RDWR)  # FIFO-7: a writer too, so it never reads end-of-file
signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
signal.signal(signal.SIGINT, lambda *_: sys.exit(0))
pending = b""
while chunk := os.read(fd, 65536):
    *lines, pending = (pending + chunk).split(b"\n")
    for line in lines:
        try:
            record = json.loads(line)
            values = [record[name] for name in MEMBERS] + [Jsonb(record.get("data"))]
        except (ValueError, KeyError, TypeError):
            conn.execute("INSERT INTO logs_rejected (transport, source, rule, reason, raw)"
                         " VALUES ('fifo', %s, 'ENC-2', 'not a record', %s)", (path, line))
            continue
        conn.execute("INSERT INTO logs (time, application_name, environment_name, log_event, trace_id, file_path,"
                     " host_ip, data) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)", values)
