"""The collector's core: sources in, validated batches out to a sink, counters kept.

Theory of operation. One thread polls every source. A readable FIFO is read in large chunks; the
framer cuts the chunks into lines; each line becomes a Record or a Rejection (COL-1), and both go
into the current batch. The batch is written when it holds ``batch_limit`` items or when its oldest
item is ``flush_interval_s`` old (COL-3). Signals only set flags, which the loop reads at least
every ``_POLL_CAP_S``: a stop request ends reading, writes what was read, and returns (COL-4).

What a SIGKILL can cost (FIFO-8): the records of the current batch, at most ``batch_limit``, plus
the rest of the chunk being framed, at most ``fifo.READ_SIZE`` bytes. Nothing is committed twice.
"""

from __future__ import annotations

import sys
import time
from collections import Counter
from dataclasses import dataclass, field

import zmq

from .errors import ProtocolError
from .fifo import DEFAULT_MODE, FifoReader
from .framing import LineFramer, OverlongLine
from .record import MAX_RECORD_BYTES, decode
from .sink import Batch, Rejection, Sink

#: COL-3: at low load a record is committed within this much of its arrival, plus the commit.
FLUSH_INTERVAL_S = 0.1
#: COL-3: the most records and rejections one commit holds; with one read, FIFO-8's loss bound.
#: 10,000 gains 6% of throughput here and multiplies what a SIGKILL costs by five.
BATCH_LIMIT = 2_000
#: The longest the loop goes without looking at its flags.
_POLL_CAP_S = 0.1


@dataclass
class Counters:
    """COL-5: what came in and where it went."""

    received: int = 0
    stored: int = 0
    rejected: Counter[str] = field(default_factory=Counter)  # by rule ID
    refused_by_database: int = 0
    started: float = field(default_factory=time.monotonic)

    def summary(self) -> str:
        rules = ", ".join(f"{rule} {n:,}" for rule, n in sorted(self.rejected.items()))
        text = (f"received {self.received:,}, stored {self.stored:,}, "
                f"rejected {sum(self.rejected.values()):,}{f' ({rules})' if rules else ''}")
        if self.refused_by_database:
            text += f", refused by PostgreSQL {self.refused_by_database:,} (COL-2, quarantined)"
        return f"{text}; up {time.monotonic() - self.started:,.1f} s"


class FifoSource:
    """A FIFO and the framer of its byte stream."""

    transport = "fifo"

    def __init__(self, path: str, mode: int = DEFAULT_MODE) -> None:
        self.reader = FifoReader(path, mode)
        self.name = self.reader.path
        self._framer = LineFramer(MAX_RECORD_BYTES)

    def fileno(self) -> int:
        return self.reader.fileno()

    def read(self) -> list[bytes | OverlongLine]:
        """The complete lines of one read: one read a turn keeps what a SIGKILL can cost small."""
        return self._framer.feed(self.reader.read())

    def close(self) -> bytes | None:
        """Close the FIFO; return the bytes of an unfinished line, if a writer left one."""
        self.reader.close()
        rest = self._framer.end()
        return None if rest is None else rest.data


class Collector:
    """Reads sources until asked to stop, storing what it reads in the sink (SPEC.md section 6)."""

    def __init__(self, sources: list[FifoSource], sink: Sink, *, flush_interval_s: float = FLUSH_INTERVAL_S,
                 batch_limit: int = BATCH_LIMIT) -> None:
        self.sources = sources
        self.sink = sink
        self.flush_interval_s = flush_interval_s
        self.batch_limit = batch_limit
        self.counters = Counters()
        self._batch = Batch()
        self._batch_started = 0.0
        self._stop_requested = False
        self._report_requested = False

    def request_stop(self) -> None:
        """Safe from a signal handler: the loop stops at its next turn (COL-4)."""
        self._stop_requested = True

    def request_report(self) -> None:
        """Safe from a signal handler: the counters are printed at the next turn (COL-5)."""
        self._report_requested = True

    def run(self) -> Counters:
        """Collect until ``request_stop``; write everything read; return the counters."""
        poller = zmq.Poller()
        by_fd = {source.fileno(): source for source in self.sources}
        for fd in by_fd:
            poller.register(fd, zmq.POLLIN)
        while not self._stop_requested:
            for fd, _ in poller.poll(self._poll_timeout_ms()):
                source = by_fd[fd]
                for line in source.read():
                    self._take(line, source)
            if self._batch and time.monotonic() - self._batch_started >= self.flush_interval_s:
                self._flush()
            if self._report_requested:
                self._report_requested = False
                self.report()
        # COL-4: no more reading; what is left in the pipes waits there for the next collector.
        for source in self.sources:
            unfinished = source.close()
            if unfinished is not None:
                self._reject(source, ProtocolError("ENC-2", "line without its LF when the collector stopped"),
                             unfinished)
        self._flush()
        self.sink.close()
        return self.counters

    def report(self, prefix: str = "logduct: ") -> None:
        print(prefix + self.counters.summary(), file=sys.stderr, flush=True)

    def _poll_timeout_ms(self) -> int:
        wait = _POLL_CAP_S
        if self._batch:
            wait = min(wait, self._batch_started + self.flush_interval_s - time.monotonic())
        return max(0, int(wait * 1000))

    def _take(self, line: bytes | OverlongLine, source: FifoSource) -> None:
        self.counters.received += 1
        if isinstance(line, OverlongLine):
            self._reject(source, ProtocolError(
                "ENC-3", f"line longer than {MAX_RECORD_BYTES:,} bytes; first {len(line.prefix):,} kept"),
                line.prefix)
        else:
            try:
                record = decode(line)
            except ProtocolError as error:
                self._reject(source, error, line)
            else:
                self._note_arrival()
                self._batch.records.append(record)
                self._flush_if_full()

    def _reject(self, source: FifoSource, error: ProtocolError, raw: bytes) -> None:
        self._note_arrival()
        self._batch.rejections.append(Rejection(source.transport, source.name, error.rule, str(error), raw))
        self._flush_if_full()

    def _note_arrival(self) -> None:
        if not self._batch:
            self._batch_started = time.monotonic()

    def _flush_if_full(self) -> None:
        if len(self._batch) >= self.batch_limit:
            self._flush()

    def _flush(self) -> None:
        if not self._batch:
            return
        batch, self._batch = self._batch, Batch()
        written = self.sink.write(batch)
        self.counters.stored += written.stored
        self.counters.rejected.update(r.rule for r in batch.rejections)
        if written.refused_by_database:
            self.counters.refused_by_database += written.refused_by_database
            self.counters.rejected["COL-2"] += written.refused_by_database
