"""Delivery over ZeroMQ: messages, acknowledgements, flow control, de-duplication. No I/O.

Theory of operation (SPEC.md section 5). An emitter numbers its records 1, 2, 3... within a session
(16 random bytes chosen at start) and sends them in messages of consecutive records. It keeps every
message in its ``Window`` until the collector acknowledges it. The collector acknowledges a message
only once every record of it is committed (ZMQ-4) and stores each (session, sequence number) once
(ZMQ-6), which PostgreSQL enforces with a unique index (PG-4); a sink without one uses
``SeenDeliveries``. Together: a collector may die at any moment and nothing is lost or doubled while
the emitter lives.

Flow control is TCP's, for the same reason TCP has it (RFC 5681, RFC 6298): a collector that is
slow, not dead, must not be buried under copies of what it is still working on. The emitter keeps
at most a window of records unacknowledged (ZMQ-13); the window starts small and grows as
acknowledgements come back. The retransmission timeout follows the round trips it measures
(ZMQ-14), and, as TCP restarts its timer whenever new data is acknowledged (RFC 6298 5.3), a
message's timer starts again whenever a message sent before it is acknowledged: the collector is
still working through what came first, so however long its queue, a collector that keeps answering
is not sent copies. When the oldest unacknowledged message is late all the same, that one message is
sent again, the timeout doubles and the window falls back to its start (ZMQ-15). A lost connection sends everything
unacknowledged again, since it may have died with the connection, but a window at a time. So a
late collector gets one copy per timeout, each timeout twice as far apart: no storm can build.

The wire format, ZMQ-3 and ZMQ-4 (ROUTER adds and strips the routing identity frame):

    emitter -> collector:  b"LD1" | session (16 bytes) | first seq (u64 BE) | record | record | ...
    collector -> emitter:  b"LD1" | session (16 bytes) | first seq (u64 BE) | count (u64 BE)
"""

from __future__ import annotations

import itertools
import re
import struct
import uuid
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import NamedTuple

from .errors import ProtocolError
from .record import MAX_RECORD_BYTES

#: ZMQ-3: the first frame of every message, naming protocol version 1.
TAG = b"LD1"
#: ZMQ-11: the tag of any version: LD and a version number, no leading zero (VER-2 if not 1).
_OTHER_VERSION = re.compile(rb"LD[1-9][0-9]*")
#: ZMQ-3: sequence numbers run from 1 to 2^63-1, so that each fits PostgreSQL's BIGINT (PG-2).
MAX_SEQ = 2**63 - 1
#: ZMQ-12: the most records one message carries, and the most bytes its record frames hold together:
#: what a collector keeps of one message while it judges it (libzmq itself assembles a whole
#: message before handing any of it over, so a hostile one costs libzmq its full size meanwhile).
MAX_MESSAGE_RECORDS = 1_024
MAX_MESSAGE_BYTES = 1 << 20
_HEADER_FRAMES = 3  # tag, session, first seq
_U64 = struct.Struct(">Q")
_SESSION_BYTES = 16

#: ZMQ-13: the reference emitter's window, in records. It starts at one message, so that fifty
#: emitters starting together queue about 13,000 records at the collector (half a second of its
#: work), not half a million. (Four messages, 1,024 records, were tried so that a late starter among
#: many always has one waiting for its turn at the ROUTER: in 8 interleaved pairs of runs, 50
#: emitters x 2,000 records, neither throughput nor the slowest emitter's time differed beyond the
#: noise, and the collector's peak RSS rose by 5 to 10 MB.) It grows by what is acknowledged
#: while round trips stay under a quarter of the retransmission timeout: slow start doubles the
#: window each round trip, and a queue at the collector doubles with it, so growing only while a
#: round trip is under RTO/4 keeps the next one under RTO/2, and a collector that is only slow
#: never sees a copy.
INITIAL_WINDOW_RECORDS = 256
MAX_WINDOW_RECORDS = 8_192
GROWTH_LIMIT_OF_RTO = 0.25

#: ZMQ-14: the reference's retransmission timeout: where it starts, its floor and its cap. Over one
#: connection ZeroMQ loses nothing, and a lost connection is answered at once (ZMQ-15), so the timer
#: is the last resort, for an acknowledgement the collector dropped. Its floor is therefore set
#: above the queueing a busy collector shows under flow control (a window's growth overshoots by
#: at most one round trip), so that a collector that is only slow is waited for, not sent copies.
INITIAL_RTO_S = 3.0
MIN_RTO_S = 3.0
MAX_RTO_S = 60.0
_CLOCK_GRANULARITY_S = 0.01  # RFC 6298's G


class Delivery(NamedTuple):
    """The key of one record's delivery: stored at most once (ZMQ-6, PG-4). A tuple: one is made
    for every record received."""

    session: uuid.UUID
    seq: int


@dataclass(frozen=True, slots=True)
class Message:
    """A parsed emitter message: records ``first_seq``, ``first_seq + 1``, ... of ``session``."""

    session: uuid.UUID
    first_seq: int
    records: list[bytes]

    def deliveries(self) -> list[Delivery]:
        # One key a record, so made without a Python-level call each: tuple.__new__ builds each
        # Delivery from the (session, seq) pairs zip makes, in C (0.07 us a key instead of 0.16).
        pairs = zip(itertools.repeat(self.session), range(self.first_seq, self.first_seq + len(self.records)))
        return list(map(tuple.__new__, itertools.repeat(Delivery), pairs))

    def ack(self) -> list[bytes]:
        """ZMQ-4: the acknowledgement of this whole message."""
        return [TAG, self.session.bytes, _U64.pack(self.first_seq), _U64.pack(len(self.records))]


def encode_message(session: uuid.UUID, first_seq: int, records: list[bytes]) -> list[bytes]:
    """ZMQ-3: the frames of a message; records without their LF."""
    return [TAG, session.bytes, _U64.pack(first_seq), *records]


class IncomingMessage:
    """The frames of one message as they arrive, kept only while within ZMQ-12's bounds (the
    collector's side; the emitter's is ZmqEmitter._next_message_lines).

    A receiver adds every frame; past the bounds a frame is counted and let go, so that a message of
    any size costs at most ``MAX_MESSAGE_BYTES`` here. ``parse`` then judges the whole message.
    """

    def __init__(self) -> None:
        self.frames: list[bytes] = []
        self.frame_count = 0
        self.record_bytes = 0

    def add(self, frame: bytes) -> None:
        self.frame_count += 1
        if self.frame_count > _HEADER_FRAMES:
            self.record_bytes += len(frame)
        if self.frame_count <= _HEADER_FRAMES + MAX_MESSAGE_RECORDS and self.record_bytes <= MAX_MESSAGE_BYTES:
            self.frames.append(frame)

    def parse(self) -> Message:
        return parse_message(self.frames, frame_count=self.frame_count, record_bytes=self.record_bytes)

    def quarantined(self) -> bytes:
        """What the quarantine keeps of a refused message: its first frames, at most a record's worth."""
        return b"\n".join(self.frames)[:MAX_RECORD_BYTES]


def parse_message(frames: list[bytes], *, frame_count: int | None = None, record_bytes: int | None = None) -> Message:
    """ZMQ-3, ZMQ-11, ZMQ-12: the message ``frames`` hold, or ProtocolError naming what is wrong.

    ``frame_count`` and ``record_bytes`` describe the whole message when ``frames`` are only the
    first of its frames (``IncomingMessage``); by default, ``frames`` are all of it.
    """
    tag = frames[0] if frames else b""
    if tag != TAG:
        if _OTHER_VERSION.fullmatch(tag):  # VER-2: a version this collector does not implement
            raise ProtocolError("VER-2", f"protocol tag {tag!r} is not implemented (this collector speaks LD1)")
        raise ProtocolError("ZMQ-11", "the first frame must be the tag LD1", value=tag[:16])
    frame_count = len(frames) if frame_count is None else frame_count
    if frame_count <= _HEADER_FRAMES:
        raise ProtocolError("ZMQ-11", f"a message has 4 or more frames; this one has {frame_count}")
    session, first_seq = frames[1], frames[2]
    if len(session) != _SESSION_BYTES:
        raise ProtocolError("ZMQ-11", f"the session ID is 16 bytes, not {len(session)}")
    if len(first_seq) != _U64.size:
        raise ProtocolError("ZMQ-11", f"the sequence number is 8 bytes, not {len(first_seq)}")
    count = frame_count - _HEADER_FRAMES
    if record_bytes is None:
        record_bytes = sum(map(len, frames[_HEADER_FRAMES:]))
    if count > MAX_MESSAGE_RECORDS:
        raise ProtocolError("ZMQ-12", f"a message carries at most {MAX_MESSAGE_RECORDS:,} records; "
                            f"this one has {count:,} (refused whole)")
    if record_bytes > MAX_MESSAGE_BYTES:
        raise ProtocolError("ZMQ-12", f"a message's records hold at most {MAX_MESSAGE_BYTES:,} bytes; "
                            f"this one's hold {record_bytes:,} (refused whole)")
    first = _U64.unpack(first_seq)[0]
    if not 1 <= first <= MAX_SEQ - count + 1:
        raise ProtocolError("ZMQ-11", f"sequence numbers run from 1 to 2^63-1; this message's {count:,} records "
                            f"would be numbered from {first:,}")
    # ZMQ-3: a trailing LF on a record frame is allowed and ignored.
    records = [frame[:-1] if frame.endswith(b"\n") else frame for frame in frames[_HEADER_FRAMES:]]
    return Message(uuid.UUID(bytes=session), first, records)


def parse_ack(frames: list[bytes]) -> tuple[uuid.UUID, int, int]:
    """ZMQ-4: (session, first seq, count) of an acknowledgement."""
    if len(frames) != 4 or frames[0] != TAG or len(frames[1]) != _SESSION_BYTES or \
            len(frames[2]) != _U64.size or len(frames[3]) != _U64.size:
        raise ProtocolError("ZMQ-4", "an acknowledgement is LD1, session, first seq, count", value=frames[:4])
    return uuid.UUID(bytes=frames[1]), _U64.unpack(frames[2])[0], _U64.unpack(frames[3])[0]


class SeenDeliveries:
    """ZMQ-6 without a database: which (session, seq) were stored, in memory that stays small.

    Per session it keeps a watermark below which every seq was seen, and the seqs seen above it.
    Emitters send in order and resend only what is unacknowledged, so the set stays short.
    """

    def __init__(self) -> None:
        self._watermark: dict[uuid.UUID, int] = {}
        self._above: dict[uuid.UUID, set[int]] = {}

    def add(self, delivery: Delivery) -> bool:
        """Record ``delivery``; True if it is new, False if it was seen before."""
        done = self._watermark.get(delivery.session, 0)
        above = self._above.setdefault(delivery.session, set())
        if delivery.seq <= done or delivery.seq in above:
            return False
        above.add(delivery.seq)
        while done + 1 in above:
            done += 1
            above.remove(done)
        self._watermark[delivery.session] = done
        return True



@dataclass
class _InFlight:
    records: list[bytes]
    outstanding: bool = False  # sent and not yet acknowledged; False: waiting to be sent (again)
    urgent: bool = False  # its timer ran out: it goes again whatever the window (ZMQ-15)
    transmissions: int = 0
    sent_at: float = 0.0
    send_number: int = 0  # which send of its window this was: the order, where clocks may tie


@dataclass
class Window:
    """The emitter's side of delivery (ZMQ-5, ZMQ-7, ZMQ-13 to ZMQ-15). Time is passed in, never read.

    Messages are ``open``ed from queued records; ``next_to_send`` names the oldest message the window
    lets out now, and the caller reports it ``sent`` once the socket took it. ``acknowledge`` settles
    a message, ``expire`` runs the retransmission timer, ``connection_lost`` answers a lost connection.
    """

    session: uuid.UUID = field(default_factory=uuid.uuid4)
    next_seq: int = 1
    #: ZMQ-13: records that may be outstanding at once (TCP's congestion window).
    size: int = INITIAL_WINDOW_RECORDS
    #: ZMQ-14: RFC 6298's state; no estimate until the first acknowledgement of a message sent once.
    rto_s: float = INITIAL_RTO_S
    srtt_s: float | None = None
    rttvar_s: float = 0.0
    records_in_flight: int = 0  # opened and not acknowledged, outstanding or not (ZMQ-7)
    records_outstanding: int = 0
    acknowledged: int = 0
    retransmitted: int = 0  # records sent more than once
    timeouts: int = 0
    _in_flight: OrderedDict[int, _InFlight] = field(default_factory=OrderedDict)
    #: RFC 6298 5.3, per message: when the last acknowledgement came, and the send number of the
    #: message it settled. A message sent after that one has been waiting, at most, since then.
    _sends: int = 0
    _last_ack_at: float = 0.0
    _last_ack_send_number: int | None = None

    def room(self) -> int:
        """How many more records may go out now (ZMQ-13)."""
        return max(0, self.size - self.records_outstanding)

    def open(self, records: list[bytes]) -> int:
        """Number ``records`` as the next message, to be sent; return its first sequence number."""
        first = self.next_seq
        self.next_seq += len(records)
        self._in_flight[first] = _InFlight(records)
        self.records_in_flight += len(records)
        return first

    def next_to_send(self) -> int | None:
        """The oldest message waiting to be sent that may go now; else None. A message goes if the
        window has room for it, if nothing is outstanding (so that one larger than the window is not
        stuck), or if its timer ran out."""
        for first, message in self._in_flight.items():
            if not message.outstanding and (message.urgent or self.records_outstanding == 0 or
                                            len(message.records) <= self.room()):
                return first
        return None

    def frames(self, first: int) -> list[bytes]:
        return encode_message(self.session, first, self._in_flight[first].records)

    def sent(self, first: int, now: float) -> None:
        """The socket took message ``first`` at ``now``."""
        message = self._in_flight[first]
        if message.transmissions:
            self.retransmitted += len(message.records)
        message.outstanding, message.urgent, message.sent_at = True, False, now
        message.transmissions += 1
        self._sends += 1
        message.send_number = self._sends
        self.records_outstanding += len(message.records)

    def acknowledge(self, frames: list[bytes], now: float) -> int:
        """Apply an acknowledgement; the number of records it settled (0 for a stale or repeated one)."""
        session, first, count = parse_ack(frames)
        message = self._in_flight.get(first) if session == self.session else None
        if message is None or len(message.records) != count:
            return 0
        del self._in_flight[first]
        self.records_in_flight -= count
        self.acknowledged += count
        if message.outstanding:
            self.records_outstanding -= count
        self._last_ack_at, self._last_ack_send_number = now, message.send_number
        rtt_s = None
        if message.transmissions == 1:  # Karn's algorithm: a copy's acknowledgement times nothing
            rtt_s = now - message.sent_at
            self._measure(rtt_s)
        self._grow(count, rtt_s)
        return count

    def timer_deadline(self) -> float | None:
        """When the timer of the longest-outstanding message runs out, if any is outstanding.

        Each message has its own timer, started when it is sent, and started again (RFC 6298 5.3)
        while the latest acknowledgement settled a message sent before it: the collector, which
        answers one emitter's messages in the order it got them, is still busy with those. Once a
        message sent after it is acknowledged, its timer runs from its own send again: it looks
        lost, and acknowledgements answer messages, not a stream, so one that never comes is not
        hidden by others that do. Each restart needs a different older message acknowledged, so a
        message's copy is put off by at most one timeout per message sent before it."""
        late = self._longest_outstanding()
        if late is None:
            return None
        restarted = self._last_ack_send_number is not None and self._last_ack_send_number < late.send_number
        return max(late.sent_at, self._last_ack_at if restarted else late.sent_at) + self.rto_s

    def expire(self, now: float) -> bool:
        """ZMQ-15: if the longest-outstanding message is late, back off and send it again. True if so."""
        deadline = self.timer_deadline()
        late = self._longest_outstanding()
        if late is None or deadline is None or now < deadline:
            return False
        late.outstanding, late.urgent = False, True
        self.records_outstanding -= len(late.records)
        self.timeouts += 1
        self.rto_s = min(MAX_RTO_S, self.rto_s * 2)  # RFC 6298 5.5
        self.size = INITIAL_WINDOW_RECORDS  # RFC 5681 3.1: a late collector is sent less, not more
        return True

    def _longest_outstanding(self) -> _InFlight | None:
        return min((m for m in self._in_flight.values() if m.outstanding), key=lambda m: m.sent_at, default=None)

    def connection_lost(self) -> None:
        """ZMQ-15: what was outstanding may have died with the connection, so it is sent again,
        oldest first, a window at a time, once a collector is connected."""
        for message in self._in_flight.values():
            message.outstanding = False
        self.records_outstanding = 0
        self.size = INITIAL_WINDOW_RECORDS

    def _grow(self, acknowledged: int, rtt_s: float | None) -> None:
        """ZMQ-13: grow by what got through (RFC 5681's slow start), unless the round trip shows the
        collector's queue so long that a doubled one could outlast the timeout: a slow collector is
        not pushed harder, and never gets copies for being slow."""
        if rtt_s is None or rtt_s < GROWTH_LIMIT_OF_RTO * self.rto_s:
            self.size = min(MAX_WINDOW_RECORDS, self.size + acknowledged)

    def _measure(self, rtt_s: float) -> None:
        """RFC 6298 2.2 and 2.3: the smoothed round trip, its variation, and the timeout from them."""
        if self.srtt_s is None:
            self.srtt_s, self.rttvar_s = rtt_s, rtt_s / 2
        else:
            self.rttvar_s = 0.75 * self.rttvar_s + 0.25 * abs(self.srtt_s - rtt_s)
            self.srtt_s = 0.875 * self.srtt_s + 0.125 * rtt_s
        self.rto_s = min(MAX_RTO_S, max(MIN_RTO_S, self.srtt_s + max(_CLOCK_GRANULARITY_S, 4 * self.rttvar_s)))
