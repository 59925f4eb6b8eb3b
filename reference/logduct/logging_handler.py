"""A stdlib ``logging`` handler: applications get logduct records without changing their calls.

    emitter = FifoEmitter("/run/logduct.fifo")
    logging.getLogger().addHandler(LogductHandler(emitter, application_name="WebApp",
                                                  environment_name="production"))
    log.info("login", extra={"user": "jay"})          # log_event "login", data {"user": "jay", ...}
    log.exception("login_error")                      # data carries "traceback", as the seed queries

The mapping: ``log_event`` is the message template (``extra={"log_event": ...}`` overrides it);
``trace_id`` comes from ``extra={"trace_id": ...}``, else from the context variable ``trace_id``,
else ``-``; ``file_path`` is the caller's source file; ``data`` holds the level, logger, formatted
message, every other ``extra`` field, and the traceback of an exception. A log call never fails on
its content: values JSON cannot carry become strings, and a record too large for one atomic FIFO
write has its longest data strings cut, marked ``"logduct_truncated": true`` (FIFO-2).
"""

from __future__ import annotations

import logging
import math
from contextvars import ContextVar
from dataclasses import replace
from datetime import datetime, timezone
from functools import lru_cache
from typing import Any

from .record import (
    MAX_DATA_DEPTH,
    MAX_INTEGER,
    MAX_TEXT_FIELD_BYTES,
    MIN_INTEGER,
    TEXT_FIELDS,
    JSONValue,
    Record,
    encode,
    escape_unstorable,
)
from .sending import Emitter

#: The trace id of the work in progress; set it where a request starts.
trace_id: ContextVar[str | None] = ContextVar("logduct_trace_id", default=None)

# The attributes every LogRecord has; anything else on a record came from ``extra=``.
_STANDARD = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}
_TRUNCATED = "logduct_truncated"
_FORMATTER = logging.Formatter()


class LogductHandler(logging.Handler):
    """Sends each ``logging`` record through an emitter (FIFO or ZeroMQ) as a logduct record."""

    def __init__(self, emitter: Emitter, *, application_name: str, environment_name: str,
                 host_ip: str = "127.0.0.1", level: int = logging.NOTSET) -> None:
        super().__init__(level)
        self.emitter = emitter
        self.application_name = _text_field(application_name)
        self.environment_name = _text_field(environment_name)
        self.host_ip = host_ip

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.emitter.send_line(self.to_line(record))
        except Exception:
            self.handleError(record)  # logging's own policy: never raise into the application

    def close(self) -> None:
        self.emitter.close()
        super().close()

    def to_line(self, log: logging.LogRecord) -> bytes:
        """The canonical line of a ``logging`` record, cut to fit the emitter's longest line (FIFO-2,
        ZMQ-8); encoded once when it fits, as it nearly always does."""
        record = self._record(log)
        line = encode(record)
        return line if len(line) <= self.emitter.max_line_bytes else encode(_fit(record, self.emitter.max_line_bytes))

    def _record(self, log: logging.LogRecord) -> Record:
        extra = {key: value for key, value in vars(log).items() if key not in _STANDARD}
        event = extra.pop("log_event", None) or log.msg
        trace = extra.pop("trace_id", None) or trace_id.get() or "-"
        data: dict[str, Any] = {"level": log.levelname, "logger": log.name, "message": log.getMessage(),
                                "line": log.lineno, "function": log.funcName, **extra}
        if log.exc_info:
            data["traceback"] = (self.formatter or _FORMATTER).formatException(log.exc_info)
        if log.stack_info:
            data["stack"] = log.stack_info
        return Record(
            time=datetime.fromtimestamp(log.created, timezone.utc),
            application_name=self.application_name, environment_name=self.environment_name,
            log_event=_text_field(event), trace_id=_text_field(trace), file_path=_text_field(log.pathname),
            host_ip=self.host_ip, data={escape_unstorable(str(k)): _jsonable(v, depth=2) for k, v in data.items()},
        )


def _text_field(value: object) -> str:
    """REC-8: a non-empty string of at most 1,024 bytes, cut at a character boundary."""
    return _text_field_of(value) if type(value) is str else _text_field_of(str(value))


@lru_cache(maxsize=1024)  # the same few messages, source files and trace ids come again and again
def _text_field_of(text: str) -> str:
    return _cut(escape_unstorable(text), MAX_TEXT_FIELD_BYTES) or "-"


def _jsonable(value: object, depth: int) -> JSONValue:
    """``value`` as JSON section 1 accepts: strings for whatever JSON cannot carry."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int):
        return value if MIN_INTEGER <= value <= MAX_INTEGER else str(value)
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, str):
        return escape_unstorable(value)
    if depth <= MAX_DATA_DEPTH and isinstance(value, dict):
        return {escape_unstorable(str(k)): _jsonable(v, depth + 1) for k, v in value.items()}
    if depth <= MAX_DATA_DEPTH and isinstance(value, (list, tuple)):
        return [_jsonable(v, depth + 1) for v in value]
    return escape_unstorable(str(value))  # as json.dumps(default=str) would, and a log call never fails


def _fit(record: Record, limit: int) -> Record:
    """The record cut until its line fits in ``limit`` bytes (FIFO-2), and marked so: first the
    longest strings of data, then, if data alone cannot make room, every text field."""
    if len(encode(record)) <= limit:
        return record
    data: dict[str, Any] = {**(record.data or {}), _TRUNCATED: True}
    fitted = replace(record, data=data)
    for _ in range(2 * len(data)):  # each turn cuts one string; escapes may call for a second cut
        excess = len(encode(fitted)) - limit
        if excess <= 0:
            return fitted
        strings = [key for key, value in data.items() if isinstance(value, str) and value]
        if not strings:
            break
        longest = max(strings, key=lambda key: len(data[key].encode()))
        data[longest] = _cut(data[longest], len(data[longest].encode()) - excess - 8)
        fitted = replace(record, data=data)
    # data alone cannot make room: the text fields and the message share what is left equally.
    empty: dict[str, Any] = dict.fromkeys(TEXT_FIELDS, "-")
    bare = replace(record, data={_TRUNCATED: True, "message": ""}, **empty)
    share = max(1, (limit - len(encode(bare))) // (len(TEXT_FIELDS) + 1))
    cut: dict[str, Any] = {name: _cut(getattr(record, name), share) or "-" for name in TEXT_FIELDS}
    message = _cut(str((record.data or {}).get("message", "")), share)
    return replace(record, data={_TRUNCATED: True, "message": message}, **cut)


def _cut(text: str, size: int) -> str:
    """The longest start of ``text`` that is at most ``size`` bytes of UTF-8."""
    return text.encode()[:max(0, size)].decode("utf-8", "ignore")
