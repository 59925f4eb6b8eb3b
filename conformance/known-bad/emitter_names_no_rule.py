"""Fault: a refused record is named by its line number only, not by the rule it breaks (breaks EMIT-1)."""

import sys

from conforming_emitter import FifoEmitter, Refused, main


class NamesNoRule(FifoEmitter):
    def refuse(self, number: int, refusal: Refused) -> None:
        self.refusals += 1
        print(f"emit: line {number}: invalid record, not sent", file=sys.stderr, flush=True)  # the fault: which rule?


sys.exit(main(fifo=NamesNoRule))
