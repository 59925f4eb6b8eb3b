-- logs partitioned by month, for retention by dropping whole months (docs/scaling.md).
-- Run this on an empty database BEFORE the first collector starts; the collector's schema.sql then
-- finds every table and index here by name and leaves them as they are (PG-5).
--
-- The columns are schema.sql's (PG-1, PG-2), stated again because a table cannot be made
-- partitioned once it exists.
--
-- A unique index on a partitioned table must hold the partition key, so the delivery key (PG-4)
-- here is (emitter_session, emitter_seq, time): a resent record repeats its time, so it still
-- matches the first copy and is not stored twice.

CREATE TABLE IF NOT EXISTS logs (
    time                TIMESTAMPTZ       NOT NULL,
    application_name    TEXT              NOT NULL,
    environment_name    TEXT              NOT NULL,
    log_event           TEXT              NOT NULL,
    trace_id            TEXT              NOT NULL,
    file_path           TEXT              NOT NULL,
    host_ip             TEXT              NOT NULL,
    data                JSONB             NULL,
    emitter_session     UUID              NULL DEFAULT NULL,
    emitter_seq         BIGINT            NULL DEFAULT NULL
) PARTITION BY RANGE (time);

-- Records older or newer than every month below land here rather than fail their batch.
CREATE TABLE IF NOT EXISTS logs_default PARTITION OF logs DEFAULT;

-- One partition a month, from last month to a year ahead. In production let pg_partman
-- (create_parent, run_maintenance) create and retire them on a schedule instead.
DO $$
DECLARE
    month date := date_trunc('month', now() - interval '1 month');
BEGIN
    FOR i IN 0..13 LOOP
        EXECUTE format('CREATE TABLE IF NOT EXISTS %I PARTITION OF logs FOR VALUES FROM (%L) TO (%L)',
                       'logs_' || to_char(month, 'YYYY_MM'), month, month + interval '1 month');
        month := month + interval '1 month';
    END LOOP;
END $$;

CREATE UNIQUE INDEX IF NOT EXISTS logs_delivery_key ON logs (emitter_session, emitter_seq, time)
    WHERE emitter_session IS NOT NULL;

-- Retention, a month at a time, with no DELETE and no vacuum:
--   DROP TABLE logs_2025_01;
-- or, to archive it first:
--   ALTER TABLE logs DETACH PARTITION logs_2025_01 CONCURRENTLY;
