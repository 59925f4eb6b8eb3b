"""Batches: what one commit stores, when it is due (COL-3), and what waits for it (ZMQ-4). No I/O.

Theory of operation. The collector adds each accepted record and each rejection to the current
batch. ``Batcher.due`` says when to commit it: once it holds ``limit`` items or ``byte_limit``
bytes of input, or once its oldest item is ``max_age_s`` old, so that at low load a record is
committed within that long of its arrival (COL-3). Time is an argument, as in delivery.Window, so
that tests need no clock.

Group commit. While the batch before it is still being committed, a batch whose every item has a
delivery key fills on past ``limit``, up to ``grown_limit``: PostgreSQL is the slower party just
then, and waiting for it would idle the collector. A record with a delivery key costs nothing if a
crash takes it uncommitted, since it was not acknowledged and its emitter sends it again (ZMQ-5);
one without (a FIFO line) is lost, so a batch holding one stops at ``limit``, and FIFO-8's bound of
two batches of ``limit`` holds. ``byte_limit`` bounds every batch, so that what the collector holds
stays small whatever the size of the records.

ZMQ-4, the rule that makes delivery exactly-once: an acknowledgement waits in the batch that holds
the last record of its message, and is sent only after that batch is committed. A message whose
records all went out in earlier commits has nothing left to wait for, and is acknowledged at once.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import NamedTuple, Protocol

from .delivery import Delivery
from .record import Record


class Accepted(NamedTuple):
    """A valid record, with its delivery key when it came over ZeroMQ (ZMQ-3)."""

    record: Record
    delivery: Delivery | None = None


@dataclass(frozen=True, slots=True)
class Rejection:
    """Input that broke a rule, on its way to the quarantine (COL-1, PG-3)."""

    transport: str  # the source's transport: "fifo", "zmq"
    source: str | None  # the FIFO path or the ZeroMQ routing identity
    rule: str
    reason: str
    raw: bytes
    delivery: Delivery | None = None


@dataclass
class Batch:
    """What one commit stores, and what to do once it is committed (ZMQ-4: acknowledge)."""

    records: list[Accepted] = field(default_factory=list)
    rejections: list[Rejection] = field(default_factory=list)
    after_commit: list[Callable[[], None]] = field(default_factory=list)
    #: The batch as its sink will send it, made by ``Sink.prepare`` (PostgreSQL's: the COPY data).
    prepared: bytes | None = None

    def __len__(self) -> int:
        return len(self.records) + len(self.rejections)


@dataclass(frozen=True)
class Written:
    """What a sink did with one batch (COL-5's counters)."""

    stored: int  # records now in the sink
    duplicates: int = 0  # deliveries already stored, not stored again (ZMQ-6)
    refused_by_database: int = 0  # valid records PostgreSQL refused all the same: a bug, quarantined as COL-2
    unstorable: int = 0  # rejections the quarantine refused too: counted and named on stderr (COL-9)


class Commit(Protocol):
    """One batch on its way into the sink: begun, and stored once ``result`` returns."""

    def fileno(self) -> int | None:
        """A descriptor that becomes readable when the sink has news of this commit; None if the
        commit needs no waiting for (``done`` is True)."""
        ...

    def done(self) -> bool:
        """True once ``result`` would return without waiting on the sink. Never waits."""
        ...

    def result(self) -> Written:
        """Wait until the batch is stored in one commit and say what was written; or raise
        DatabaseUnavailable having stored none of it (COL-9)."""
        ...


class Sink(Protocol):
    """Where batches go: PostgreSQL, or stdout (sink.py)."""

    #: Asked while the sink waits on a failing database: True makes ``write`` raise
    #: errors.DatabaseUnavailable instead of waiting on (COL-9).
    give_up: Callable[[], bool]

    def write(self, batch: Batch) -> Written:
        """Store the whole batch in one commit, or raise DatabaseUnavailable having stored none of it."""
        ...

    def prepare(self, batch: Batch) -> None:
        """Do what ``begin`` needs and the sink's connection does not, such as formatting the rows,
        so that the collector does it while the commit before is still under way. Optional: ``begin``
        does what was not done here."""
        ...

    def begin(self, batch: Batch) -> Commit:
        """Start storing the batch and return without waiting for the commit, so that the collector
        reads and judges the next batch meanwhile. The sink holds one commit at a time: the caller
        takes this one's ``result`` before it begins another, or writes."""
        ...

    def close(self) -> None: ...


class Done:
    """A commit that is over already: for sinks that store a batch without waiting on anyone."""

    def __init__(self, written: Written) -> None:
        self._written = written

    def fileno(self) -> None:
        return None

    def done(self) -> bool:
        return True

    def result(self) -> Written:
        return self._written


class Batcher:
    """The current batch: COL-3's size and age bounds, and ZMQ-4's acknowledgements held for its commit."""

    def __init__(self, limit: int, max_age_s: float, *, byte_limit: int, grown_limit: int | None = None) -> None:
        self.limit = limit
        self.max_age_s = max_age_s
        self.byte_limit = byte_limit
        self.grown_limit = max(limit, grown_limit or limit)
        self._batch = Batch()
        self._started = 0.0  # when the first item of the current batch arrived
        self._bytes = 0  # of input in the batch: the lines its records were decoded from, rejections' raw bytes
        self._unkeyed = 0  # items without a delivery key: what a crash would lose (FIFO-8)

    def add_record(self, accepted: Accepted, now: float, size: int) -> None:
        """Add a record decoded from ``size`` bytes of input."""
        self._note_arrival(now)
        self._batch.records.append(accepted)
        self._bytes += size
        if accepted.delivery is None:
            self._unkeyed += 1

    def add_rejection(self, rejection: Rejection, now: float) -> None:
        self._note_arrival(now)
        self._batch.rejections.append(rejection)
        self._bytes += len(rejection.raw)
        if rejection.delivery is None:
            self._unkeyed += 1

    def hold_until_commit(self, acknowledge: Callable[[], None]) -> bool:
        """ZMQ-4: keep ``acknowledge`` until the current batch is committed. False if there is no
        batch, so nothing received is uncommitted: the caller acknowledges at once."""
        if not self._batch:
            return False
        self._batch.after_commit.append(acknowledge)
        return True

    def __len__(self) -> int:
        return len(self._batch)

    def full(self, committing: bool = False) -> bool:
        """COL-3: whether the batch is as large as it may grow. ``committing``: the batch before it
        is still being committed, so a batch of keyed items may fill on to ``grown_limit``."""
        if self._bytes >= self.byte_limit:
            return True
        items = len(self._batch)
        return items >= self.limit and (not committing or self._unkeyed > 0 or items >= self.grown_limit)

    def due(self, now: float, committing: bool = False) -> bool:
        """COL-3: the batch must be committed now."""
        return bool(self._batch) and (self.full(committing) or now - self._started >= self.max_age_s)

    def seconds_until_due(self, now: float) -> float | None:
        """How long the batch may wait; None if there is no batch."""
        if not self._batch:
            return None
        return max(0.0, self._started + self.max_age_s - now)

    def take(self) -> Batch:
        """The batch to commit now; a new, empty one is started."""
        batch, self._batch = self._batch, Batch()
        self._bytes = self._unkeyed = 0
        return batch

    def _note_arrival(self, now: float) -> None:
        if not self._batch:
            self._started = now
