"""Fault: a line holding a JSON string is read again as JSON, to take records some loggers encode twice:
a string is taken for a record (breaks REC-1)."""

import sys
from typing import Any

from conforming_collector import Collector, main


class UnwrapsJsonInAString(Collector):
    def read_json(self, text: str) -> Any:
        value = super().read_json(text)
        return super().read_json(value) if isinstance(value, str) else value  # the fault


sys.exit(main(UnwrapsJsonInAString))
