"""Fault: log_event and trace_id land in each other's column (breaks PG-1)."""

import sys
from typing import Any

from conforming_collector import PostgresSink, Row, main


class SwapsColumns(PostgresSink):
    def values(self, row: Row) -> tuple[Any, ...]:
        values = list(super().values(row))
        values[3], values[4] = values[4], values[3]  # the fault: the INSERT names log_event, trace_id
        return tuple(values)


sys.exit(main(postgres=SwapsColumns))
