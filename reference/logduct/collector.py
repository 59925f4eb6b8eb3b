"""The collector's loop: sources in, judged records and rejections out to a sink, counters kept.

Theory of operation. One thread waits on every source at once, whatever its transport, and takes
the ``Arrivals`` each has (source.py): lines or records to judge, what the transport refused, and
for ZeroMQ an acknowledgement. Each line becomes an accepted Record or a Rejection (COL-1), and
both go into the current batch (batching.py), which is committed when full or old enough (COL-3).
Only then, the commit done, are the acknowledgements it holds sent (ZMQ-4, ``_settle``). A commit
is begun and left to PostgreSQL while the loop reads on (sink.py); one is in flight at a time, and
the next begins only once it is settled, so batches are committed in the order they were filled.
The sink prepares the next (formats its rows) before that wait, not after it. Signals
only set flags, which the loop reads at least every ``_POLL_CAP_S``: a stop request ends reading,
commits what was read, and returns (COL-4).

What a SIGKILL can cost: over a FIFO, the records of the current batch and of the batch in
flight, at most ``batch_limit`` each, plus the rest of the chunk being framed (FIFO-8); over
ZeroMQ, nothing, since what was not committed was not acknowledged and is sent again (ZMQ-5). That
difference is why only a batch of ZeroMQ records grows while PostgreSQL commits the one before it
(batching.py, group commit).
"""

from __future__ import annotations

import itertools
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from .batching import Accepted, Batch, Batcher, Commit, Rejection, Sink, Written
from .delivery import Delivery
from .errors import DatabaseUnavailable, ProtocolError
from .quarantine import QuarantineBudget
from .readiness import Readiness
from .record import decode
from .source import Arrivals, Source

#: COL-3: at low load a record is committed within this much of its arrival, plus the commit.
FLUSH_INTERVAL_S = 0.1
#: COL-3: the most records and rejections one commit holds. Twice this, the batch being filled and
#: the one in flight, plus one read, is FIFO-8's loss bound. 10,000 gained 6% of throughput here,
#: when commits were waited for, and multiplies what a SIGKILL costs by ten.
BATCH_LIMIT = 1_000
#: While the batch before it commits, a batch of records that are sent again if lost (ZeroMQ's) may
#: grow to this many times BATCH_LIMIT rather than wait (batching.py). Measured here, 4 interleaved
#: pairs of ZeroMQ end to end (python -m bench): 1.05 to 1.14 times the throughput of waiting.
GROWTH_WHILE_COMMITTING = 4
#: COL-3's bound in bytes: the input one batch holds at most. Records of seed-like size (about 250
#: bytes) never reach it; 64 KiB records do at 64, where a thousand of them, decoded and formatted
#: for COPY, took the collector past 300 MB.
BATCH_BYTES_LIMIT = 4 << 20
#: The longest the loop goes without looking at its flags.
_POLL_CAP_S = 0.1


@dataclass
class Counters:
    """COL-5: what came in and where it went."""

    received: int = 0
    stored: int = 0
    rejected: Counter[str] = field(default_factory=Counter)  # by rule ID
    duplicates: int = 0
    refused_by_database: int = 0
    not_stored: int = 0  # read, and never stored: the database was down when the collector stopped
    not_quarantined: int = 0  # rejections past COL-8's bound: counted, not stored
    unstorable: int = 0  # rejections the quarantine itself refused (COL-9)
    started: float = field(default_factory=time.monotonic)

    def summary(self) -> str:
        rules = ", ".join(f"{rule} {n:,}" for rule, n in sorted(self.rejected.items()))
        text = (f"received {self.received:,}, stored {self.stored:,}, "
                f"rejected {sum(self.rejected.values()):,}{f' ({rules})' if rules else ''}")
        if self.duplicates:
            text += f", duplicates {self.duplicates:,} (ZMQ-6, not stored again)"
        if self.refused_by_database:
            text += f", refused by PostgreSQL {self.refused_by_database:,} (COL-2, quarantined)"
        if self.not_quarantined:
            text += f", past the quarantine's bound {self.not_quarantined:,} (COL-8, counted only)"
        if self.unstorable:
            text += f", refused by the quarantine {self.unstorable:,} (COL-9)"
        if self.not_stored:
            text += f", NOT STORED {self.not_stored:,} (PostgreSQL unavailable at the stop)"
        return f"{text}; up {time.monotonic() - self.started:,.1f} s"

    def add(self, written: Written) -> None:
        self.stored += written.stored
        self.duplicates += written.duplicates
        self.unstorable += written.unstorable
        if written.refused_by_database:
            self.refused_by_database += written.refused_by_database
            self.rejected["COL-2"] += written.refused_by_database


class Collector:
    """Reads sources until asked to stop, storing what it reads in the sink (SPEC.md section 6)."""

    def __init__(self, sources: Sequence[Source], sink: Sink, *, flush_interval_s: float = FLUSH_INTERVAL_S,
                 batch_limit: int = BATCH_LIMIT) -> None:
        self.sources = sources
        self.sink = sink
        self.counters = Counters()
        self._batcher = Batcher(batch_limit, flush_interval_s, byte_limit=BATCH_BYTES_LIMIT,
                                grown_limit=GROWTH_WHILE_COMMITTING * batch_limit)
        self._in_flight: tuple[Commit, Batch] | None = None  # begun, its result not yet taken
        self._next: Batch | None = None  # taken from the batcher and prepared, waiting for the one in flight
        self._stop_requested = False
        self._report_requested = False
        self._budgets = {source.name: QuarantineBudget() for source in sources}  # COL-8, per input
        sink.give_up = lambda: self._stop_requested  # COL-9: a dead database waits no longer than a stop

    def request_stop(self) -> None:
        """Safe from a signal handler: the loop stops at its next turn (COL-4)."""
        self._stop_requested = True

    def request_report(self) -> None:
        """Safe from a signal handler: the counters are printed at the next turn (COL-5)."""
        self._report_requested = True

    def uncommitted(self) -> int:
        """Records and rejections read and not yet committed: the current batch (COL-3), for --metrics."""
        return (len(self._batcher) + (len(self._in_flight[1]) if self._in_flight else 0)
                + (len(self._next) if self._next else 0))

    def run(self) -> Counters:
        """Collect until ``request_stop``; commit everything read; return the counters."""
        readiness = Readiness(self.sources)
        while not self._stop_requested:
            for source in readiness.wait(self._wait_s(), also=self._in_flight[0].fileno() if self._in_flight else None):
                for arrivals in source.receive():
                    self._take(source, arrivals)
            if self._in_flight and self._in_flight[0].done():
                self._settle()
            self._owed_summaries()
            if self._batcher.due(time.monotonic(), committing=self._in_flight is not None):
                self._commit()
            if self._report_requested:
                self._report_requested = False
                self.report()
        self._stop()
        return self.counters

    def _stop(self) -> None:
        """COL-4: read no more, commit what was read (and with it the last acknowledgements)."""
        for source in self.sources:
            for arrivals in source.stop_reading():
                self._take(source, arrivals)
        self._owed_summaries(final=True)
        self._commit()
        self._settle()
        for source in self.sources:
            source.close()
        self.sink.close()

    def report(self, prefix: str = "logduct: ") -> None:
        print(prefix + self.counters.summary(), file=sys.stderr, flush=True)

    def _wait_s(self) -> float:
        until_due = self._batcher.seconds_until_due(time.monotonic())
        return _POLL_CAP_S if until_due is None else min(_POLL_CAP_S, until_due)

    def _take(self, source: Source, arrivals: Arrivals) -> None:
        """Judge each line (COL-1) into the batch; then hold the acknowledgement for its commit."""
        self.counters.received += len(arrivals)
        now = time.monotonic()  # when they arrived, for COL-3: one clock reading for the group
        deliveries: Iterable[Delivery | None] = arrivals.deliveries or itertools.repeat(None)
        for raw, delivery in zip(arrivals.lines, deliveries, strict=False):  # deliveries may be endless
            try:
                record = decode(raw)
            except ProtocolError as error:  # sections 1 and 2
                self._reject(source, arrivals.sender, error, raw, now, delivery)
            else:
                self._batcher.add_record(Accepted(record, delivery), now, len(raw))
                self._commit_if_full()
        for refused in arrivals.refused:  # the transport's own verdicts: ENC-2, ENC-3, ZMQ-11, ZMQ-12
            self._reject(source, arrivals.sender, refused.error, refused.raw, now)
        if arrivals.acknowledge is not None:
            self._acknowledge_after_commit(arrivals.acknowledge)

    def _acknowledge_after_commit(self, acknowledge: Callable[[], None]) -> None:
        """ZMQ-4: an acknowledgement waits for the commit of the batch holding the message's last
        record. If that record completed a batch, that batch is the one in flight, or committed."""
        if self._batcher.hold_until_commit(acknowledge):
            return
        if self._in_flight is not None:
            self._in_flight[1].after_commit.append(acknowledge)
        else:
            acknowledge()

    def _reject(self, source: Source, sender: str, error: ProtocolError, raw: bytes, now: float,
                delivery: Delivery | None = None) -> None:
        self.counters.rejected[error.rule] += 1
        if not self._budgets[source.name].admit(error.rule, len(raw), time.time()):
            self.counters.not_quarantined += 1  # COL-8: counted, not stored
            return
        self._batcher.add_rejection(Rejection(source.transport, sender, error.rule, str(error), raw, delivery), now)
        self._commit_if_full()

    def _owed_summaries(self, final: bool = False) -> None:
        """COL-8: one row for each input and second in which rejections were not stored."""
        for source in self.sources:
            for reason in self._budgets[source.name].summaries(time.time(), final=final):
                self._batcher.add_rejection(Rejection(source.transport, source.name, "COL-8", f"COL-8: {reason}", b""),
                                            time.monotonic())

    def _commit_if_full(self) -> None:
        if self._batcher.full(committing=self._in_flight is not None):
            self._commit()

    def _commit(self) -> None:
        """COL-3: begin storing the batch in one commit, once the one before it is settled. The sink
        prepares it first, while PostgreSQL may still be committing the one before: done after
        ``_settle``, formatting 1,000 rows kept PostgreSQL waiting 0.5-0.7 ms a batch (issue 13)."""
        batch = self._next = self._batcher.take()
        if batch:
            self.sink.prepare(batch)
        self._settle()
        self._next = None
        if not batch:
            return
        try:
            self._in_flight = (self.sink.begin(batch), batch)
        except DatabaseUnavailable as error:  # only once told to stop
            self._not_stored(batch, error)
            return
        if self._in_flight[0].done():  # stored already (stdout; a batch written the careful way)
            self._settle()

    def _settle(self) -> None:
        """Wait for the commit in flight; then, and only then, acknowledge what it holds (ZMQ-4)."""
        if self._in_flight is None:
            return
        commit, batch = self._in_flight
        try:
            written = commit.result()
        except DatabaseUnavailable as error:
            self._not_stored(batch, error)
            return
        finally:
            self._in_flight = None
        self.counters.add(written)
        for acknowledge in batch.after_commit:  # ZMQ-4: the commit is done
            acknowledge()

    def _not_stored(self, batch: Batch, error: DatabaseUnavailable) -> None:
        """COL-9, at a stop with the database failing: nothing of the batch is acknowledged."""
        print(f"logduct: {error}; {len(batch):,} records and rejections not stored", file=sys.stderr)
        self.counters.not_stored += len(batch)
