"""Fault: an off-by-one depth limit: the record is counted as level 1, so data is level 2 and 64 levels of
data, the most allowed, are refused (breaks REC-11)."""

import sys
from typing import Any

from conforming_collector import Collector, main


class CountsTheRecordAsALevel(Collector):
    def check_depth(self, data: dict[str, Any] | None) -> None:
        super().check_depth(None if data is None else {"": data})  # the fault: one level too many


sys.exit(main(CountsTheRecordAsALevel))
