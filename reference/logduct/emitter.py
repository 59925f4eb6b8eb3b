"""The FIFO emitter: sends records in order, never loses one in silence, never blocks the caller.

Theory of operation. ``send`` validates and encodes the record in the caller's thread (EMIT-1), then
tries one non-blocking write. Most of the time it succeeds and the call is over. When it cannot go
out now (no reader, reader restarting, pipe full: FIFO-4, FIFO-5), the line joins a bounded queue,
and a background thread writes the queue out, oldest first, as soon as the FIFO takes it. While
anything is queued, new records queue behind it, so order is kept (EMIT-4). A full queue applies
the overflow policy (EMIT-3): the application's default refuses the new record and counts it;
``BLOCK``, for batch tools such as ``logduct emit``, waits for room instead.
"""

from __future__ import annotations

import enum
import os
import sys
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from .fifo import PIPE_BUF, FifoWriter
from .record import Record, encode

#: How often the background thread tries the FIFO again while records wait.
RETRY_INTERVAL_S = 0.01
#: Writes per hold of the lock, so that a long backlog never stalls a caller's send.
_WRITES_PER_TURN = 64


class Overflow(enum.Enum):
    """What ``send`` does when the queue is full (EMIT-3)."""

    DROP_NEWEST = "drop-newest"  # refuse the new record, count it; the caller never waits
    BLOCK = "block"  # wait until the queue has room


def make_room(changed: threading.Condition, is_full: Callable[[], bool], overflow: Overflow,
              deadline: float | None = None) -> bool:
    """EMIT-3, called holding ``changed``: True once there is room; False when the record is dropped.
    With ``BLOCK`` and a ``deadline`` (time.monotonic()), TimeoutError if it passes first."""
    while is_full():
        if overflow is Overflow.DROP_NEWEST:
            return False
        left = None if deadline is None else deadline - time.monotonic()
        if left is not None and left <= 0:
            raise TimeoutError("no room in the queue before the deadline")
        changed.wait(left)
    return True


@dataclass(frozen=True)
class EmitterStats:
    sent: int  # written to the FIFO
    queued: int  # waiting for the FIFO now
    dropped: int  # refused because the queue was full (EMIT-3)


class FifoEmitter:
    """Sends records over a FIFO (SPEC.md sections 3 and 4). Thread-safe."""

    def __init__(self, path: str | os.PathLike[str], *, queue_limit: int = 10_000,
                 overflow: Overflow = Overflow.DROP_NEWEST, pipe_buf: int = PIPE_BUF) -> None:
        self._writer = FifoWriter(path, pipe_buf)
        self.queue_limit = queue_limit
        self.overflow = overflow
        self._queue: deque[bytes] = deque()
        self._changed = threading.Condition()
        self._sent = 0
        self._dropped = 0
        self._closed = False
        self._flusher: threading.Thread | None = None
        self._flushing = False  # changed only under the lock: a thread about to exit counts as gone

    @property
    def path(self) -> str:
        return self._writer.path

    @property
    def max_line_bytes(self) -> int:
        """The longest line this emitter sends: PIPE_BUF, or 512 in the portable profile (FIFO-3)."""
        return self._writer.pipe_buf

    def send(self, record: Record, deadline: float | None = None) -> bool:
        """Hand ``record`` over or queue it: True. Dropped because the queue is full: False.

        Raises ProtocolError for a record too large for one atomic write (FIFO-2): nothing is sent;
        TimeoutError if ``BLOCK`` waited for room until ``deadline`` (time.monotonic()).
        """
        return self.send_line(encode(record), deadline)

    def send_line(self, line: bytes, deadline: float | None = None) -> bool:
        """``send`` for a line already in canonical encoding."""
        self._writer.check_size(line)
        with self._changed:
            if self._closed:
                raise ValueError("emitter is closed")
            if not self._queue and self._writer.try_write(line):
                self._sent += 1
                return True
            if not make_room(self._changed, lambda: len(self._queue) >= self.queue_limit, self.overflow, deadline):
                self._dropped += 1
                return False
            self._queue.append(line)
            self._start_flusher()
            return True

    def stats(self) -> EmitterStats:
        with self._changed:
            return EmitterStats(sent=self._sent, queued=len(self._queue), dropped=self._dropped)

    def flush(self, timeout_s: float | None = None) -> bool:
        """Wait until the queue is empty; False if ``timeout_s`` passed first."""
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        with self._changed:
            while self._queue:
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    return False
                self._changed.wait(left)
            return True

    def close(self, timeout_s: float | None = 5.0) -> int:
        """Flush for at most ``timeout_s``, then close. Returns the records never handed over."""
        self.flush(timeout_s)
        with self._changed:
            self._closed = True
            lost = len(self._queue)
            self._queue.clear()
            self._changed.notify_all()
        if self._flusher is not None:
            self._flusher.join()
        self._writer.close()
        if lost or self._dropped:
            # EMIT-3: a drop is never silent.
            print(f"logduct: {self._dropped:,} records dropped (queue full) and {lost:,} not handed over "
                  f"(no reader on {self.path})", file=sys.stderr)
        return lost

    def _start_flusher(self) -> None:
        # Not Thread.is_alive(): a flusher that has left its loop is still alive for a moment, and a
        # record queued in that moment would wait for ever.
        if not self._flushing:
            self._flushing = True
            self._flusher = threading.Thread(target=self._flush_queue, name="logduct-fifo-emitter", daemon=True)
            self._flusher.start()

    def _flush_queue(self) -> None:
        with self._changed:
            try:
                self._write_backlog()
            finally:
                self._flushing = False

    def _write_backlog(self) -> None:
        """Write the queue out, oldest first, until it is empty; called holding the lock."""
        while self._queue and not self._closed:
            stalled = False
            for _ in range(_WRITES_PER_TURN):
                if not self._queue:
                    break
                if not self._writer.try_write(self._queue[0]):
                    stalled = True
                    break
                self._queue.popleft()
                self._sent += 1
            self._changed.notify_all()
            # A wait releases the lock, so senders are never held up by the backlog; it only
            # sleeps when the FIFO took nothing.
            self._changed.wait(RETRY_INTERVAL_S if stalled else 0)
