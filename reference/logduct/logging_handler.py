"""A stdlib ``logging`` handler: applications get logduct records without changing their calls.

    logging.getLogger().addHandler(LogductHandler(fifo="/run/logduct.fifo", application_name="WebApp",
                                                  environment_name="production"))
    log.info("login", extra={"user": "jay"})          # log_event "login", data {"user": "jay", ...}
    log.exception("login_error")                      # data carries "traceback", as the seed queries

The mapping: ``log_event`` is the message template (``extra={"log_event": ...}`` overrides it);
``trace_id`` comes from ``extra={"trace_id": ...}``, else from the context variable ``trace_id``,
else ``-``; ``file_path`` is the caller's source file; ``host_ip`` this host's outbound address;
``data`` holds the level, logger, formatted message, every other ``extra`` field, and the traceback
of an exception. A log call never fails on its content: values JSON cannot carry become strings,
and a record too large for one atomic FIFO write has its longest data strings cut, marked
``"logduct_truncated": true`` (FIFO-2).

Behind a ``QueueHandler``: the stock ``QueueHandler.prepare`` flattens a record before queueing it:
the message with its arguments, the traceback and the stack become one ``msg``, and ``exc_info`` is
gone. ``LogductQueueHandler`` is that QueueHandler keeping the parts beside, so that a record maps
behind a ``QueueListener`` exactly as without one, trace id included. Records the stock prepare
flattened are still split where ``logging.Formatter`` joined them, so the traceback stays in
``data.traceback``; what that cannot bring back is the template (the event is then the formatted
message) and the trace id of the logging thread.

Speed: the handler builds the record itself, so it checks only what comes from the application,
as it goes (``_jsonable``, ``_text_field``), and encodes once; it never builds a ``Record`` to be
validated again, except to cut one that does not fit.
"""

from __future__ import annotations

import logging
import logging.handlers
import math
import os
import socket
from collections.abc import Sequence
from contextvars import ContextVar
from dataclasses import replace
from datetime import datetime, timezone
from functools import lru_cache
from typing import Any

import orjson

from .fifo_emitter import FifoEmitter
from .record import (
    MAX_DATA_DEPTH,
    MAX_INTEGER,
    MAX_TEXT_FIELD_BYTES,
    MIN_INTEGER,
    TEXT_FIELDS,
    JSONValue,
    Record,
    canonical_ip,
    encode,
    escape_unstorable,
)
from .rfc3339 import format_utc
from .sending import Emitter
from .zmq_emitter import ZmqEmitter

#: The trace id of the work in progress; set it where a request starts.
trace_id: ContextVar[str | None] = ContextVar("logduct_trace_id", default=None)

# The attributes every LogRecord has; anything else on a record came from ``extra=``.
_STANDARD = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}
_TRUNCATED = "logduct_truncated"
_FORMATTER = logging.Formatter()
# Where LogductQueueHandler keeps what the stock prepare flattens: a tuple of strings, which pickles,
# so a multiprocessing queue carries it too.
_PARTS = "logduct_parts"
# What logging.Formatter.format puts before a traceback and a stack, which the stock prepare joins.
_TRACEBACK_START = "\nTraceback (most recent call last):\n"
_STACK_START = "\nStack (most recent call last):\n"
#: RFC 5737 and RFC 3849 documentation addresses: routed by the default route, owned by no one.
_NO_ONES_ADDRESSES = ((socket.AF_INET, "192.0.2.1"), (socket.AF_INET6, "2001:db8::1"))


class LogductHandler(logging.Handler):
    """Sends each ``logging`` record through an emitter as a logduct record.

    Give an emitter, or let the handler make one from plain arguments, as ``logging.config.dictConfig``
    does: ``fifo=PATH`` or ``zmq=ENDPOINT`` (or a list of them), like ``logduct emit``'s ``--fifo``
    and ``--zmq``. ``flush()`` waits up to ``flush_timeout_s`` for the emitter to hand everything
    over (EMIT-3: the default never blocks a log call, so a flush is where one waits).
    """

    def __init__(self, emitter: Emitter | None = None, *, fifo: str | os.PathLike[str] | None = None,
                 zmq: str | Sequence[str] | None = None, application_name: str, environment_name: str,
                 host_ip: str | None = None, level: int | str = logging.NOTSET,
                 flush_timeout_s: float = 5.0) -> None:
        super().__init__(level)
        self.emitter = _emitter(emitter, fifo, zmq)
        self._names = (_text_field(application_name), _text_field(environment_name))
        # REC-9, checked here once: a wrong address fails the configuration, not every log call.
        self._host_ip = canonical_ip(outbound_address() if host_ip is None else host_ip)
        self.flush_timeout_s = flush_timeout_s
        self._second: tuple[int, str] = (0, format_utc(datetime.fromtimestamp(0, timezone.utc))[:-8])
        self._emitter_closed = False
        self._settled = True  # whether the last flush handed everything over

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.emitter.send_line(self.to_line(record))
        except Exception:
            self.handleError(record)  # logging's own policy: never raise into the application

    def flush(self) -> None:
        """Wait until what was logged is handed over (written to the FIFO, acknowledged over ZeroMQ),
        at most ``flush_timeout_s``; what is still queued then stays queued."""
        if not self._emitter_closed:  # logging.shutdown flushes handlers already closed
            self._settled = self.emitter.flush(self.flush_timeout_s)

    def close(self) -> None:
        """Flush, then close the emitter; what it could not hand over is counted and reported (EMIT-3).
        After a flush that gave up, as at exit with no collector, close waits no second time."""
        if not self._emitter_closed:
            self._emitter_closed = True
            self.emitter.close(self.flush_timeout_s if self._settled else 0)
        super().close()

    @property
    def application_name(self) -> str:
        return self._names[0]

    @property
    def environment_name(self) -> str:
        return self._names[1]

    @property
    def host_ip(self) -> str:
        return self._host_ip

    def to_line(self, log: logging.LogRecord) -> bytes:
        """The canonical line of a ``logging`` record, cut to fit the emitter's longest line (FIFO-2,
        ZMQ-8); encoded once when it fits, as it nearly always does."""
        second, micro = _seconds_and_micros(log.created)
        event, trace, data = self._content(log)
        members: dict[str, Any] = {
            "time": f"{self._second_text(second)}.{micro:06d}Z",
            "application_name": self._names[0], "environment_name": self._names[1],
            "log_event": _text_field(event), "trace_id": _text_field(trace), "file_path": _text_field(log.pathname),
            "host_ip": self._host_ip, "data": data}
        # Valid by construction, so encoded as it is: every string through _text_field or _jsonable,
        # host_ip canonical, time in ENC-5's spelling, the members in ENC-5's order, and orjson, which
        # writes ENC-5's form, as record.encode does.
        line = orjson.dumps(members, option=orjson.OPT_APPEND_NEWLINE)
        if len(line) <= self.emitter.max_line_bytes:
            return line
        when = datetime.fromtimestamp(second, timezone.utc).replace(microsecond=micro)
        return encode(_fit(Record(**{**members, "time": when}), self.emitter.max_line_bytes))

    def _second_text(self, second: int) -> str:
        """``YYYY-MM-DDTHH:MM:SS`` of ENC-5 item 3, spelt once a second: a log call pays for the rest."""
        cached = self._second  # one read: another thread may replace it meanwhile
        if cached[0] != second:
            cached = self._second = (second, format_utc(datetime.fromtimestamp(second, timezone.utc))[:-8])
        return cached[1]

    def _content(self, log: logging.LogRecord) -> tuple[object, object, dict[str, JSONValue]]:
        """The event, the trace id and the data of a record."""
        extra = {key: value for key, value in vars(log).items() if key not in _STANDARD}
        parts = extra.pop(_PARTS, None)
        event, message, trace, traceback, stack = (
            parts if type(parts) is tuple and len(parts) == 5 else _parts(log, self.formatter))
        event = extra.pop("log_event", None) or event
        trace = extra.pop("trace_id", None) or trace or "-"
        data: dict[str, JSONValue] = {
            "level": _jsonable(log.levelname), "logger": _jsonable(log.name), "message": _jsonable(message),
            "line": _jsonable(log.lineno), "function": _jsonable(log.funcName)}
        for key, value in extra.items():
            data[key if type(key) is str and key.isprintable() else escape_unstorable(str(key))] = _jsonable(value)
        if traceback:
            data["traceback"] = _jsonable(traceback)
        if stack:
            data["stack"] = _jsonable(stack)
        return event, trace, data


class LogductQueueHandler(logging.handlers.QueueHandler):
    """A ``QueueHandler`` whose records map behind a ``QueueListener`` as they would without one.

    The stock ``prepare`` flattens the message template, the arguments, the traceback and the stack
    into one string, so that other handlers print the record as it was formatted here; that record is
    kept as it is, and the parts a ``LogductHandler`` needs, and the trace id of the logging thread,
    travel beside it as plain strings."""

    def prepare(self, record: logging.LogRecord) -> Any:
        parts = _parts(record, self.formatter)
        prepared = super().prepare(record)
        setattr(prepared, _PARTS, parts)
        return prepared


def _seconds_and_micros(created: float) -> tuple[int, int]:
    """A timestamp split as ``datetime.fromtimestamp`` splits it (the fraction rounded half to even)."""
    fraction, whole = math.modf(created)
    micro = round(fraction * 1_000_000)
    if micro >= 1_000_000:
        return int(whole) + 1, micro - 1_000_000
    if micro < 0:
        return int(whole) - 1, micro + 1_000_000
    return int(whole), micro


def _parts(log: logging.LogRecord, formatter: logging.Formatter | None,
           ) -> tuple[str, str, str | None, str | None, str | None]:
    """The event, message, trace id, traceback and stack of a record as the application logged it:
    strings, which any queue can carry (``msg`` may be any object, ``log.error(error)``)."""
    message, traceback, stack = log.getMessage(), None, log.stack_info
    if log.exc_info:
        traceback = (formatter or _FORMATTER).formatException(log.exc_info)
    elif log.args is None and log.msg == getattr(log, "message", None):
        # Flattened by the stock QueueHandler.prepare, which makes msg and message one string: split
        # it where logging.Formatter.format joined the message, the traceback and the stack.
        message, traceback, stack = _unflatten(message)
        return message, message, trace_id.get(), traceback, stack
    return log.msg if type(log.msg) is str else str(log.msg), message, trace_id.get(), traceback, stack


def _unflatten(text: str) -> tuple[str, str | None, str | None]:
    """The message, traceback and stack that ``logging.Formatter.format`` joined into ``text``."""
    traceback = stack = None
    at = text.rfind(_STACK_START)
    if at >= 0:
        text, stack = text[:at], text[at + 1:]
    at = text.find(_TRACEBACK_START)
    if at >= 0:
        text, traceback = text[:at], text[at + 1:]
    return text, traceback, stack


def outbound_address() -> str:
    """The address this host sends from by default, or ``127.0.0.1`` when it has no route out.

    connect() on a UDP socket sends nothing: it only asks the kernel which route, and so which
    source address, a datagram to that address would take."""
    for family, address in _NO_ONES_ADDRESSES:
        try:
            with socket.socket(family, socket.SOCK_DGRAM) as probe:
                probe.connect((address, 9))  # 9: the discard port, should anything ever be sent
                return str(probe.getsockname()[0])
        except OSError:
            continue  # no route in this family (ENETUNREACH), or no such family on this host
    return "127.0.0.1"


def _emitter(emitter: Emitter | None, fifo: str | os.PathLike[str] | None,
             zmq: str | Sequence[str] | None) -> Emitter:
    if (emitter is not None) + (fifo is not None) + (zmq is not None) != 1:
        raise TypeError("LogductHandler needs one of: an emitter, fifo=PATH, zmq=ENDPOINT(S)")
    if fifo is not None:
        return FifoEmitter(fifo)
    if zmq is not None:
        return ZmqEmitter(zmq if isinstance(zmq, str) else list(zmq))
    assert emitter is not None
    return emitter


def _text_field(value: object) -> str:
    """REC-8: a non-empty string of at most 1,024 bytes, cut at a character boundary."""
    return _text_field_of(value) if type(value) is str else _text_field_of(str(value))


@lru_cache(maxsize=1024)  # the same few messages, source files and trace ids come again and again
def _text_field_of(text: str) -> str:
    return _cut(escape_unstorable(text), MAX_TEXT_FIELD_BYTES) or "-"


def _jsonable(value: object, depth: int = 2) -> JSONValue:
    """``value`` as JSON section 1 accepts (REC-10 to REC-13): strings for whatever JSON cannot
    carry. ``depth`` is the level ``value`` sits at; the data object itself is level 1 (REC-11)."""
    if type(value) is str:  # the common types first, tested by identity: a log call pays for this
        return value if value.isprintable() else escape_unstorable(value)
    if type(value) is int:
        return value if MIN_INTEGER <= value <= MAX_INTEGER else str(value)
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int):  # IntEnum and other subclasses, which orjson takes
        return value if MIN_INTEGER <= value <= MAX_INTEGER else str(value)
    if isinstance(value, float):  # a subclass (numpy's float64) as a plain float, which orjson takes
        return float(value) if math.isfinite(value) else str(value)
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
