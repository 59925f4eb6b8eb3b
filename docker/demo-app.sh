#!/bin/sh
# An application that logs one record a second, like the first seed's loggingApp.py, through
# `logduct emit`. Usage: demo-app.sh NAME
name=${1:?usage: demo-app.sh NAME}
ip=$(hostname -i | cut -d' ' -f1)
n=0
while true; do
    n=$((n + 1))
    printf '{"time":"%s","application_name":"%s","environment_name":"docker","log_event":"request","trace_id":"%s-%d","file_path":"/src/docker/demo-app.sh","host_ip":"%s","data":{"request":%d}}\n' \
        "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$name" "$name" "$n" "$ip" "$n"
    sleep 1
done | logduct emit --fifo /run/logduct/logs.fifo
