"""Fault: the first invalid line is named, by number and rule, and ends the run: the records after it
are never sent (breaks CLI-2: the other records are still sent).

A whole emitter of its own, `emit --fifo PATH`, that checks little more than the members a record has.
"""

import json
import os
import sys

MEMBERS = {"time", "application_name", "environment_name", "log_event", "trace_id", "file_path", "host_ip"}

fd = os.open(sys.argv[sys.argv.index("--fifo") + 1], os.O_WRONLY)  # waits for a reader
for number, line in enumerate(sys.stdin.buffer, start=1):
    try:
        record = json.loads(line)
    except ValueError:
        sys.exit(f"emit: line {number}: ENC-2: not JSON")  # the fault: exit, the rest unsent
    if not isinstance(record, dict) or not record.keys() >= MEMBERS:
        sys.exit(f"emit: line {number}: REC-2: members missing")  # the fault again
    os.write(fd, line)
