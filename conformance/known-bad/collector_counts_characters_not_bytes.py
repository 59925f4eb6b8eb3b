"""Fault: a text field's length is counted in characters, not in bytes of UTF-8 (breaks REC-8)."""

import sys
from typing import Any

from conforming_collector import MAX_TEXT_FIELD_BYTES, Collector, Rejected, main


class CountsCharactersNotBytes(Collector):
    def check_text_field(self, name: str, value: Any) -> None:
        if not isinstance(value, str):
            raise Rejected("REC-8", f"{name} must be a string")
        if not 1 <= len(value) <= MAX_TEXT_FIELD_BYTES:  # the fault: 1,024 "é" are 2,048 bytes
            raise Rejected("REC-8", f"{name} is {len(value):,} characters; from 1 to 1,024 allowed")


sys.exit(main(CountsCharactersNotBytes))
