"""Every number SPEC.md fixes, beside the rule that fixes it."""

from __future__ import annotations

#: ENC-3: the longest line, LF included, on any transport (``MAX_RECORD_BYTES``).
MAX_RECORD_BYTES = 65_536
#: REC-8: the longest text field, in bytes of UTF-8 (and the shortest is 1).
MAX_TEXT_FIELD_BYTES = 1_024
#: REC-11: "data MUST NOT nest deeper than 64 levels; the data object itself is level 1".
MAX_DATA_DEPTH = 64
#: REC-13: "An integer literal ... MUST lie between -2^63 and 2^64-1 inclusive".
MIN_INTEGER, MAX_INTEGER = -(2**63), 2**64 - 1
#: VER-1: the one version this suite checks.
PROTOCOL_VERSION = 1

#: FIFO-2: "a write() of at most PIPE_BUF bytes (4,096 on Linux) is atomic".
PIPE_BUF = 4_096
#: FIFO-3: the portable profile, POSIX's minimum _POSIX_PIPE_BUF.
PORTABLE_PIPE_BUF = 512

#: ZMQ-3: sequence numbers "never exceed 2^63-1, so that each fits PostgreSQL's BIGINT".
MAX_SEQ = 2**63 - 1
#: ZMQ-3: "a 16-byte session ID".
SESSION_BYTES = 16
#: ZMQ-12: the most records one message carries (``MAX_MESSAGE_RECORDS``) ...
MAX_MESSAGE_RECORDS = 1_024
#: ... and the most bytes its record frames hold together (``MAX_MESSAGE_BYTES``).
MAX_MESSAGE_BYTES = 1_048_576
