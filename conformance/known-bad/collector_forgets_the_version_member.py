"""Fault: v is left out of the members a record may have, so a record that says it is version 1 is refused
as carrying an unknown member (breaks VER-1)."""

import sys

from conforming_collector import MEMBERS, Collector, main


class ForgetsTheVersionMember(Collector):
    allowed = frozenset(MEMBERS)  # the fault: the eight of the table, and not v


sys.exit(main(ForgetsTheVersionMember))
