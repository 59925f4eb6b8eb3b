"""Fault: host_ip is checked to be an address and stored as the emitter spelt it, not in canonical form,
so WHERE host_ip = '2001:db8::1' misses 2001:DB8:0:0:0:0:0:1 (breaks REC-9)."""

import sys

from conforming_collector import Collector, main


class StoresHostIpAsGiven(Collector):
    def canonical_host_ip(self, text: str) -> str:
        super().canonical_host_ip(text)  # still refuses what is no address
        return text  # the fault: stored as given


sys.exit(main(StoresHostIpAsGiven))
