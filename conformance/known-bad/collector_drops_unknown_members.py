"""Fault: members that are not in the table are dropped in silence, so a misspelt field is lost (breaks REC-3)."""

import sys
from typing import Any

from conforming_collector import REQUIRED, Collector, Rejected, main


class DropsUnknownMembers(Collector):
    def check_members(self, value: dict[str, Any]) -> None:
        for name in REQUIRED:
            if name not in value:
                raise Rejected("REC-2", f"required member {name!r} missing")
        # the fault: no check for other members; the row takes the eight it knows and forgets the rest


sys.exit(main(DropsUnknownMembers))
