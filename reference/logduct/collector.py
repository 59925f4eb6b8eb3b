"""The collector's core: sources in, validated batches out to a sink, counters kept.

Theory of operation. One thread polls every source, FIFOs and ZeroMQ sockets alike. A readable
FIFO is read in one large chunk, which the framer cuts into lines; a ZeroMQ socket yields messages
of numbered records. Each line or record becomes an accepted Record or a Rejection (COL-1), and
both go into the current batch. The batch is written when it holds ``batch_limit`` items or when
its oldest item is ``flush_interval_s`` old (COL-3). Only then, the commit done, are the ZeroMQ
messages whose last record it held acknowledged (ZMQ-4). Signals only set flags, which the loop
reads at least every ``_POLL_CAP_S``: a stop request ends reading, writes what was read, and
returns (COL-4).

What a SIGKILL can cost: over a FIFO, the records of the current batch, at most ``batch_limit``,
plus the rest of the chunk being framed, at most ``fifo.READ_SIZE`` bytes (FIFO-8); over ZeroMQ,
nothing, since what was not committed was not acknowledged and is sent again (ZMQ-5).
"""

from __future__ import annotations

import functools
import sys
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import zmq

from .delivery import Delivery, IncomingMessage
from .errors import ProtocolError
from .fifo import DEFAULT_MODE, FifoReader
from .framing import LineFramer, OverlongLine
from .quarantine import QuarantineBudget
from .record import MAX_RECORD_BYTES, decode
from .sink import Accepted, Batch, Rejection, Sink, SinkUnavailable
from .zmq_transport import Curve, ZmqReceiver

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


class FifoSource:
    """A FIFO and the framer of its byte stream."""

    transport = "fifo"

    def __init__(self, path: str, mode: int = DEFAULT_MODE) -> None:
        self.reader = FifoReader(path, mode)
        self.name = self.reader.path
        self._framer = LineFramer(MAX_RECORD_BYTES)

    def poll_target(self) -> int:
        return self.reader.fileno()

    def read(self) -> list[bytes | OverlongLine]:
        """The complete lines of one read: one read a turn keeps what a SIGKILL can cost small."""
        return self._framer.feed(self.reader.read())

    def close(self) -> bytes | None:
        """Close the FIFO; return the bytes of an unfinished line, if a writer left one."""
        self.reader.close()
        rest = self._framer.end()
        return None if rest is None else rest.data


class ZmqSource:
    """A bound ROUTER socket."""

    transport = "zmq"

    def __init__(self, context: zmq.Context[zmq.Socket[bytes]], endpoint: str, *, allow_remote: bool = False,
                 curve: Curve | None = None, authorized_keys: Path | None = None) -> None:
        self.receiver = ZmqReceiver(context, endpoint, allow_remote=allow_remote, curve=curve,
                                    authorized_keys=authorized_keys)
        self.name = endpoint

    def poll_target(self) -> zmq.Socket[bytes]:
        return self.receiver.socket

    def close(self) -> None:
        self.receiver.close()


Source = FifoSource | ZmqSource


class Collector:
    """Reads sources until asked to stop, storing what it reads in the sink (SPEC.md section 6)."""

    def __init__(self, sources: Sequence[Source], sink: Sink, *, flush_interval_s: float = FLUSH_INTERVAL_S,
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
        self._budgets = {source.name: QuarantineBudget() for source in sources}  # COL-8, per input
        sink.give_up = lambda: self._stop_requested  # COL-9: a dead database waits no longer than a stop

    def request_stop(self) -> None:
        """Safe from a signal handler: the loop stops at its next turn (COL-4)."""
        self._stop_requested = True

    def request_report(self) -> None:
        """Safe from a signal handler: the counters are printed at the next turn (COL-5)."""
        self._report_requested = True

    def run(self) -> Counters:
        """Collect until ``request_stop``; write everything read; return the counters."""
        poller = zmq.Poller()
        by_target: dict[object, Source] = {}
        for source in self.sources:
            by_target[source.poll_target()] = source
            poller.register(source.poll_target(), zmq.POLLIN)
        while not self._stop_requested:
            for target, _ in poller.poll(self._poll_timeout_ms()):
                source = by_target[target]
                if isinstance(source, FifoSource):
                    for line in source.read():
                        self._take_line(line, source)
                else:
                    for identity, incoming in source.receiver.receive():
                        self._take_message(identity, incoming, source)
            self._owed_summaries()
            if self._batch and time.monotonic() - self._batch_started >= self.flush_interval_s:
                self._flush()
            if self._report_requested:
                self._report_requested = False
                self.report()
        self._stop()
        return self.counters

    def _stop(self) -> None:
        # COL-4: no more reading; what is left in the pipes waits there for the next collector, and
        # what ZeroMQ holds unread was not acknowledged, so its emitters send it again.
        for source in self.sources:
            if isinstance(source, FifoSource):
                unfinished = source.close()
                if unfinished is not None:
                    self._reject(source, source.name,
                                 ProtocolError("ENC-2", "line without its LF when the collector stopped"), unfinished)
        self._owed_summaries(final=True)
        self._flush()  # and with it the last acknowledgements
        for source in self.sources:
            if isinstance(source, ZmqSource):
                source.close()
        self.sink.close()

    def report(self, prefix: str = "logduct: ") -> None:
        print(prefix + self.counters.summary(), file=sys.stderr, flush=True)

    def _poll_timeout_ms(self) -> int:
        wait = _POLL_CAP_S
        if self._batch:
            wait = min(wait, self._batch_started + self.flush_interval_s - time.monotonic())
        return max(0, int(wait * 1000))

    def _take_line(self, line: bytes | OverlongLine, source: FifoSource) -> None:
        self.counters.received += 1
        if isinstance(line, OverlongLine):
            self._reject(source, source.name, ProtocolError(
                "ENC-3", f"line longer than {MAX_RECORD_BYTES:,} bytes; first {len(line.prefix):,} kept"),
                line.prefix)
        else:
            self._take_record(line, source, source.name)

    def _take_message(self, identity: bytes, incoming: IncomingMessage, source: ZmqSource) -> None:
        who = _identity_text(identity)
        try:
            message = incoming.parse()
        except ProtocolError as error:  # ZMQ-11, ZMQ-12: quarantined whole, never acknowledged
            self.counters.received += 1
            self._reject(source, who, error, incoming.quarantined())
            return
        self.counters.received += len(message.records)
        for raw, delivery in zip(message.records, message.deliveries(), strict=True):
            self._take_record(raw, source, who, delivery)
        # ZMQ-4: acknowledged once the batch holding its last record is committed; if that record
        # filled a batch, the commit has just happened.
        acknowledge = functools.partial(source.receiver.send, identity, message.ack())
        if self._batch:
            self._batch.after_commit.append(acknowledge)
        else:
            acknowledge()

    def _take_record(self, raw: bytes, source: Source, who: str, delivery: Delivery | None = None) -> None:
        try:
            record = decode(raw)
        except ProtocolError as error:
            self._reject(source, who, error, raw, delivery)
        else:
            self._note_arrival()
            self._batch.records.append(Accepted(record, delivery))
            self._flush_if_full()

    def _reject(self, source: Source, who: str, error: ProtocolError, raw: bytes,
                delivery: Delivery | None = None) -> None:
        self.counters.rejected[error.rule] += 1
        if not self._budgets[source.name].admit(error.rule, len(raw), time.time()):
            self.counters.not_quarantined += 1  # COL-8: counted, not stored
            return
        self._note_arrival()
        self._batch.rejections.append(Rejection(source.transport, who, error.rule, str(error), raw, delivery))
        self._flush_if_full()

    def _owed_summaries(self, final: bool = False) -> None:
        """COL-8: one row for each input and second in which rejections were not stored."""
        for source in self.sources:
            for reason in self._budgets[source.name].summaries(time.time(), final=final):
                self._note_arrival()
                self._batch.rejections.append(Rejection(source.transport, source.name, "COL-8", reason, b""))

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
        try:
            written = self.sink.write(batch)
        except SinkUnavailable as error:  # only once told to stop: nothing of the batch is acknowledged
            print(f"logduct: {error}; {len(batch):,} records and rejections not stored", file=sys.stderr)
            self.counters.not_stored += len(batch)
            return
        # ZMQ-4: acknowledged only now, the commit done.
        for acknowledge in batch.after_commit:
            acknowledge()
        self.counters.stored += written.stored
        self.counters.duplicates += written.duplicates
        self.counters.unstorable += written.unstorable
        if written.refused_by_database:
            self.counters.refused_by_database += written.refused_by_database
            self.counters.rejected["COL-2"] += written.refused_by_database


def _identity_text(identity: bytes) -> str:
    """A routing identity fit to print: text if the emitter chose one, hex if ROUTER made it up."""
    if identity and not identity.startswith(b"\x00"):
        try:
            return identity.decode()
        except UnicodeDecodeError:
            pass
    return "0x" + identity.hex()
