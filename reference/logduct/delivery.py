"""Delivery over ZeroMQ: messages, acknowledgements, retransmission, de-duplication. No I/O.

Theory of operation (SPEC.md section 5). An emitter numbers its records 1, 2, 3... within a session
(16 random bytes chosen at start) and sends them in messages of consecutive records. It keeps every
message in its ``Window`` until the collector acknowledges it, and sends it again when the
acknowledgement is late or the connection was re-established (ZMQ-5). The collector acknowledges a
message only once every record of it is committed (ZMQ-4) and stores each (session, sequence
number) once (ZMQ-6), which PostgreSQL enforces with a unique index (PG-4); a sink without one uses
``SeenDeliveries``. Together: a collector may die at any moment and nothing is lost or doubled while
the emitter lives.

The wire format, ZMQ-3 and ZMQ-4 (ROUTER adds and strips the routing identity frame):

    emitter -> collector:  b"LD1" | session (16 bytes) | first seq (u64 BE) | record | record | ...
    collector -> emitter:  b"LD1" | session (16 bytes) | first seq (u64 BE) | count (u64 BE)
"""

from __future__ import annotations

import struct
import uuid
from collections import OrderedDict
from dataclasses import dataclass, field

from .errors import ProtocolError

#: ZMQ-3: the first frame of every message, naming protocol version 1.
TAG = b"LD1"
_U64 = struct.Struct(">Q")
_SESSION_BYTES = 16


@dataclass(frozen=True, slots=True)
class Delivery:
    """The key of one record's delivery: stored at most once (ZMQ-6, PG-4)."""

    session: uuid.UUID
    seq: int


@dataclass(frozen=True, slots=True)
class Message:
    """A parsed emitter message: records ``first_seq``, ``first_seq + 1``, ... of ``session``."""

    session: uuid.UUID
    first_seq: int
    records: list[bytes]

    def deliveries(self) -> list[Delivery]:
        return [Delivery(self.session, self.first_seq + i) for i in range(len(self.records))]

    def ack(self) -> list[bytes]:
        """ZMQ-4: the acknowledgement of this whole message."""
        return [TAG, self.session.bytes, _U64.pack(self.first_seq), _U64.pack(len(self.records))]


def encode_message(session: uuid.UUID, first_seq: int, records: list[bytes]) -> list[bytes]:
    """ZMQ-3: the frames of a message; records without their LF."""
    return [TAG, session.bytes, _U64.pack(first_seq), *records]


def parse_message(frames: list[bytes]) -> Message:
    """ZMQ-3, ZMQ-11: the message ``frames`` hold, or ProtocolError naming what is wrong."""
    tag = frames[0] if frames else b""
    if tag != TAG:
        if tag.startswith(b"LD"):  # VER-2: a version this collector does not implement
            raise ProtocolError("VER-2", f"protocol tag {tag!r} is not implemented (this collector speaks LD1)")
        raise ProtocolError("ZMQ-11", "the first frame must be the tag LD1", value=tag[:16])
    if len(frames) < 4:
        raise ProtocolError("ZMQ-11", f"a message has 4 or more frames; this one has {len(frames)}")
    session, first_seq = frames[1], frames[2]
    if len(session) != _SESSION_BYTES:
        raise ProtocolError("ZMQ-11", f"the session ID is 16 bytes, not {len(session)}")
    if len(first_seq) != _U64.size:
        raise ProtocolError("ZMQ-11", f"the sequence number is 8 bytes, not {len(first_seq)}")
    first = _U64.unpack(first_seq)[0]
    if first == 0:
        raise ProtocolError("ZMQ-11", "sequence numbers start at 1")
    # ZMQ-3: a trailing LF on a record frame is allowed and ignored.
    records = [frame[:-1] if frame.endswith(b"\n") else frame for frame in frames[3:]]
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
    sent_at: float


@dataclass
class Window:
    """The emitter's unacknowledged messages (ZMQ-5, ZMQ-7). Time is passed in, never read."""

    ack_timeout_s: float
    session: uuid.UUID = field(default_factory=uuid.uuid4)
    next_seq: int = 1
    records_in_flight: int = 0
    acknowledged: int = 0
    retransmitted: int = 0
    _in_flight: OrderedDict[int, _InFlight] = field(default_factory=OrderedDict)

    def open(self, records: list[bytes], now: float) -> int:
        """Number ``records`` as the next message; return its first sequence number."""
        first = self.next_seq
        self.next_seq += len(records)
        self._in_flight[first] = _InFlight(records, now)
        self.records_in_flight += len(records)
        return first

    def frames(self, first: int) -> list[bytes] | None:
        """The frames of message ``first``; None once it is acknowledged."""
        message = self._in_flight.get(first)
        return None if message is None else encode_message(self.session, first, message.records)

    def acknowledge(self, frames: list[bytes]) -> int:
        """Apply an acknowledgement; the number of records it settled (0 for a stale or repeated one)."""
        session, first, count = parse_ack(frames)
        message = self._in_flight.get(first) if session == self.session else None
        if message is None or len(message.records) != count:
            return 0
        del self._in_flight[first]
        self.records_in_flight -= count
        self.acknowledged += count
        return count

    def due(self, now: float, everything: bool = False) -> list[int]:
        """Messages to send again: those unacknowledged for ``ack_timeout_s``, or all of them after
        a reconnection (``everything``). Their clocks restart now."""
        firsts = []
        for first, message in self._in_flight.items():
            if everything or now - message.sent_at >= self.ack_timeout_s:
                message.sent_at = now
                firsts.append(first)
                self.retransmitted += len(message.records)
        return firsts

    def __bool__(self) -> bool:
        return bool(self._in_flight)
