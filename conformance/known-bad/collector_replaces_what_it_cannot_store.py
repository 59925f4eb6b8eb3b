"""Fault: U+0000 and lone surrogates are not refused but mended, U+0000 dropped and a surrogate made
U+FFFD, and the record stored as if it had been sent so (breaks REC-12: refuse it).

The repair looks kind, and it is what Python's own ``errors="replace"`` does; but the record stored is
not the record sent, and nothing says so: the quarantine is where such input belongs.
"""

import sys
from typing import Any

from conforming_collector import Collector, main


def mended(value: Any) -> Any:
    if isinstance(value, str):
        return value.replace("\x00", "").encode("utf-8", "replace").decode("utf-8")
    if isinstance(value, list):
        return [mended(item) for item in value]
    if isinstance(value, dict):
        return {mended(name): mended(item) for name, item in value.items()}
    return value


class ReplacesWhatItCannotStore(Collector):
    def check_strings(self, value: Any) -> None:
        repaired = mended(value)  # the fault: mended in place of refused
        value.clear()
        value.update(repaired)


sys.exit(main(ReplacesWhatItCannotStore))
