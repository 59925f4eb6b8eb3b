-- The seed's example statements, unchanged (PG-1, PG-2).

-- name: insert_one
INSERT INTO logs(time, application_name, environment_name, log_event, trace_id, file_path, host_ip, data)
  VALUES
    (NOW(), 'WebApp', 'production', 'login', '0ad94512-df55-11e8-9805-5b8e82d370a6', '/usr/src/app/login.py', '127.0.0.1', '{"user": "Shawn Corey Carter", "age": 48, "email": "someemail@email.com"}');

-- name: insert_bulk
INSERT INTO logs(time, application_name, environment_name, log_event, trace_id, file_path, host_ip, data)
  VALUES
    (NOW(), 'LoadBalancer', 'production', 'access', 'cc47066c-df5f-11e8-93a0-03a5cafa053b', '/usr/src/app/haproxy', '127.0.0.1', NULL),
    (NOW(), 'WebApp', 'production', 'login', '0ad94512-df55-11e8-9805-5b8e82d370a6', '/usr/src/app/login.py', '127.0.0.1', '{"user": "Shawn Corey Carter", "age": 48, "email": "someemail@email.com"}');
