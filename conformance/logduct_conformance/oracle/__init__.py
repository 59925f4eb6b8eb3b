"""The suite's oracle: what SPEC.md says a line, a record, a row and a frame must be, written from
SPEC.md (and the RFCs it cites) alone, and sharing no code with any implementation, the reference
included. A check computes what it expects here; if it asked the reference instead, a fault of the
reference would be what every implementation is held to.

- record.py: ``Record``; ``judge_line`` (every rule a line breaks), ``read_line``, ``as_stored``
- canonical.py: ``encode`` (ENC-5) and ``matches_canonical`` (ENC-5 item 7's leeway)
- frames.py: ZeroMQ messages and acknowledgements (ZMQ-3, ZMQ-4, ZMQ-11, ZMQ-12, VER-2)
- json_text.py, timestamp.py, address.py: RFC 8259 and 3629, RFC 3339, RFC 4291 and 5952
- limits.py: every number SPEC.md fixes
"""

from __future__ import annotations

from .address import canonical_ip
from .breach import Breach, Refused, rules_of
from .canonical import canonical_difference, encode, matches_canonical
from .frames import (
    TAG,
    Ack,
    Message,
    ack_frames,
    ack_of,
    judge_ack,
    judge_message,
    message_frames,
    read_ack,
    read_message,
)
from .limits import (
    MAX_DATA_DEPTH,
    MAX_INTEGER,
    MAX_MESSAGE_BYTES,
    MAX_MESSAGE_RECORDS,
    MAX_RECORD_BYTES,
    MAX_SEQ,
    MAX_TEXT_FIELD_BYTES,
    MIN_INTEGER,
    PIPE_BUF,
    PORTABLE_PIPE_BUF,
    PROTOCOL_VERSION,
)
from .record import MEMBERS, TEXT_FIELDS, JSONValue, Record, as_stored, judge_line, read_line
from .timestamp import canonical_time, judge_time

__all__ = [
    "MAX_DATA_DEPTH", "MAX_INTEGER", "MAX_MESSAGE_BYTES", "MAX_MESSAGE_RECORDS", "MAX_RECORD_BYTES", "MAX_SEQ",
    "MAX_TEXT_FIELD_BYTES", "MEMBERS", "MIN_INTEGER", "PIPE_BUF", "PORTABLE_PIPE_BUF", "PROTOCOL_VERSION", "TAG",
    "TEXT_FIELDS", "Ack", "Breach", "JSONValue", "Message", "Record", "Refused", "ack_frames", "ack_of",
    "as_stored", "canonical_difference", "canonical_ip", "canonical_time", "encode", "judge_ack", "judge_line",
    "judge_message", "judge_time", "matches_canonical", "message_frames", "read_ack", "read_line", "read_message",
    "rules_of",
]
