"""What the oracle says about input: each rule it breaks, where, and why."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class Breach:
    """One rule of SPEC.md that some input breaks."""

    rule: str  # its ID, e.g. "REC-9"
    where: str  # the member, the frame or the byte at fault
    why: str

    def __str__(self) -> str:
        return f"{self.rule}: {self.where}: {self.why}"


def rules_of(breaches: Iterable[Breach]) -> list[str]:
    """The rule IDs broken, each once, in the order found."""
    return list(dict.fromkeys(breach.rule for breach in breaches))


class Refused(ValueError):
    """Input that breaks at least one rule, asked for as if it were valid (``read_line``, ``read_message``)."""

    def __init__(self, breaches: Iterable[Breach]) -> None:
        self.breaches = tuple(breaches)
        self.rules = rules_of(self.breaches)
        super().__init__("; ".join(map(str, self.breaches)))
