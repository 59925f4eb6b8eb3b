"""A conforming logduct collector in one file, written from SPEC.md: the base of the known-bad collectors.

    collect --fifo PATH ... (--dsn DSN | --stdout)
    collect --zmq [ENDPOINT] ... (--dsn DSN | --stdout)
    query [--dsn DSN] [NAME]

It depends on the standard library, psycopg and pyzmq only. Each rule it enforces, and each step of
its work, is one small method of ``Collector`` (or of ``PostgresSink``, ``StdoutSink``, ``FifoInput``),
so that a known-bad collector beside it is this file with exactly one of them overridden, handed to
``main``: the fault then sits in a few lines, next to the rule it breaks. It aims to be plain, not fast.

Bounds it documents (SPEC.md leaves them to the implementation): a batch is committed at 2,000
records or 200 ms after its first one (COL-3); a collector SIGKILLed loses at most that batch and one
read of 256 KiB (FIFO-8); the quarantine takes at most 100 rejections and 1 MiB of raw bytes per input
and per second (COL-8); a database at fault is retried after 0.5 s, doubling up to 30 s (COL-9).
"""

from __future__ import annotations

import argparse
import fcntl
import ipaddress
import json
import math
import os
import re
import signal
import stat
import sys
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

import psycopg
import zmq
from psycopg.types.json import Jsonb

MAX_RECORD_BYTES = 65_536  # ENC-3, the LF included; ZMQ-8 bounds a frame by it
MAX_TEXT_FIELD_BYTES = 1_024  # REC-8
MAX_DATA_DEPTH = 64  # REC-11
MIN_INTEGER, MAX_INTEGER = -(2**63), 2**64 - 1  # REC-13
MAX_SEQ = 2**63 - 1  # ZMQ-3: every sequence number fits PostgreSQL's BIGINT
MAX_MESSAGE_RECORDS, MAX_MESSAGE_BYTES = 1_024, 1_048_576  # ZMQ-12
PROTOCOL_VERSION = 1
TAG = b"LD1"  # ZMQ-3: "LD" and the protocol version in decimal
DEFAULT_ENDPOINT = "tcp://127.0.0.1:5570"  # ZMQ-1: loopback unless told otherwise
READ_BYTES = 256 * 1024
BATCH_RECORDS, BATCH_SECONDS = 2_000, 0.2
QUARANTINE_ROWS_PER_S, QUARANTINE_BYTES_PER_S = 100, 1_048_576
RETRY_FIRST_S, RETRY_MOST_S = 0.5, 30.0

MEMBERS = ("time", "application_name", "environment_name", "log_event", "trace_id", "file_path", "host_ip",
           "data")
TEXT_FIELDS = MEMBERS[1:7]
REQUIRED = MEMBERS[:7]  # REC-2: data may be absent
ALLOWED = frozenset((*MEMBERS, "v"))  # REC-3, VER-1

SCHEMA = """
CREATE TABLE IF NOT EXISTS logs (
    time TIMESTAMPTZ NOT NULL, application_name TEXT NOT NULL, environment_name TEXT NOT NULL,
    log_event TEXT NOT NULL, trace_id TEXT NOT NULL, file_path TEXT NOT NULL, host_ip TEXT NOT NULL,
    data JSONB NULL,
    emitter_session UUID NULL DEFAULT NULL, emitter_seq BIGINT NULL DEFAULT NULL);
ALTER TABLE logs ADD COLUMN IF NOT EXISTS emitter_session UUID NULL DEFAULT NULL;
ALTER TABLE logs ADD COLUMN IF NOT EXISTS emitter_seq BIGINT NULL DEFAULT NULL;
CREATE UNIQUE INDEX IF NOT EXISTS logs_delivery_key ON logs (emitter_session, emitter_seq)
    WHERE emitter_session IS NOT NULL;
CREATE TABLE IF NOT EXISTS logs_rejected (
    received_at TIMESTAMPTZ NOT NULL DEFAULT now(), transport TEXT NOT NULL, source TEXT NULL,
    rule TEXT NOT NULL, reason TEXT NOT NULL, raw BYTEA NOT NULL,
    emitter_session UUID NULL DEFAULT NULL, emitter_seq BIGINT NULL DEFAULT NULL);
ALTER TABLE logs_rejected ADD COLUMN IF NOT EXISTS emitter_session UUID NULL DEFAULT NULL;
ALTER TABLE logs_rejected ADD COLUMN IF NOT EXISTS emitter_seq BIGINT NULL DEFAULT NULL;
CREATE UNIQUE INDEX IF NOT EXISTS logs_rejected_delivery_key ON logs_rejected (emitter_session, emitter_seq)
    WHERE emitter_session IS NOT NULL;
"""  # PG-1 to PG-5: every statement idempotent, so it runs at every start and changes nothing there is


class Rejected(Exception):
    """Input that breaks ``rule``; ``reason`` names the field and the bad value (COL-1)."""

    def __init__(self, rule: str, reason: str) -> None:
        super().__init__(f"{rule}: {reason}")
        self.rule, self.reason = rule, reason


@dataclass
class Row:
    """A valid record as section 7 stores it: time in UTC, host_ip canonical, data as read."""

    time: datetime
    texts: dict[str, str]
    data: dict[str, Any] | None
    session: uuid.UUID | None = None  # ZMQ-3's delivery key, for records that came over ZeroMQ
    seq: int | None = None


@dataclass
class Rejection:
    """A row of the quarantine (PG-3)."""

    transport: str
    source: str
    rule: str
    reason: str
    raw: bytes
    session: uuid.UUID | None = None
    seq: int | None = None


@dataclass
class Batch:
    """What has been read and not yet committed, and the acknowledgements waiting for its commit (ZMQ-4)."""

    rows: list[Row] = field(default_factory=list)
    rejections: list[Rejection] = field(default_factory=list)
    acks: list[tuple[zmq.Socket[bytes], list[bytes]]] = field(default_factory=list)
    started: float = 0.0

    def __len__(self) -> int:
        return len(self.rows) + len(self.rejections) + len(self.acks)


class DatabaseAtFault(Exception):
    """The database could not take a batch; it is kept and tried again (COL-9)."""


# ---------------------------------------------------------------------------------------------------------------
# host_ip (REC-9)


def _ipv4(text: str) -> str | None:
    """Dotted decimal, four numbers 0 to 255, no leading zeros: as it is, that is its canonical form."""
    parts = text.split(".")
    if len(parts) == 4 and all(re.fullmatch(r"0|[1-9][0-9]{0,2}", p) and int(p) <= 255 for p in parts):
        return text
    return None


def _ipv6(text: str) -> str | None:
    """RFC 4291 §2.2's text forms, written RFC 5952's way. ``ipaddress`` accepts a zone index
    (``fe80::1%eth0``), which REC-9 does not; and it writes IPv4-mapped addresses in hex, where RFC 5952
    §5 (and REC-9) want ``::ffff:192.0.2.1``."""
    if "%" in text or "/" in text or not re.fullmatch(r"[0-9A-Fa-f:.]+", text):
        return None
    try:
        address = ipaddress.IPv6Address(text)
    except ValueError:
        return None
    if text.count(".") and _ipv4(text.rsplit(":", 1)[-1]) is None:
        return None  # the dotted tail of a mixed form obeys IPv4's rules, leading zeros included
    if address.ipv4_mapped is not None:
        return f"::ffff:{address.ipv4_mapped}"
    return address.compressed


# ---------------------------------------------------------------------------------------------------------------
# time (REC-5 to REC-7)

_TIME = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})[Tt]([0-9]{2}):([0-9]{2}):([0-9]{2})(?:\.([0-9]+))?"
                   r"(?:[Zz]|([+-])([0-9]{2}):([0-9]{2}))")
_UNIX_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")  # REC-12: U+0000 and surrogates


def _days_from_civil(year: int, month: int, day: int) -> int:
    """Days from 1970-01-01 in the proleptic Gregorian calendar, year 0 included (RFC 3339 Appendix C):
    ``datetime`` knows no year 0, yet ``0000-12-31T23:30:00-01:00`` names an instant of year 1."""
    year -= month <= 2
    era = year // 400
    year_of_era = year - era * 400
    day_of_year = (153 * (month + (-3 if month > 2 else 9)) + 2) // 5 + day - 1
    day_of_era = year_of_era * 365 + year_of_era // 4 - year_of_era // 100 + day_of_year
    return era * 146_097 + day_of_era - 719_468


def _days_in_month(year: int, month: int) -> int:
    if month == 2:
        return 29 if year % 4 == 0 and (year % 100 != 0 or year % 400 == 0) else 28
    return 30 if month in (4, 6, 9, 11) else 31


_EARLIEST_US = _days_from_civil(1, 1, 1) * 86_400 * 10**6  # REC-7, both ends inclusive
_LATEST_US = (_days_from_civil(9999, 12, 31) * 86_400 + 86_399) * 10**6 + 999_999


# ---------------------------------------------------------------------------------------------------------------
# The collector


class Collector:
    """Reads its inputs, judges every line and message, and hands batches to its sink."""

    required = REQUIRED  # REC-2
    allowed = ALLOWED  # REC-3
    batch_seconds = BATCH_SECONDS  # COL-3
    max_frame_bytes = MAX_RECORD_BYTES  # ZMQ-8: ZeroMQ cuts off a sender whose frame is longer

    def __init__(self, sink: Sink) -> None:
        self.sink = sink
        self.batch = Batch()
        self.stopping = False
        self.counts: Counter[str] = Counter()  # COL-5
        self.quarantine_budget: dict[str, tuple[int, int, int, Counter[str]]] = {}  # COL-8, per input
        self.stored_keys: set[tuple[uuid.UUID, int]] = set()  # ZMQ-6 where the sink has no database

    # --- a line: each rule of sections 1 and 2 in turn; the first broken is the one named (COL-1) ---

    def judge(self, line: bytes, size: int) -> Row:
        """The row a line becomes, or ``Rejected``. ``size`` counts the line's bytes with its LF."""
        self.check_size(size)
        text = self.check_utf8(line)
        value = self.read_json(text)
        self.check_object(value)
        self.check_strings(value)
        self.check_members(value)
        self.check_version(value)
        instant = self.read_time(value["time"])
        for name in TEXT_FIELDS:
            self.check_text_field(name, value[name])
        host_ip = self.canonical_host_ip(value["host_ip"])
        self.check_data(value)
        data = value.get("data")
        self.check_depth(data)
        return self.row(instant, value, host_ip, data)

    def check_size(self, size: int) -> None:
        """ENC-3: at most MAX_RECORD_BYTES, the LF included."""
        if size > MAX_RECORD_BYTES:
            raise Rejected("ENC-3", f"the line is {size:,} bytes or more with its LF; the most is {MAX_RECORD_BYTES:,}")

    def check_utf8(self, line: bytes) -> str:
        """ENC-1: well-formed UTF-8 (no overlong forms, no encoded surrogates), no byte order mark."""
        if line.startswith(b"\xef\xbb\xbf"):
            raise Rejected("ENC-1", "the line begins with a byte order mark")
        try:
            return line.decode("utf-8")
        except UnicodeDecodeError as error:
            raise Rejected("ENC-1", f"not UTF-8 at byte {error.start}: {line[error.start:error.start + 4]!r}") from None

    def read_json(self, text: str) -> Any:
        """ENC-2: exactly one JSON text, and no LF inside it; REC-4 and REC-13 as it is read."""
        if "\n" in text:
            raise Rejected("ENC-2", f"an LF inside the line, at character {text.index(chr(10))}")
        try:
            return json.loads(text, object_pairs_hook=self.json_object, parse_constant=self.json_constant,
                              parse_int=self.json_integer, parse_float=self.json_float)
        except json.JSONDecodeError as error:
            raise Rejected("ENC-2", f"not one JSON text: {error.msg} at character {error.pos}") from None
        except RecursionError:  # deeper than Python's reader goes, so far deeper than REC-11 allows
            if text.lstrip(" \t\r").startswith("{"):
                raise Rejected("REC-11", "data nests deeper than 64 levels") from None
            raise Rejected("REC-1", "a record is a JSON object, not a deeply nested array") from None

    def json_object(self, pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        """REC-4: member names unique within each object, at every depth."""
        names = [name for name, _ in pairs]
        if len(set(names)) != len(names):
            twice = next(name for name in names if names.count(name) > 1)
            raise Rejected("REC-4", f"member {twice[:60]!r} given twice")
        return dict(pairs)

    def json_constant(self, name: str) -> Any:
        """REC-13: ``NaN``, ``Infinity`` and ``-Infinity`` are not JSON."""
        raise Rejected("REC-13", f"{name} is not a JSON number")

    def json_integer(self, lexeme: str) -> int:
        """REC-13: an integer literal lies between -2^63 and 2^64-1, stored exactly. Its digits are counted
        before int() sees them: int() refuses more than 4,300 digits, and its time grows with their number."""
        if len(lexeme.lstrip("-")) > len(str(MAX_INTEGER)) or not MIN_INTEGER <= int(lexeme) <= MAX_INTEGER:
            raise Rejected("REC-13", f"integer {lexeme[:40]} outside -2^63 to 2^64-1")
        return int(lexeme)

    def json_float(self, lexeme: str) -> float:
        """REC-13: a number with a fraction or an exponent is finite as a binary64."""
        value = float(lexeme)
        if not math.isfinite(value):
            raise Rejected("REC-13", f"{lexeme[:40]} is beyond binary64")
        return value

    def check_object(self, value: Any) -> None:
        """REC-1: a record is a JSON object."""
        if not isinstance(value, dict):
            raise Rejected("REC-1", f"a record is a JSON object, not {type(value).__name__}")

    def check_strings(self, value: Any) -> None:
        """REC-12: no U+0000 and no surrogate in any string, member names included, at any depth."""
        pending = [value]
        while pending:
            item = pending.pop()
            strings: list[str] = []
            if isinstance(item, dict):
                strings += item
                pending += item.values()
            elif isinstance(item, list):
                pending += item
            elif isinstance(item, str):
                strings.append(item)
            for string in strings:
                bad = _UNSTORABLE.search(string)
                if bad:
                    raise Rejected("REC-12", f"U+{ord(bad.group()):04X} in {string[:40]!r}: PostgreSQL cannot store it")

    def check_members(self, value: dict[str, Any]) -> None:
        """REC-2: every required member present; REC-3: no member but those of the table and v."""
        for name in self.required:
            if name not in value:
                raise Rejected("REC-2", f"required member {name!r} missing")
        for name in value:
            if name not in self.allowed:
                raise Rejected("REC-3", f"{name[:60]!r} is not a member of a record; application fields belong in data")

    def check_version(self, value: dict[str, Any]) -> None:
        """VER-1: v, when present, is the integer 1; VER-2: another integer is a version not implemented."""
        if "v" not in value:
            return
        version = value["v"]
        if not isinstance(version, int) or isinstance(version, bool):
            raise Rejected("VER-1", f"the version must be an integer, not {json.dumps(version)[:40]}")
        if version != PROTOCOL_VERSION:
            raise Rejected("VER-2", f"version {version} is not implemented; this collector implements version 1")

    def read_time(self, text: Any) -> datetime:
        """REC-5: RFC 3339 date-time with an offset; REC-6: microseconds, truncated, second 60 allowed;
        REC-7: the instant in UTC within years 1 to 9999."""
        match = _TIME.fullmatch(text) if isinstance(text, str) else None
        if match is None:
            raise Rejected("REC-5", f"time is not an RFC 3339 date-time with an offset: {json.dumps(text)[:60]}")
        year, month, day, hour, minute, second = (int(match[n]) for n in range(1, 7))
        if not 1 <= month <= 12 or not 1 <= day <= _days_in_month(year, month):
            raise Rejected("REC-5", f"time names no such date: {text!r}")
        if hour > 23 or minute > 59 or second > 60:
            raise Rejected("REC-5", f"time names no such time of day: {text!r}")
        seconds = (_days_from_civil(year, month, day) * 86_400 + (hour * 60 + minute) * 60 + second
                   - self.offset_seconds(match[8], int(match[9] or 0), int(match[10] or 0), text))
        return self.instant(seconds * 10**6 + self.fraction_microseconds(match[7] or ""), text)

    def fraction_microseconds(self, digits: str) -> int:
        """REC-6: a fraction of any length, cut to microseconds: truncated, never rounded."""
        return int(digits[:6].ljust(6, "0"))

    def offset_seconds(self, sign: str | None, hours: int, minutes: int, text: str) -> int:
        """REC-5: the offset, at most 23:59, east of UTC when positive; ``Z`` (no sign) is UTC."""
        if hours > 23 or minutes > 59:
            raise Rejected("REC-5", f"time has an offset beyond 23:59: {text!r}")
        return (hours * 60 + minutes) * 60 * (-1 if sign == "-" else 1)

    def instant(self, microseconds: int, text: str) -> datetime:
        """REC-7: between 0001-01-01T00:00:00Z and 9999-12-31T23:59:59.999999Z inclusive."""
        if not _EARLIEST_US <= microseconds <= _LATEST_US:
            raise Rejected("REC-7", f"time {text!r} lies outside 0001-01-01 to 9999-12-31 UTC")
        return _UNIX_EPOCH + timedelta(microseconds=microseconds)

    def check_text_field(self, name: str, value: Any) -> None:
        """REC-8: a JSON string of 1 to 1,024 bytes once encoded in UTF-8."""
        if not isinstance(value, str):
            raise Rejected("REC-8", f"{name} must be a string, not {json.dumps(value)[:40]}")
        size = len(value.encode("utf-8"))
        if not 1 <= size <= MAX_TEXT_FIELD_BYTES:
            raise Rejected("REC-8", f"{name} is {size:,} bytes of UTF-8; from 1 to {MAX_TEXT_FIELD_BYTES:,} allowed")

    def canonical_host_ip(self, text: str) -> str:
        """REC-9: an IPv4 or IPv6 address literal, stored in canonical form."""
        canonical = _ipv4(text) or _ipv6(text)
        if canonical is None:
            raise Rejected("REC-9", f"host_ip {text[:60]!r} is not an IPv4 or IPv6 address literal")
        return canonical

    def check_data(self, value: dict[str, Any]) -> None:
        """REC-10: data is a JSON object or null; absent, it is null (REC-2)."""
        data = value.get("data")
        if data is not None and not isinstance(data, dict):
            raise Rejected("REC-10", f"data must be a JSON object or null, not {json.dumps(data)[:40]}")

    def check_depth(self, data: dict[str, Any] | None) -> None:
        """REC-11: data itself is level 1, and each object or array inside adds one; 64 at most."""
        pending: list[tuple[dict[str, Any] | list[Any], int]] = [(data, 1)] if data is not None else []
        while pending:
            item, level = pending.pop()
            if level > MAX_DATA_DEPTH:
                raise Rejected("REC-11", f"data nests {level} levels deep or more; the most is {MAX_DATA_DEPTH}")
            children = item.values() if isinstance(item, dict) else item
            pending += [(child, level + 1) for child in children if isinstance(child, (dict, list))]

    def row(self, instant: datetime, value: dict[str, Any], host_ip: str, data: dict[str, Any] | None) -> Row:
        """Section 7: the row a valid record becomes."""
        return Row(instant, {**{name: value[name] for name in TEXT_FIELDS}, "host_ip": host_ip}, data)

    # --- a ZeroMQ message (ZMQ-3, ZMQ-11, ZMQ-12, VER-2) ---

    def judge_message(self, frames: list[bytes]) -> tuple[uuid.UUID, int, list[bytes]]:
        """(session, first sequence number, record frames), or ``Rejected`` for the whole message."""
        self.check_tag(frames[0])
        if len(frames) < 4:
            raise Rejected("ZMQ-11", f"{len(frames)} frames; a message has 4 or more")
        if len(frames[1]) != 16:
            raise Rejected("ZMQ-11", f"a session ID of {len(frames[1])} bytes; it has 16")
        if len(frames[2]) != 8:
            raise Rejected("ZMQ-11", f"a sequence number of {len(frames[2])} bytes; it has 8")
        first, records = int.from_bytes(frames[2], "big"), frames[3:]
        self.check_sequence(first, len(records))
        self.check_message_bounds(records)
        return uuid.UUID(bytes=frames[1]), first, records

    def check_tag(self, tag: bytes) -> None:
        """ZMQ-3: the tag LD1. LD and another version number breaks VER-2; anything else ZMQ-11."""
        if tag == TAG:
            return
        if re.fullmatch(rb"LD(0|[1-9][0-9]*)", tag):
            raise Rejected("VER-2", f"protocol version {tag[2:].decode()[:20]} is not implemented; this collector "
                                    f"implements version 1")
        raise Rejected("ZMQ-11", f"the first frame {tag[:20]!r} is not the tag {TAG.decode()}")

    def check_sequence(self, first: int, count: int) -> None:
        """ZMQ-3: numbers start at 1 and never exceed 2^63-1 (PostgreSQL's BIGINT)."""
        if first == 0:
            raise Rejected("ZMQ-11", "the first sequence number is 0; numbers start at 1")
        if first + count - 1 > MAX_SEQ:
            raise Rejected("ZMQ-11", f"records numbered {first} to {first + count - 1}, past 2^63-1")

    def check_message_bounds(self, records: list[bytes]) -> None:
        """ZMQ-12: at most 1,024 records and 1 MiB of record frames."""
        if len(records) > MAX_MESSAGE_RECORDS:
            raise Rejected("ZMQ-12", f"{len(records):,} records; the most is {MAX_MESSAGE_RECORDS:,}")
        size = sum(map(len, records))
        if size > MAX_MESSAGE_BYTES:
            raise Rejected("ZMQ-12", f"{size:,} bytes of records; the most is {MAX_MESSAGE_BYTES:,}")

    # --- taking input into the batch ---

    def take_line(self, source: str, line: bytes, size: int) -> None:
        """A FIFO line: its row, or its rejection."""
        self.counts["received"] += 1
        try:
            self.batch.rows.append(self.judge(line.removesuffix(b"\n"), size))
        except Rejected as rejected:
            self.quarantine(Rejection("fifo", source, rejected.rule, rejected.reason, line[:MAX_RECORD_BYTES]))

    def take_message(self, endpoint: str, socket: zmq.Socket[bytes], identity: bytes, frames: list[bytes]) -> None:
        """A ZeroMQ message: refused whole, or each record judged and the acknowledgement held for the commit."""
        source = identity.decode("ascii") if identity.isascii() and identity[:1] != b"\0" else identity.hex()
        try:
            session, first, records = self.judge_message(frames)
        except Rejected as rejected:  # not acknowledged: it is not a delivery (ZMQ-11, ZMQ-12, VER-2)
            self.counts["received"] += 1
            self.quarantine(Rejection("zmq", source, rejected.rule, rejected.reason,
                                      b"".join(frames)[:MAX_RECORD_BYTES]), budget_key=endpoint)
            return
        for seq, frame in enumerate(records, first):
            self.counts["received"] += 1
            line = frame.removesuffix(b"\n")  # ZMQ-3: a trailing LF may be present and is ignored
            try:
                row = self.judge(line, len(line) + 1)
                row.session, row.seq = session, seq
                self.batch.rows.append(row)
            except Rejected as rejected:
                self.quarantine(Rejection("zmq", source, rejected.rule, rejected.reason, frame[:MAX_RECORD_BYTES],
                                          session, seq), budget_key=endpoint)
        self.acknowledge_after_commit(socket, [identity, TAG, session.bytes, first.to_bytes(8, "big"),
                                               len(records).to_bytes(8, "big")])

    def acknowledge_after_commit(self, socket: zmq.Socket[bytes], ack: list[bytes]) -> None:
        """ZMQ-4: the acknowledgement waits for the commit of the batch that holds the message's records."""
        self.batch.acks.append((socket, ack))

    def quarantine(self, rejection: Rejection, budget_key: str | None = None) -> None:
        """COL-1: every rejection to the quarantine, within COL-8's bound per input."""
        self.counts[f"rejected {rejection.rule}"] += 1
        if not self.sink.bounds_quarantine or self.admit(budget_key or rejection.source, rejection):
            self.batch.rejections.append(rejection)

    def admit(self, key: str, rejection: Rejection) -> bool:
        """COL-8: per input and per second, at most 100 rejections and 1 MiB of their bytes are stored;
        the rest are counted, and one COL-8 row a second says how many, by rule."""
        second = int(time.time())
        last, rows, size, dropped = self.quarantine_budget.get(key, (second, 0, 0, Counter()))
        if last != second:
            self.report_dropped(key, rejection.transport, dropped)
            rows, size, dropped = 0, 0, Counter()
        admitted = rows < QUARANTINE_ROWS_PER_S and size + len(rejection.raw) <= QUARANTINE_BYTES_PER_S
        if admitted:
            rows, size = rows + 1, size + len(rejection.raw)
        else:
            dropped[rejection.rule] += 1
        self.quarantine_budget[key] = (second, rows, size, dropped)
        return admitted

    def report_dropped(self, key: str, transport: str, dropped: Counter[str]) -> None:
        if dropped:
            by_rule = ", ".join(f"{rule} {n}" for rule, n in sorted(dropped.items()))
            self.batch.rejections.append(Rejection(transport, key, "COL-8", f"{sum(dropped.values())} rejections "
                                                   f"past the bound of this input not stored: {by_rule}", b""))
            self.counts["not quarantined (COL-8)"] += sum(dropped.values())

    # --- committing ---

    def flush_due(self) -> bool:
        return len(self.batch) >= BATCH_RECORDS or (
            len(self.batch) > 0 and time.monotonic() - self.batch.started >= self.batch_seconds)

    def flush(self) -> None:
        """Commit the batch, waiting out a database at fault (COL-9), then send its acknowledgements."""
        if not len(self.batch):
            return
        self.commit_until_done(self.batch)
        for socket, ack in self.batch.acks:
            socket.send_multipart(ack)
        self.batch = Batch()

    def commit_until_done(self, batch: Batch) -> None:
        """COL-9: keep the batch and try again, from 0.5 s doubling to 30 s, saying so once per change
        of state; told to stop meanwhile, give up and exit non-zero (COL-4 cannot be kept)."""
        pause, at_fault = RETRY_FIRST_S, False
        while True:
            try:
                stored, duplicates = self.sink.commit(batch, self.stored_keys)
                break
            except DatabaseAtFault as fault:
                if not at_fault:
                    say(f"the database is at fault, retrying: {fault}")
                    at_fault = True
            if self.stopping:
                say(f"stopped while the database is at fault: {len(batch.rows)} records and "
                    f"{len(batch.rejections)} rejections read and not stored, nothing of them acknowledged")
                self.report_counts()
                sys.exit(1)
            self.sleep(pause)
            pause = min(pause * 2, RETRY_MOST_S)
        if at_fault:
            say("the database takes writes again")
        self.counts["stored"] += stored
        self.counts["duplicate"] += duplicates

    def sleep(self, seconds: float) -> None:
        """A pause that a stop signal cuts short."""
        end = time.monotonic() + seconds
        while not self.stopping and time.monotonic() < end:
            time.sleep(min(0.05, end - time.monotonic()))

    # --- starting: what main asks of it before the loop ---

    def handle_signals(self) -> None:
        """COL-4: SIGTERM and SIGINT stop it the same way; COL-5: SIGUSR1 reports the counts."""
        signal.signal(signal.SIGTERM, self.request_stop)
        signal.signal(signal.SIGINT, self.request_stop)
        signal.signal(signal.SIGUSR1, self.report_counts)

    def bind(self, context: zmq.Context[zmq.Socket[bytes]], endpoint: str) -> zmq.Socket[bytes]:
        """ZMQ-1: a ROUTER at ``endpoint`` (DEFAULT_ENDPOINT, loopback, when ``--zmq`` names none);
        ZMQ-2: handover; ZMQ-8: no frame over MAX_RECORD_BYTES; ZMQ-9: heartbeats."""
        socket = context.socket(zmq.ROUTER)
        socket.setsockopt(zmq.ROUTER_HANDOVER, 1)
        socket.setsockopt(zmq.MAXMSGSIZE, self.max_frame_bytes)
        socket.setsockopt(zmq.HEARTBEAT_IVL, 1_000)
        socket.setsockopt(zmq.HEARTBEAT_TIMEOUT, 5_000)
        socket.setsockopt(zmq.LINGER, 1_000)
        socket.bind(endpoint)
        return socket

    # --- the loop ---

    def run(self, fifos: list[FifoInput], zmq_inputs: list[tuple[str, zmq.Socket[bytes]]]) -> int:
        poller = zmq.Poller()
        for fifo in fifos:
            poller.register(fifo.fd, zmq.POLLIN)
        for _, socket in zmq_inputs:
            poller.register(socket, zmq.POLLIN)
        by_fd = {fifo.fd: fifo for fifo in fifos}
        by_socket = {socket: endpoint for endpoint, socket in zmq_inputs}
        while not self.stopping:
            for ready, _ in poller.poll(50):  # short enough for COL-3 and a stop signal; idle, it sleeps
                if not len(self.batch):
                    self.batch.started = time.monotonic()
                if isinstance(ready, int):
                    fifo = by_fd[ready]
                    for line, size in fifo.read():
                        self.take_line(fifo.path, line, size)
                else:
                    identity, *frames = ready.recv_multipart()
                    self.take_message(by_socket[ready], ready, identity, frames)
            if self.flush_due():
                self.flush()
        self.stop()
        return 0

    def stop(self) -> None:
        """COL-4: stop reading, commit all that was read, acknowledge it, report the counts."""
        for key, (_, _, _, dropped) in self.quarantine_budget.items():
            self.report_dropped(key, "zmq" if "://" in key else "fifo", dropped)
        self.flush()
        self.report_counts()

    def request_stop(self, *_: object) -> None:
        self.stopping = True

    def report_counts(self, *_: object) -> None:
        """COL-5: the counts on exit and on SIGUSR1."""
        say("counts: " + ", ".join(f"{name} {n}" for name, n in sorted(self.counts.items())))


# ---------------------------------------------------------------------------------------------------------------
# Sinks


class PostgresSink:
    """Rows into ``logs``, rejections into ``logs_rejected`` (section 7), one transaction a batch."""

    bounds_quarantine = True  # COL-8: any writer could otherwise fill the database's disk
    schema = SCHEMA
    insert_logs = ("INSERT INTO logs (time, application_name, environment_name, log_event, trace_id, file_path,"
                   " host_ip, data, emitter_session, emitter_seq) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
                   " ON CONFLICT DO NOTHING")

    def __init__(self, dsn: str) -> None:
        self.dsn = dsn
        self.conn: psycopg.Connection[Any] | None = None

    def connect(self) -> psycopg.Connection[Any]:
        if self.conn is None or self.conn.closed:
            self.conn = psycopg.connect(self.dsn, connect_timeout=10)
            self.create_schema(self.conn)
        return self.conn

    def create_schema(self, conn: psycopg.Connection[Any]) -> None:
        """PG-5: the schema created when missing, an existing one left as it is."""
        with conn.transaction():
            conn.execute(self.schema)

    def commit(self, batch: Batch, _: set[tuple[uuid.UUID, int]]) -> tuple[int, int]:
        """(rows stored, duplicates). A row that PostgreSQL refuses goes to the quarantine (COL-2);
        any other error is the database's state, and ``DatabaseAtFault`` (COL-9)."""
        try:
            conn = self.connect()
            try:
                with conn.transaction():
                    return self.insert(conn, batch.rows, batch.rejections)
            except (psycopg.DataError, psycopg.IntegrityError):
                return self.commit_row_by_row(conn, batch)
        except psycopg.Error as error:
            if self.conn is not None:
                self.conn.close()  # a new session, since a read-only one stays read-only (COL-9)
            raise DatabaseAtFault(f"{type(error).__name__}: {first_line(error)}") from None

    def insert(self, conn: psycopg.Connection[Any], rows: list[Row], rejections: list[Rejection]) -> tuple[int, int]:
        """PG-6: values as parameters only. ON CONFLICT: a delivery stored before is not stored again (ZMQ-6)."""
        stored = 0
        with conn.cursor() as cursor:
            if rows:
                cursor.executemany(self.insert_logs, [self.values(row) for row in rows])
                stored = cursor.rowcount
            if rejections:
                cursor.executemany(
                    "INSERT INTO logs_rejected (transport, source, rule, reason, raw, emitter_session, emitter_seq)"
                    " VALUES (%s, %s, %s, %s, %s, %s, %s) ON CONFLICT DO NOTHING",
                    [(r.transport, r.source, r.rule, r.reason, r.raw, r.session, r.seq) for r in rejections])
        return stored, len(rows) - stored

    def values(self, row: Row) -> tuple[Any, ...]:
        """PG-1: the columns of section 1 in the order the INSERT names them."""
        return (row.time, *(row.texts[name] for name in TEXT_FIELDS), None if row.data is None else Jsonb(row.data),
                row.session, row.seq)

    def commit_row_by_row(self, conn: psycopg.Connection[Any], batch: Batch) -> tuple[int, int]:
        """COL-2: a row PostgreSQL refuses must not fail its batch: it goes to the quarantine instead, and
        a quarantine row refused too is reported on standard error, and the collector goes on (COL-9)."""
        stored = duplicates = 0
        rejections = list(batch.rejections)
        with conn.transaction():
            for row in batch.rows:
                try:
                    with conn.transaction():
                        one, twice = self.insert(conn, [row], [])
                    stored, duplicates = stored + one, duplicates + twice
                except (psycopg.DataError, psycopg.IntegrityError) as error:
                    rejections.append(Rejection("fifo" if row.session is None else "zmq", "database", "COL-2",
                                                f"PostgreSQL refused the row: {first_line(error)}", b"",
                                                row.session, row.seq))
            for rejection in rejections:
                try:
                    with conn.transaction():
                        self.insert(conn, [], [rejection])
                except (psycopg.DataError, psycopg.IntegrityError) as error:
                    say(f"the quarantine refused a row of rule {rejection.rule}, not stored: {first_line(error)}")
        return stored, duplicates


class StdoutSink:
    """Accepted records as canonical lines on stdout, rejections as COL-7's lines on stderr."""

    #: COL-7 asks for one line per rejection: standard error is a stream its reader bounds, not a disk
    #: that fills behind everyone's back.
    bounds_quarantine = False

    def commit(self, batch: Batch, stored_keys: set[tuple[uuid.UUID, int]]) -> tuple[int, int]:
        stored = duplicates = 0
        lines = []
        for row in batch.rows:
            if row.session is not None and row.seq is not None:
                if (row.session, row.seq) in stored_keys:  # ZMQ-6, in memory: this sink keeps nothing else
                    duplicates += 1
                    continue
                stored_keys.add((row.session, row.seq))
            lines.append(self.canonical(row))
            stored += 1
        sys.stdout.buffer.write(b"".join(lines))
        sys.stdout.buffer.flush()
        for rejection in batch.rejections:
            self.report(rejection)
        sys.stderr.flush()
        return stored, duplicates

    def canonical(self, row: Row) -> bytes:
        """ENC-5: the members in the table's order, no whitespace, time in UTC with six digits and Z,
        strings as UTF-8 with only quote, backslash and control characters escaped."""
        t = row.time
        record = {"time": f"{t.year:04d}-{t.month:02d}-{t.day:02d}T{t.hour:02d}:{t.minute:02d}:{t.second:02d}."
                          f"{t.microsecond:06d}Z", **row.texts, "data": row.data}
        return json.dumps(record, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode() + b"\n"

    def report(self, rejection: Rejection) -> None:
        """COL-7: ``rejected from SOURCE: RULE: reason``, one line each; a COL-8 summary is informational."""
        reason = rejection.reason.replace("\n", "\\n")
        if rejection.rule == "COL-8":
            say(f"quarantine bound of {rejection.source}: {reason}")
        else:
            say(f"rejected from {rejection.source}: {rejection.rule}: {reason}")


Sink = PostgresSink | StdoutSink


# ---------------------------------------------------------------------------------------------------------------
# Inputs


class FifoInput:
    """A FIFO, created 0600 if missing (FIFO-1) and held open read-write (FIFO-7), read in lines (ENC-2)."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.make_fifo()
        self.fd = self.open()
        self.pending = b""  # the start of a line whose LF has not come yet
        self.too_long: bytes | None = None  # the first MAX_RECORD_BYTES of a line over ENC-3's bound

    def make_fifo(self) -> None:
        """FIFO-1: created with mode 0600 whatever the umask; a path that is not a FIFO is refused."""
        try:
            mode = os.stat(self.path).st_mode
        except FileNotFoundError:
            os.mkfifo(self.path, 0o600)
            os.chmod(self.path, 0o600)  # mkfifo's mode passes through the umask, which may take away, not add
            return
        if not stat.S_ISFIFO(mode):
            raise SystemExit(f"collect: {self.path} exists and is not a FIFO")
        if mode & 0o002:
            say(f"warning: {self.path} is writable by others")

    def open(self) -> int:
        """FIFO-7: read-write, so writers coming and going never bring end-of-file; a bigger pipe if allowed."""
        fd = os.open(self.path, os.O_RDWR | os.O_NONBLOCK)
        try:
            with open("/proc/sys/fs/pipe-max-size") as most:
                fcntl.fcntl(fd, fcntl.F_SETPIPE_SZ, int(most.read()))
        except OSError:
            pass  # a SHOULD: the default capacity works, only with less room for bursts
        return fd

    def read(self) -> list[tuple[bytes, int]]:
        try:
            chunk = os.read(self.fd, READ_BYTES)
        except BlockingIOError:
            return []
        return self.lines(chunk)

    def lines(self, chunk: bytes) -> list[tuple[bytes, int]]:
        """(line, its size) for each line completed by ``chunk``; a line cut by a read waits for the rest
        (ENC-2). ENC-3: of a line past the bound, only its first MAX_RECORD_BYTES are held."""
        found = []
        start = 0
        while start < len(chunk):
            lf = chunk.find(b"\n", start)
            piece = chunk[start:] if lf < 0 else chunk[start:lf + 1]
            start += len(piece)
            if self.too_long is not None:
                if lf >= 0:
                    found.append((self.too_long, MAX_RECORD_BYTES + 1))
                    self.too_long = None
            elif lf >= 0:
                line, self.pending = self.pending + piece, b""
                found.append((line[:MAX_RECORD_BYTES], len(line)))
            else:
                self.pending += piece
                if len(self.pending) > MAX_RECORD_BYTES:
                    self.too_long, self.pending = self.pending[:MAX_RECORD_BYTES], b""
        return found


def first_line(error: Exception) -> str:
    return (str(error).splitlines() or [""])[0]


def say(message: str) -> None:
    print(f"collect: {message}", file=sys.stderr, flush=True)


#: CLI-3: the seed's five queries (sql/queries.sql), by name.
QUERIES = {
    "latest": "SELECT * FROM logs ORDER BY time DESC LIMIT 5",
    "by_trace_id": "SELECT * FROM logs WHERE logs.trace_id = 'bfb95991-ae1b-4f7b-bc11-024dc53b964f'",
    "by_host_ip": "SELECT * FROM logs WHERE logs.host_ip = '172.18.0.3'",
    "login_errors": "SELECT data,file_path FROM logs WHERE logs.log_event ='login_error' ORDER BY time DESC LIMIT 5",
    "with_traceback": "SELECT log_event,data FROM logs WHERE data->>'traceback' IS NOT NULL",
}


def arguments(argv: list[str]) -> argparse.Namespace:
    """CLI-1: ``collect --fifo PATH [--dsn DSN | --stdout]``, ``collect --zmq [ENDPOINT] ...``, repeatable;
    CLI-3: ``query [--dsn DSN] [NAME]``."""
    parser = argparse.ArgumentParser(prog="conforming_collector.py")
    commands = parser.add_subparsers(dest="command", required=True)
    collect = commands.add_parser("collect")
    collect.add_argument("--fifo", action="append", default=[])
    collect.add_argument("--zmq", action="append", default=[], nargs="?", const=DEFAULT_ENDPOINT)
    sink = collect.add_mutually_exclusive_group(required=True)
    sink.add_argument("--dsn")
    sink.add_argument("--stdout", action="store_true")
    query = commands.add_parser("query")
    query.add_argument("--dsn", default="")  # libpq's PG* environment variables fill in what it leaves out
    query.add_argument("name", nargs="?", choices=sorted(QUERIES))
    args = parser.parse_args(argv)
    if args.command == "collect" and not args.fifo and not args.zmq:
        collect.error("give --fifo PATH or --zmq ENDPOINT")
    return args


def run_queries(dsn: str, names: list[str]) -> int:
    """CLI-3: each named query's rows, tab-separated, one a line."""
    with psycopg.connect(dsn) as conn:
        for name in names:
            print(f"-- {name}")
            for row in conn.execute(QUERIES[name]):
                print("\t".join(str(value) for value in row))
    return 0


def main(collector_class: type[Collector] = Collector, *, fifo: type[FifoInput] = FifoInput,
         postgres: type[PostgresSink] = PostgresSink, stdout: type[StdoutSink] = StdoutSink) -> int:
    """The program; a known-bad one calls it with the one class it changes."""
    args = arguments(sys.argv[1:])
    if args.command == "query":
        return run_queries(args.dsn, [args.name] if args.name else list(QUERIES))
    sink: Sink = postgres(args.dsn) if args.dsn else stdout()
    collector = collector_class(sink)
    collector.handle_signals()
    # An empty batch committed: the database reached and the schema there (PG-5) before any input is
    # opened, so that whoever sees the FIFO open finds the tables too.
    collector.commit_until_done(Batch())
    fifos = [fifo(path) for path in args.fifo]
    context: zmq.Context[zmq.Socket[bytes]] = zmq.Context()
    sockets = [(endpoint, collector.bind(context, endpoint)) for endpoint in args.zmq]
    try:
        return collector.run(fifos, sockets)
    finally:
        for _, socket in sockets:
            socket.close()
        context.term()


if __name__ == "__main__":
    sys.exit(main())
