-- logduct schema, protocol version 1 (SPEC.md section 7).
-- Every statement is idempotent (PG-5): a collector runs this file at every start.

-- PG-1: the seed's eight columns, with exactly its names, types and nullability; PG-7: time is
-- TIMESTAMPTZ, data JSONB.
-- PG-2: the columns after them have defaults, so the seed's INSERT statements work unchanged.
CREATE TABLE IF NOT EXISTS logs (
    time                TIMESTAMPTZ       NOT NULL,
    application_name    TEXT              NOT NULL,
    environment_name    TEXT              NOT NULL,
    log_event           TEXT              NOT NULL,
    trace_id            TEXT              NOT NULL,
    file_path           TEXT              NOT NULL,
    host_ip             TEXT              NOT NULL,
    data                JSONB             NULL,
    -- The ZeroMQ delivery key (ZMQ-3): NULL for records that came over a FIFO or a plain INSERT.
    emitter_session     UUID              NULL DEFAULT NULL,
    emitter_seq         BIGINT            NULL DEFAULT NULL
);
-- A logs table made by the seed's own SQL, or by an earlier logduct, lacks the columns added since:
-- add them, so that logduct can adopt an existing database (PG-5).
ALTER TABLE logs ADD COLUMN IF NOT EXISTS emitter_session UUID NULL DEFAULT NULL;
ALTER TABLE logs ADD COLUMN IF NOT EXISTS emitter_seq BIGINT NULL DEFAULT NULL;

-- Indexes: one per seed query that needs one, and no more, because every index is paid for on
-- every row ingested (bench/schema_cost.py measures what each costs).
--   latest:          ORDER BY time DESC LIMIT 5
CREATE INDEX IF NOT EXISTS logs_time_idx ON logs (time);
--   by_trace_id:     WHERE trace_id = $1. A hash index: the query only ever tests equality, and
--   trace ids are random, which makes a btree pay for scattered page splits (measured: ingest
--   1.34 x faster with this index set using hash than btree here).
CREATE INDEX IF NOT EXISTS logs_trace_id_idx ON logs USING hash (trace_id);
--   by_log_event:    WHERE log_event = $1 ORDER BY time DESC LIMIT 5
CREATE INDEX IF NOT EXISTS logs_log_event_time_idx ON logs (log_event, time);
--   with_traceback:  WHERE data->>'traceback' IS NOT NULL. A partial index holds only the rows that
--   match, a small share of all rows, where a GIN index on data would hold every key of every row.
CREATE INDEX IF NOT EXISTS logs_traceback_idx ON logs (time) WHERE (data ->> 'traceback') IS NOT NULL;
--   by_host_ip:      WHERE host_ip = $1. No index: a fleet has few hosts, so each matches a large
--   share of the rows and a sequential scan is the better plan anyway.

-- PG-4: a delivery is stored at most once (ZMQ-6), enforced by the database itself. Looked up by
-- name first: on a partitioned or distributed logs (sql/partitioned.sql, sql/citus.sql) the key
-- also holds time or trace_id, and PostgreSQL refuses this definition there before it would see
-- that IF NOT EXISTS applies.
DO $$
BEGIN
    IF to_regclass('logs_delivery_key') IS NULL THEN
        CREATE UNIQUE INDEX logs_delivery_key ON logs (emitter_session, emitter_seq)
            WHERE emitter_session IS NOT NULL;
    END IF;
END $$;

-- PG-3: the quarantine. Nothing a collector receives is dropped in silence (COL-1).
CREATE TABLE IF NOT EXISTS logs_rejected (
    received_at         TIMESTAMPTZ       NOT NULL DEFAULT now(),
    transport           TEXT              NOT NULL,
    source              TEXT              NULL,
    rule                TEXT              NOT NULL,
    reason              TEXT              NOT NULL,
    raw                 BYTEA             NOT NULL,
    -- A record refused from a ZeroMQ message keeps its delivery key, so that a resent copy is not
    -- quarantined twice (ZMQ-6).
    emitter_session     UUID              NULL DEFAULT NULL,
    emitter_seq         BIGINT            NULL DEFAULT NULL
);
ALTER TABLE logs_rejected ADD COLUMN IF NOT EXISTS emitter_session UUID NULL DEFAULT NULL;
ALTER TABLE logs_rejected ADD COLUMN IF NOT EXISTS emitter_seq BIGINT NULL DEFAULT NULL;
CREATE INDEX IF NOT EXISTS logs_rejected_received_at_idx ON logs_rejected (received_at);
CREATE UNIQUE INDEX IF NOT EXISTS logs_rejected_delivery_key ON logs_rejected (emitter_session, emitter_seq)
    WHERE emitter_session IS NOT NULL;
