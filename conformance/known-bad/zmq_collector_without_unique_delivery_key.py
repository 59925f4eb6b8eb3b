"""Fault: the schema has no unique index on (emitter_session, emitter_seq), so ON CONFLICT DO NOTHING
never meets a conflict and a resent record is stored again (breaks PG-4)."""

import re
import sys

from conforming_collector import SCHEMA, PostgresSink, main


class WithoutUniqueDeliveryKey(PostgresSink):
    schema = re.sub(r"CREATE UNIQUE INDEX[^;]*;", "", SCHEMA)  # the fault


sys.exit(main(postgres=WithoutUniqueDeliveryKey))
