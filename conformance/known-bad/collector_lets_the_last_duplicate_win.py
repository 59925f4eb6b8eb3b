"""Fault: a member given twice is read the way json.loads reads it, the last value winning (breaks REC-4)."""

import sys
from typing import Any

from conforming_collector import Collector, main


class LetsTheLastDuplicateWin(Collector):
    def json_object(self, pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        return dict(pairs)  # the fault: no look for a name given twice


sys.exit(main(LetsTheLastDuplicateWin))
