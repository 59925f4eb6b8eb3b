"""Fault: data is tested for truth, so an empty object, which is an object, is stored as NULL (breaks REC-10)."""

import sys
from typing import Any

from conforming_collector import PostgresSink, Row, main


class StoresEmptyDataAsNull(PostgresSink):
    def values(self, row: Row) -> tuple[Any, ...]:
        values = super().values(row)
        return (*values[:7], values[7] if row.data else None, *values[8:])  # the fault: {} is false


sys.exit(main(postgres=StoresEmptyDataAsNull))
