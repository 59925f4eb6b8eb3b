-- The seed's five queries, named, with their literal values as in the seed.
-- `logduct query NAME` runs one; `logduct query` runs them all.

-- name: latest
-- The five most recent records.
SELECT * FROM logs ORDER BY time DESC LIMIT 5;

-- name: by_trace_id
-- Every record of one request.
SELECT * FROM logs WHERE logs.trace_id = 'bfb95991-ae1b-4f7b-bc11-024dc53b964f';

-- name: by_host_ip
-- Every record of one host; 172.18.0.3 is a container's address on the seed's Docker network.
SELECT * FROM logs WHERE logs.host_ip = '172.18.0.3';

-- name: login_errors
-- The five most recent login errors, with their data and source file.
SELECT data,file_path FROM logs WHERE logs.log_event ='login_error' ORDER BY time DESC LIMIT 5;

-- name: with_traceback
-- Every record whose data carries a traceback.
SELECT log_event,data FROM logs WHERE data->>'traceback' IS NOT NULL;
