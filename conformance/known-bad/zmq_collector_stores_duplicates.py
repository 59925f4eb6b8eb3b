"""Fault: the delivery key is not stored, so a resent record is stored again (breaks ZMQ-6)."""

import sys
from typing import Any

from conforming_collector import PostgresSink, Row, main


class StoresDuplicates(PostgresSink):
    def values(self, row: Row) -> tuple[Any, ...]:
        return (*super().values(row)[:-2], None, None)  # the fault: emitter_session, emitter_seq left NULL


sys.exit(main(postgres=StoresDuplicates))
