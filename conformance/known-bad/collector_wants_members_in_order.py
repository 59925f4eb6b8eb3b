"""Fault: the members of a record must come in the order of the canonical encoding, which binds emitters
only: a record with its members in another order is refused (breaks ENC-4)."""

import sys
from typing import Any

from conforming_collector import MEMBERS, Collector, Rejected, main


class WantsMembersInOrder(Collector):
    def check_members(self, value: dict[str, Any]) -> None:
        super().check_members(value)
        if [name for name in value if name in MEMBERS] != [name for name in MEMBERS if name in value]:
            raise Rejected("ENC-5", "members not in canonical order")  # the fault: ENC-5 asked of input


sys.exit(main(WantsMembersInOrder))
