"""Committing on a thread of its own, so that the collector reads and judges the next batch while
PostgreSQL stores the last one.

Why: a commit is mostly waiting. Measured here, PostgreSQL takes longer to store a batch than the
collector takes to send it, and then the commit waits for the write-ahead log; a collector that
waits with it leaves its core idle for a quarter of its time at full load. The waiting now happens
on this thread, with the GIL released.

What it keeps: at most one batch is being committed at a time, in the order submitted, so batches
are committed in the order they were filled. Everything that follows a commit (counters, and ZMQ-4's
acknowledgements, which must go out on the collector's own ZeroMQ socket) is left to the collector's
thread: ``completed`` hands over each batch with what the sink said, and ``wake_fd`` becomes
readable when there is something to hand over, so the collector's wait ends at once.

What it costs: a SIGKILL can now lose the batch being committed as well as the one being filled
(FIFO-8's bound, in collector.py).
"""

from __future__ import annotations

import os
import queue
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from .batching import Batch, Sink, Written
from .errors import DatabaseUnavailable


@dataclass(frozen=True)
class Committed:
    """A batch the sink is done with: what it wrote, or, having stored none of it, why it gave up."""

    batch: Batch
    written: Written | None
    gave_up: DatabaseUnavailable | None = None


class Committer:
    """One thread that writes batches to ``sink``, one at a time, in order.

    Every method but the thread's own ``_run`` is called from the collector's thread only.
    """

    def __init__(self, sink: Sink) -> None:
        self._sink = sink
        self._todo: queue.SimpleQueue[Batch | None] = queue.SimpleQueue()
        self._done: queue.SimpleQueue[Committed | BaseException] = queue.SimpleQueue()
        self._idle = threading.Semaphore(1)  # released when no batch is being committed
        self._unsettled: deque[Batch] = deque()  # submitted, and not yet handed back by ``completed``
        self._unsettled_items = 0  # their records and rejections: an int, which --metrics' thread can read
        self._wake_read, self._wake_write = os.pipe()
        os.set_blocking(self._wake_read, False)
        self._thread = threading.Thread(target=self._run, name="logduct-commit", daemon=True)
        self._thread.start()

    @property
    def wake_fd(self) -> int:
        """Readable once a commit has completed and ``completed`` has something to hand over."""
        return self._wake_read

    def submit(self, batch: Batch) -> None:
        """Commit ``batch`` after the one in flight; wait only while that one is still committing."""
        self._idle.acquire()
        self._unsettled.append(batch)
        self._unsettled_items += len(batch)
        self._todo.put(batch)

    def hold_until_committed(self, after_commit: Callable[[], None]) -> bool:
        """ZMQ-4: attach ``after_commit`` to the last batch submitted and not yet handed back, so that
        it runs once that batch, and so every batch before it, is committed. False if there is none."""
        if not self._unsettled:
            return False
        self._unsettled[-1].after_commit.append(after_commit)
        return True

    def unsettled(self) -> int:
        """Records and rejections submitted and not yet handed back; safe from any thread."""
        return self._unsettled_items

    def completed(self) -> list[Committed]:
        """The batches committed since the last call, in order. A fault of the sink's own (a bug, not
        a database's state, which the sink rides out) is raised here, on the collector's thread."""
        try:
            while os.read(self._wake_read, 4096):
                pass
        except BlockingIOError:
            pass
        done: list[Committed] = []
        while True:
            try:
                item = self._done.get_nowait()
            except queue.Empty:
                return done
            self._unsettled_items -= len(self._unsettled.popleft())
            if isinstance(item, BaseException):
                raise item
            done.append(item)

    def drain(self) -> list[Committed]:
        """Wait for the batch in flight, if any; then hand over every completed batch."""
        self._idle.acquire()
        self._idle.release()
        return self.completed()

    def close(self) -> None:
        """Stop the thread once it is done with what it holds."""
        self._todo.put(None)
        self._thread.join()
        os.close(self._wake_read)
        os.close(self._wake_write)

    def _run(self) -> None:
        while (batch := self._todo.get()) is not None:
            result: Committed | BaseException
            try:
                result = Committed(batch, self._sink.write(batch))
            except DatabaseUnavailable as error:  # told to stop while the database was down (COL-9)
                result = Committed(batch, None, error)
            except BaseException as error:  # a bug: raised again on the collector's thread
                result = error
            self._done.put(result)
            self._idle.release()
            os.write(self._wake_write, b"x")
