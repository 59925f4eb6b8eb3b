"""Rows for PostgreSQL's COPY ... FROM STDIN in text format. No I/O.

COPY of pre-formatted text lines is the fastest way into PostgreSQL from Python; formatting the
lines here, apart from the connection, keeps the format testable byte for byte. In text format a
row is tab-separated columns ending in LF; ``\\N`` is NULL; a backslash, LF, CR or tab inside a value
is written as ``\\\\``, ``\\n``, ``\\r``, ``\\t``. Values never hold U+0000 (REC-12).
"""

from __future__ import annotations

import functools
import re
from uuid import UUID

from .record import JSON_ENCODER, Record, escape_unstorable
from .rfc3339 import format_utc

#: The columns ``logs_row`` fills, in its order.
LOGS_COLUMNS = ("time", "application_name", "environment_name", "log_event", "trace_id", "file_path",
                "host_ip", "data", "emitter_session", "emitter_seq")
#: The columns ``rejected_row`` fills, in its order.
REJECTED_COLUMNS = ("transport", "source", "rule", "reason", "raw", "emitter_session", "emitter_seq")

NULL = "\\N"
_SPECIAL = re.compile("[\\\\\n\r\t]")
_ESCAPES = str.maketrans({"\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t"})
#: A session's text, once per session rather than once per row: a batch holds few sessions.
_session_text = functools.lru_cache(maxsize=1024)(str)


def escape(value: str) -> str:
    """A text value as COPY's text format spells it."""
    return value.translate(_ESCAPES)


def logs_row(record: Record, session: UUID | None = None, seq: int | None = None) -> str:
    """One COPY line for ``logs``; ``session`` and ``seq`` are the ZeroMQ delivery key (ZMQ-3)."""
    # JSON escapes every control character, so only its backslashes need doubling for COPY.
    data = NULL if record.data is None else JSON_ENCODER.encode(record.data).replace("\\", "\\\\")
    texts: tuple[str, ...] = (record.application_name, record.environment_name, record.log_event,
                              record.trace_id, record.file_path)
    if _SPECIAL.search("".join(texts)):  # one search for all five: escaping is rarely needed
        texts = tuple(map(escape, texts))
    return "\t".join((
        format_utc(record.time), *texts, record.host_ip, data,
        NULL if session is None else _session_text(session), NULL if seq is None else str(seq),
    )) + "\n"


def rejected_row(transport: str, source: str | None, rule: str, reason: str, raw: bytes,
                 session: UUID | None = None, seq: int | None = None) -> str:
    """One COPY line for ``logs_rejected`` (PG-3); raw bytes as bytea hex."""
    return "\t".join((
        escape(transport), NULL if source is None else escape(escape_unstorable(source)), escape(rule),
        escape(escape_unstorable(reason)), "\\\\x" + raw.hex(),
        NULL if session is None else _session_text(session), NULL if seq is None else str(seq),
    )) + "\n"

