"""What a collector reads from: the ``Source`` protocol every transport implements. No I/O.

A source hands the collector ``Arrivals``: the raw lines or records that came from one sender at
once, each still to be judged against section 1, the delivery key of each where the transport has
one (ZMQ-3), what the transport itself refused (with the rule: ENC-2, ENC-3, ZMQ-11, ZMQ-12), and
what to do once every one of them is committed (ZMQ-4: acknowledge). The collector knows nothing
else of a transport, so adding one is a module implementing ``Source`` and the line that builds it
from a command-line option (docs/architecture.md).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from .delivery import Delivery
from .errors import Refused


@dataclass(frozen=True, slots=True)
class Arrivals:
    """What one sender handed over at once."""

    sender: str  # the FIFO path, or the emitter's routing identity: logs_rejected.source (PG-3)
    lines: Sequence[bytes]  # each to be decoded into a record (section 1), its LF already removed
    deliveries: Sequence[Delivery] | None = None  # the key of each line, in order (ZMQ-3)
    refused: Sequence[Refused] = ()  # what the transport refused, after the lines in arrival order
    #: ZMQ-4: to run once every line and refusal above is committed, never before.
    acknowledge: Callable[[], None] | None = field(default=None, compare=False)

    def __len__(self) -> int:
        return len(self.lines) + len(self.refused)


class Source(Protocol):
    """One input of a collector: a FIFO, a ZeroMQ socket, or any transport that yields Arrivals."""

    @property
    def transport(self) -> str:
        """The transport's name, as ``logs_rejected.transport`` records it (PG-3)."""
        ...

    @property
    def name(self) -> str:
        """This input: a FIFO's path, an endpoint. COL-8 bounds the quarantine per name."""
        ...

    def describe(self) -> str:
        """One line for the operator: what is read, and how (``collecting from ...``)."""
        ...

    def poll_target(self) -> object:
        """What to wait on for input: a file descriptor, or a ZeroMQ socket."""
        ...

    def receive(self) -> list[Arrivals]:
        """What has arrived since the last call, without blocking; [] if nothing has."""
        ...

    def stop_reading(self) -> list[Arrivals]:
        """Read no more (COL-4); what was left half-received, refused (a line without its LF)."""
        ...

    def close(self) -> None:
        """Release the transport, once the last commit and its acknowledgements are done."""
        ...
