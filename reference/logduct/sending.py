"""What every emitter shares: the send queue, its overflow policy, its counters, and the
``Emitter`` protocol that ``logduct emit`` and the logging handler use (SPEC.md section 3).

Theory of operation. ``SendQueue`` holds encoded lines waiting for their transport, oldest first,
so that records go out in the order they were sent (EMIT-4). It is bounded: together with what the
transport holds unsettled (ZeroMQ: sent, not yet acknowledged; ZMQ-7), it never exceeds ``limit``
lines. When it is full, the overflow policy decides (EMIT-3): an application's default refuses the
new record and counts it, so a log call never waits; ``BLOCK``, for batch tools such as
``logduct emit``, waits for room instead. Its condition variable is the emitter's one lock.
"""

from __future__ import annotations

import enum
import sys
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from .record import Record


class Overflow(enum.Enum):
    """What ``send`` does when the queue is full (EMIT-3)."""

    DROP_NEWEST = "drop-newest"  # refuse the new record, count it; the caller never waits (EMIT-2)
    BLOCK = "block"  # wait until the queue has room


@dataclass(frozen=True)
class EmitterStats:
    sent: int  # handed over for good: written to the FIFO, or acknowledged by a collector
    queued: int  # not yet: waiting for the transport, or for an acknowledgement
    dropped: int  # refused because the queue was full (EMIT-3)
    resent: int = 0  # sent more than once (ZMQ-15): what flow control keeps small


class Emitter(Protocol):
    """What an application, ``logduct emit`` and ``LogductHandler`` need of an emitter."""

    #: The longest canonical line, LF included, that this emitter sends (FIFO-2, ZMQ-8).
    max_line_bytes: int

    def send(self, record: Record, deadline: float | None = None) -> bool:
        """Hand ``record`` over or queue it: True; dropped because the queue is full: False (EMIT-3).
        ProtocolError for a record the transport cannot carry; TimeoutError if ``BLOCK`` waited for
        room until ``deadline`` (time.monotonic())."""
        ...

    def send_line(self, line: bytes, deadline: float | None = None) -> bool:
        """``send`` for a line already in canonical encoding (ENC-5)."""
        ...

    def stats(self) -> EmitterStats: ...

    def flush(self, timeout_s: float | None = None) -> bool:
        """Wait until everything sent so far is handed over for good; False if ``timeout_s`` passed first."""
        ...

    def close(self, timeout_s: float | None = 5.0) -> int:
        """Flush for at most ``timeout_s``, then close; the records never handed over for good."""
        ...


class SendQueue:
    """Lines waiting for the transport, oldest first (EMIT-4), bounded (EMIT-3). Thread-safe.

    ``unsettled`` counts what the transport holds beyond the queue (ZMQ-7), asked holding the lock;
    ``on_first`` is called, holding the lock, when a line is queued behind none, to start the
    transport's writer.
    """

    def __init__(self, limit: int, overflow: Overflow, *, unsettled: Callable[[], int] = lambda: 0,
                 on_first: Callable[[], None] = lambda: None) -> None:
        self.limit = limit
        self.overflow = overflow
        self.lines: deque[bytes] = deque()
        self.changed = threading.Condition()  # the emitter's lock; notified whenever lines settle
        self.dropped = 0
        self.closed = False
        self._unsettled = unsettled
        self._on_first = on_first

    def put(self, line: bytes, deadline: float | None = None,
            hand_over: Callable[[bytes], bool] | None = None) -> bool:
        """Queue ``line``: True; dropped because the queue is full: False (EMIT-3). With nothing
        queued, ``hand_over`` may take the line at once instead (True if it did)."""
        with self.changed:
            if self.closed:
                raise ValueError("emitter is closed")
            if hand_over is not None and not self.lines and hand_over(line):
                return True
            if not self._make_room(deadline):
                self.dropped += 1
                return False
            self.lines.append(line)
            if len(self.lines) == 1:
                self._on_first()
            return True

    def outstanding(self) -> int:
        """Lines not yet handed over for good; called holding the lock."""
        return len(self.lines) + self._unsettled()

    def _make_room(self, deadline: float | None) -> bool:
        while self.outstanding() >= self.limit:
            if self.overflow is Overflow.DROP_NEWEST:
                return False
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                raise TimeoutError("no room in the queue before the deadline")
            self.changed.wait(left)
        return True

    def wait_until_settled(self, timeout_s: float | None) -> bool:
        """Wait until nothing is outstanding; False if ``timeout_s`` passed first."""
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        with self.changed:
            while self.outstanding():
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    return False
                # Woken when lines settle; the cap only re-checks, in case a transport settles quietly.
                self.changed.wait(0.5 if left is None else min(left, 0.5))
            return True

    def close(self) -> int:
        """Accept nothing more and give up what is outstanding; the number of lines given up."""
        with self.changed:
            self.closed = True
            lost = self.outstanding()
            self.lines.clear()
            self.changed.notify_all()
            return lost

    def report_loss(self, lost: int, where: str) -> None:
        """EMIT-3: a drop is never silent."""
        if lost or self.dropped:
            print(f"logduct: {self.dropped:,} records dropped (queue full) and {lost:,} {where}", file=sys.stderr)
