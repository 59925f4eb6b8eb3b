"""The FIFO emitter: sends records in order, never loses one in silence, never blocks the caller.

Theory of operation. ``send`` validates and encodes the record in the caller's thread (EMIT-1), then
tries one non-blocking write. Most of the time it succeeds and the call is over. When it cannot go
out now (no reader, reader restarting, pipe full: FIFO-4, FIFO-5), the line joins the bounded send
queue (sending.py), and a background thread writes the queue out, oldest first, as soon as the FIFO
takes it. While anything is queued, new records queue behind it, so order is kept (EMIT-4).
"""

from __future__ import annotations

import os
import threading

from .fifo import PIPE_BUF, FifoWriter
from .record import Record, encode
from .sending import EmitterStats, Overflow, SendQueue

#: How often the background thread tries the FIFO again while records wait.
RETRY_INTERVAL_S = 0.01
#: Writes per hold of the lock, so that a long backlog never stalls a caller's send.
_WRITES_PER_TURN = 64


class FifoEmitter:
    """Sends records over a FIFO (SPEC.md sections 3 and 4). Thread-safe; an ``Emitter``."""

    def __init__(self, path: str | os.PathLike[str], *, queue_limit: int = 10_000,
                 overflow: Overflow = Overflow.DROP_NEWEST, pipe_buf: int = PIPE_BUF) -> None:
        self._writer = FifoWriter(path, pipe_buf)
        #: FIFO-2, FIFO-3: PIPE_BUF, or 512 in the portable profile.
        self.max_line_bytes = pipe_buf
        self._queue = SendQueue(queue_limit, overflow, on_first=self._start_flusher)
        self._sent = 0
        self._flusher: threading.Thread | None = None
        self._flushing = False  # changed only under the lock: a thread about to exit counts as gone

    @property
    def path(self) -> str:
        return self._writer.path

    def send(self, record: Record, deadline: float | None = None) -> bool:
        """Hand ``record`` over or queue it: True. Dropped because the queue is full: False.

        Raises ProtocolError for a record too large for one atomic write (FIFO-2): nothing is sent;
        TimeoutError if ``BLOCK`` waited for room until ``deadline`` (time.monotonic()).
        """
        return self.send_line(encode(record), deadline)

    def send_line(self, line: bytes, deadline: float | None = None) -> bool:
        """``send`` for a line already in canonical encoding."""
        self._writer.check_size(line)  # FIFO-2
        return self._queue.put(line, deadline, hand_over=self._write_now)

    def _write_now(self, line: bytes) -> bool:
        if self._writer.try_write(line):
            self._sent += 1
            return True
        return False

    def stats(self) -> EmitterStats:
        with self._queue.changed:
            return EmitterStats(sent=self._sent, queued=len(self._queue.lines), dropped=self._queue.dropped)

    def flush(self, timeout_s: float | None = None) -> bool:
        """Wait until the queue is empty; False if ``timeout_s`` passed first."""
        return self._queue.wait_until_settled(timeout_s)

    def close(self, timeout_s: float | None = 5.0) -> int:
        """Flush for at most ``timeout_s``, then close. Returns the records never handed over."""
        self.flush(timeout_s)
        lost = self._queue.close()
        if self._flusher is not None:
            self._flusher.join()
        self._writer.close()
        self._queue.report_loss(lost, f"not handed over (no reader on {self.path})")
        return lost

    def _start_flusher(self) -> None:
        # Called holding the lock. Not Thread.is_alive(): a flusher that has left its loop is still
        # alive for a moment, and a record queued in that moment would wait for ever.
        if not self._flushing:
            self._flushing = True
            self._flusher = threading.Thread(target=self._flush_queue, name="logduct-fifo-emitter", daemon=True)
            self._flusher.start()

    def _flush_queue(self) -> None:
        with self._queue.changed:
            try:
                self._write_backlog()
            finally:
                self._flushing = False

    def _write_backlog(self) -> None:
        """Write the queue out, oldest first, until it is empty; called holding the lock."""
        queue = self._queue
        while queue.lines and not queue.closed:
            stalled = False
            for _ in range(_WRITES_PER_TURN):
                if not queue.lines:
                    break
                if not self._writer.try_write(queue.lines[0]):
                    stalled = True
                    break
                queue.lines.popleft()
                self._sent += 1
            queue.changed.notify_all()
            # Every wait releases the lock, so senders are never held up by the backlog. A full
            # pipe is waited on until the reader makes room; anything else stalled (no reader
            # yet, FIFO-4) is tried again after a pause.
            if stalled:
                queue.changed.release()
                try:
                    waited = self._writer.wait_for_room(RETRY_INTERVAL_S)
                finally:
                    queue.changed.acquire()
                if waited:
                    continue
            queue.changed.wait(RETRY_INTERVAL_S if stalled else 0)
