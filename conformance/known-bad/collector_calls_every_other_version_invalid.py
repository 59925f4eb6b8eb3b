"""Fault: any v but 1 is refused as an invalid version (VER-1), where an integer names a version not
implemented, which VER-2 says to name (breaks VER-2)."""

import sys
from typing import Any

from conforming_collector import Collector, Rejected, main


class CallsEveryOtherVersionInvalid(Collector):
    def check_version(self, value: dict[str, Any]) -> None:
        if "v" in value and (type(value["v"]) is not int or value["v"] != 1):  # the fault: one test, two rules
            raise Rejected("VER-1", f"the version must be the integer 1, not {value['v']!r}")


sys.exit(main(CallsEveryOtherVersionInvalid))
