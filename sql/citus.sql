-- logs distributed over several PostgreSQL servers with Citus, by trace_id (docs/scaling.md).
-- Run on the Citus coordinator, after sql/schema.sql and before the first collector starts:
--   psql "$COORDINATOR_DSN" -f sql/schema.sql -f sql/citus.sql
-- Collectors connect to the coordinator as to any PostgreSQL; their schema.sql finds every table and
-- index by name and leaves them as they are (PG-5).
--
-- Why trace_id: the seed's by_trace_id query then runs on one shard, and a request's records live
-- together. A unique index on a distributed table must hold the distribution column, so the delivery
-- key (PG-4) becomes (emitter_session, emitter_seq, trace_id): a resent record repeats its trace_id.

CREATE EXTENSION IF NOT EXISTS citus;

BEGIN;
DROP INDEX IF EXISTS logs_delivery_key;
CREATE UNIQUE INDEX logs_delivery_key ON logs (emitter_session, emitter_seq, trace_id)
    WHERE emitter_session IS NOT NULL;
SELECT create_distributed_table('logs', 'trace_id', shard_count => 32);
COMMIT;

-- logs_rejected stays a plain table on the coordinator: it is small, and FIFO rejections have no
-- value to distribute it by.
