"""The frames of SPEC.md section 5: an emitter's message (ZMQ-3) and a collector's acknowledgement
(ZMQ-4); what a message that breaks ZMQ-11, ZMQ-12 or VER-2 breaks.

    message:         b"LD1" | session (16 bytes) | first seq (8 bytes, big-endian) | record | record ...
    acknowledgement: b"LD1" | session (16 bytes) | first seq (8 bytes, big-endian) | count (8 bytes, big-endian)
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple

from .breach import Breach, Refused
from .limits import MAX_MESSAGE_BYTES, MAX_MESSAGE_RECORDS, MAX_SEQ, SESSION_BYTES

#: ZMQ-3: "the protocol tag LD1 (3 bytes: LD and the protocol version in decimal, VER-2)".
TAG = b"LD1"
# ZMQ-11: a tag is "LD followed by a version number (ASCII digits, no leading zero)".
_ANY_VERSION_TAG = re.compile(rb"LD[1-9][0-9]*")
_HEADER = ("the tag", "the session ID", "the first sequence number")
_SEQ_BYTES = 8


def _u64(number: int) -> bytes:
    return number.to_bytes(_SEQ_BYTES, "big")


def _from_u64(frame: bytes) -> int:
    return int.from_bytes(frame, "big")


@dataclass(frozen=True)
class Message:
    """An emitter's message: records ``first_seq``, ``first_seq + 1``, ... of ``session``, without LFs."""

    session: uuid.UUID
    first_seq: int
    records: tuple[bytes, ...]


class Ack(NamedTuple):
    """A collector's acknowledgement of ``record_count`` records from ``first_seq`` of ``session``."""

    session: uuid.UUID
    first_seq: int
    record_count: int


def message_frames(session: uuid.UUID, first_seq: int, records: Sequence[bytes]) -> list[bytes]:
    """ZMQ-3: the frames of a message, as given (a record may keep its LF: "a trailing LF MAY be present")."""
    return [TAG, session.bytes, _u64(first_seq), *records]


def judge_message(frames: Sequence[bytes]) -> tuple[Message | None, list[Breach]]:
    """The message ``frames`` hold, or None and every rule they break."""
    tag = frames[0] if frames else b""
    if tag != TAG:
        if _ANY_VERSION_TAG.fullmatch(tag):
            # VER-2: a version "the collector does not implement"; its other frames may mean anything.
            return None, [Breach("VER-2", "the tag", f"version {tag[2:].decode()} is not implemented; LD1 is")]
        return None, [Breach("ZMQ-11", "the tag", f"the first frame must be the tag LD1, not {tag[:16]!r}")]
    found = []
    if len(frames) < 4:  # ZMQ-3: "a multipart message of 4 or more frames"
        found.append(Breach("ZMQ-11", "the message", f"{len(frames)} frames; a message has at least 4"))
    session = frames[1] if len(frames) > 1 else b""
    first = frames[2] if len(frames) > 2 else b""
    if len(frames) > 1 and len(session) != SESSION_BYTES:
        found.append(Breach("ZMQ-11", _HEADER[1], f"{len(session)} bytes; it is 16"))
    if len(frames) > 2 and len(first) != _SEQ_BYTES:
        found.append(Breach("ZMQ-11", _HEADER[2], f"{len(first)} bytes; it is 8"))
    records = [frame.removesuffix(b"\n") for frame in frames[3:]]
    # ZMQ-12: "not more than 1,024 records ..., nor more than 1,048,576 bytes in its record frames".
    if len(records) > MAX_MESSAGE_RECORDS:
        found.append(Breach("ZMQ-12", "the message", f"{len(records):,} records; the most is {MAX_MESSAGE_RECORDS:,}"))
    record_bytes = sum(len(frame) for frame in frames[3:])
    if record_bytes > MAX_MESSAGE_BYTES:
        found.append(Breach("ZMQ-12", "the message", f"{record_bytes:,} bytes of records; the most is "
                                                      f"{MAX_MESSAGE_BYTES:,}"))
    if len(first) == _SEQ_BYTES:
        # ZMQ-3: "Sequence numbers start at 1 ... and never exceed 2^63-1"; ZMQ-11 names "a first
        # sequence number of 0, or records numbered past 2^63-1".
        seq = _from_u64(first)
        last = seq + max(len(records), 1) - 1
        if seq == 0 or last > MAX_SEQ:
            found.append(Breach("ZMQ-11", _HEADER[2], f"records numbered {seq:,} to {last:,}; "
                                                      "from 1 to 2^63-1 allowed"))
    if found:
        return None, found
    return Message(uuid.UUID(bytes=session), _from_u64(first), tuple(records)), []


def read_message(frames: Sequence[bytes]) -> Message:
    """The message ``frames`` hold; ``Refused`` if they break a rule."""
    message, breaches = judge_message(frames)
    if message is None:
        raise Refused(breaches)
    return message


def ack_frames(session: uuid.UUID, first_seq: int, count: int) -> list[bytes]:
    """ZMQ-4: "4 frames: LD1, the session ID, the first sequence number and the count of records"."""
    return [TAG, session.bytes, _u64(first_seq), _u64(count)]


def ack_of(message: Message) -> list[bytes]:
    """The acknowledgement of the whole of ``message``."""
    return ack_frames(message.session, message.first_seq, len(message.records))


def judge_ack(frames: Sequence[bytes]) -> tuple[Ack | None, list[Breach]]:
    """The acknowledgement ``frames`` hold, or None and why they are none (ZMQ-4)."""
    sizes = [len(frame) for frame in frames]
    if len(frames) != 4 or frames[0] != TAG or sizes[1:] != [SESSION_BYTES, _SEQ_BYTES, _SEQ_BYTES]:
        return None, [Breach("ZMQ-4", "the acknowledgement", f"{len(frames)} frames of {sizes} bytes; an "
                             "acknowledgement is the tag LD1, then frames of 16, 8 and 8 bytes")]
    return Ack(uuid.UUID(bytes=frames[1]), _from_u64(frames[2]), _from_u64(frames[3])), []


def read_ack(frames: Sequence[bytes]) -> Ack:
    """The acknowledgement ``frames`` hold; ``Refused`` if they are not one."""
    ack, breaches = judge_ack(frames)
    if ack is None:
        raise Refused(breaches)
    return ack
