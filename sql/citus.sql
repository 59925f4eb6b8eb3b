-- logs distributed over several PostgreSQL servers with Citus, by trace_id (docs/scaling.md).
-- Run on the Citus coordinator, on an empty database, BEFORE the first collector starts; the
-- collectors connect to the coordinator as to any PostgreSQL, and their schema.sql then finds every
-- table and index here by name and leaves them as they are (PG-5).
--
-- Why trace_id: the seed's by_trace_id query then runs on one shard, and a request's records live
-- together. A unique index on a distributed table must hold the distribution column, so the delivery
-- key (PG-4) is (emitter_session, emitter_seq, trace_id): a resent record repeats its trace_id.

CREATE EXTENSION IF NOT EXISTS citus;

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
);

CREATE UNIQUE INDEX IF NOT EXISTS logs_delivery_key ON logs (emitter_session, emitter_seq, trace_id)
    WHERE emitter_session IS NOT NULL;

SELECT create_distributed_table('logs', 'trace_id', shard_count => 32)
WHERE NOT EXISTS (SELECT 1 FROM pg_dist_partition WHERE logrelid = 'logs'::regclass);

-- logs_rejected stays a plain table on the coordinator: it is small, and FIFO rejections have no
-- value to distribute it by. schema.sql creates it as usual.
