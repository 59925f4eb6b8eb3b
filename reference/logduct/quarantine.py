"""COL-8: how fast the quarantine may grow, per input. No I/O; time is passed in.

Theory of operation. Every process that can write to a FIFO or reach a ZeroMQ endpoint can send
garbage, and every rejection is a row with up to 64 KiB of raw bytes: unbounded, the quarantine is a
way to fill the database's disk. So each input gets a budget per second of the clock: the first
``ROWS_PER_S`` rejections, holding at most ``RAW_BYTES_PER_S`` of raw bytes between them, are
stored; the rest are only counted, and once the second is over one summary row says how many were
not stored, by rule. Counters (COL-5) see every rejection either way.
"""

from __future__ import annotations

import time
from collections import Counter

#: COL-8: the reference's bound, per input and per second.
ROWS_PER_S = 100
RAW_BYTES_PER_S = 1 << 20


class QuarantineBudget:
    """One input's budget: ``admit`` says whether a rejection may be stored now; ``summaries`` gives the
    reasons of the COL-8 rows owed for seconds that are over."""

    def __init__(self, rows_per_s: int = ROWS_PER_S, raw_bytes_per_s: int = RAW_BYTES_PER_S) -> None:
        self.rows_per_s = rows_per_s
        self.raw_bytes_per_s = raw_bytes_per_s
        self._second = 0
        self._rows = 0
        self._raw_bytes = 0
        self._not_stored: Counter[str] = Counter()
        self._owed: list[str] = []

    def admit(self, rule: str, raw_bytes: int, now: float) -> bool:
        """True if a rejection under ``rule`` with ``raw_bytes`` of raw input may be stored at ``now``
        (seconds of the wall clock); False if it is only to be counted."""
        self._roll(int(now))
        if self._rows < self.rows_per_s and self._raw_bytes + raw_bytes <= self.raw_bytes_per_s:
            self._rows += 1
            self._raw_bytes += raw_bytes
            return True
        self._not_stored[rule] += 1
        return False

    def summaries(self, now: float, *, final: bool = False) -> list[str]:
        """The reasons of the COL-8 rows owed for the seconds before ``now``, each once; ``final``: the
        current second's too, since no later call will come (the collector stops)."""
        self._roll(int(now) + final)
        owed, self._owed = self._owed, []
        return owed

    def _roll(self, second: int) -> None:
        if second == self._second:
            return
        if self._not_stored:
            began = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(self._second))
            by_rule = ", ".join(f"{rule} {n:,}" for rule, n in sorted(self._not_stored.items()))
            self._owed.append(f"{sum(self._not_stored.values()):,} rejections not stored in the second from "
                              f"{began} (the bound is {self.rows_per_s:,} rows and {self.raw_bytes_per_s:,} raw "
                              f"bytes a second): {by_rule}")
            self._not_stored = Counter()
        self._second, self._rows, self._raw_bytes = second, 0, 0
