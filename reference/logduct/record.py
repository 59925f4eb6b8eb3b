"""The log record: parse, validate, encode. No I/O.

Theory of operation: a ``Record`` is a frozen value that cannot exist unless it satisfies SPEC.md
section 1; its constructor checks and normalises every field (UTC time, canonical IP). ``decode``
turns the bytes of one line into a Record or raises ``ProtocolError`` naming the first rule broken;
``encode`` gives the canonical line of ENC-5. Everything that goes wrong with input, however
hostile, ends as a ``ProtocolError``: that is what lets a collector quarantine a line and go on.
"""

from __future__ import annotations

import ipaddress
import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any, TypeAlias

import orjson

from . import rfc3339
from .errors import ProtocolError
from .framing import MAX_LINE_BYTES, check_length

JSONValue: TypeAlias = bool | int | float | str | list["JSONValue"] | dict[str, "JSONValue"] | None

#: ENC-3: the longest line, LF included, on any transport (decided in framing.py).
MAX_RECORD_BYTES = MAX_LINE_BYTES
#: REC-8: the longest text field, in bytes of UTF-8.
MAX_TEXT_FIELD_BYTES = 1_024
#: REC-11: the deepest nesting of ``data``; the data object itself is level 1.
MAX_DATA_DEPTH = 64
#: REC-13: the range of integer literals, both signed and unsigned 64-bit ids fit.
MIN_INTEGER, MAX_INTEGER = -(2**63), 2**64 - 1
#: VER-1: the protocol version this module implements.
PROTOCOL_VERSION = 1

#: The members of section 1, in the order of the canonical encoding (ENC-5 item 1).
FIELDS = ("time", "application_name", "environment_name", "log_event", "trace_id", "file_path",
          "host_ip", "data")
TEXT_FIELDS = ("application_name", "environment_name", "log_event", "trace_id", "file_path")
_REQUIRED = frozenset(FIELDS) - {"data"}
_ALL_FIELDS = frozenset(FIELDS)
_ALLOWED = _ALL_FIELDS | {"v"}

# REC-12: U+0000 and surrogates (only a \u escape can produce one; UTF-8 cannot carry them).
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
_UTF8_BOM = b"\xef\xbb\xbf"


@dataclass(frozen=True, kw_only=True, slots=True)
class Record:
    """One log event, valid by construction (SPEC.md section 1)."""

    time: datetime
    application_name: str
    environment_name: str
    log_event: str
    trace_id: str
    file_path: str
    host_ip: str
    data: dict[str, JSONValue] | None = None

    @classmethod
    def from_checked_fields(cls, time: datetime, application_name: str, environment_name: str, log_event: str,
                            trace_id: str, file_path: str, host_ip: str, data: dict[str, JSONValue] | None) -> Record:
        """A Record of fields the caller has already checked against section 1, time in UTC and host_ip
        canonical: the constructor's checks skipped, for the hot paths that made the fields valid
        themselves (``decode``). Anything else calls the constructor."""
        # Frozen: each slot's own setter is called, as object.__setattr__ would, in a third of the time.
        record = object.__new__(cls)
        _set_time(record, time)
        _set_application_name(record, application_name)
        _set_environment_name(record, environment_name)
        _set_log_event(record, log_event)
        _set_trace_id(record, trace_id)
        _set_file_path(record, file_path)
        _set_host_ip(record, host_ip)
        _set_data(record, data)
        return record

    def __post_init__(self) -> None:
        if not isinstance(self.time, datetime):
            raise ProtocolError("REC-5", "must be a datetime", field="time", value=self.time)
        if self.time.utcoffset() is None:
            # REC-5: a time without an offset names no instant.
            raise ProtocolError("REC-5", "no UTC offset (naive datetime)", field="time", value=self.time)
        if self.time.tzinfo is not rfc3339.UTC:
            try:
                utc = self.time.astimezone(rfc3339.UTC)
            except OverflowError:
                raise ProtocolError("REC-7", "instant outside 0001-01-01 to 9999-12-31 UTC",
                                    field="time", value=self.time) from None
            object.__setattr__(self, "time", utc)
        for name in TEXT_FIELDS:
            _check_text(name, getattr(self, name))
        object.__setattr__(self, "host_ip", canonical_ip(self.host_ip))
        if self.data is not None:
            if not isinstance(self.data, dict):
                # REC-10: data MUST be a JSON object or null.
                raise ProtocolError("REC-10", "must be a JSON object or null", field="data",
                                    value=self.data)
            _check_json(self.data, depth=1, path="data")


def _check_text(name: str, value: object) -> None:
    # REC-8: each text field MUST be a JSON string of 1 to 1,024 bytes once encoded in UTF-8.
    if not isinstance(value, str):
        raise ProtocolError("REC-8", f"must be a string, not {_json_type(value)}", field=name, value=value)
    _check_string(value, name)
    if not value:
        raise ProtocolError("REC-8", "must not be empty", field=name, value=value)
    # A character takes at most 4 bytes, so only long strings need encoding to be measured.
    if len(value) * 4 > MAX_TEXT_FIELD_BYTES and len(value.encode()) > MAX_TEXT_FIELD_BYTES:
        raise ProtocolError("REC-8", f"is {len(value.encode()):,} bytes of UTF-8; the most is "
                            f"{MAX_TEXT_FIELD_BYTES:,}", field=name, value=value)


def _check_string(value: str, where: str) -> None:
    # REC-12: no string may contain U+0000 or a surrogate code point.
    bad = _UNSTORABLE.search(value)
    if bad is not None:
        what = "U+0000" if bad.group() == "\x00" else f"the lone surrogate U+{ord(bad.group()):04X}"
        raise ProtocolError("REC-12", f"contains {what}, which PostgreSQL cannot store",
                            field=where, value=value)


def _check_json(value: object, *, depth: int, path: str) -> None:
    """Check a value inside ``data``: JSON types only, REC-11 to REC-13."""
    if value is None or value is True or value is False:
        return
    if isinstance(value, str):
        _check_string(value, path)
    elif isinstance(value, int):
        # REC-13: an integer literal MUST lie between -2^63 and 2^64-1.
        if not MIN_INTEGER <= value <= MAX_INTEGER:
            raise ProtocolError("REC-13", "integer outside -2^63 to 2^64-1", field=path, value=value)
    elif isinstance(value, float):
        # REC-13: NaN and the infinities are not JSON; other numbers must be finite binary64.
        if not math.isfinite(value):
            raise ProtocolError("REC-13", "number is not finite", field=path, value=value)
    elif isinstance(value, (dict, list)):
        if depth > MAX_DATA_DEPTH:
            raise ProtocolError("REC-11", f"nests deeper than {MAX_DATA_DEPTH} levels", field=path)
        if isinstance(value, dict):
            for key, item in value.items():
                if not isinstance(key, str):
                    raise ProtocolError("REC-10", "object member names must be strings", field=path,
                                        value=key)
                _check_string(key, f"{path} member name")
                _check_json(item, depth=depth + 1, path=f"{path}.{key}")
        else:
            for index, item in enumerate(value):
                _check_json(item, depth=depth + 1, path=f"{path}[{index}]")
    else:
        raise ProtocolError("REC-10", f"{type(value).__name__} is not a JSON value", field=path,
                            value=value)


def canonical_ip(text: object) -> str:
    """The canonical spelling of an IP address literal (REC-9)."""
    if not isinstance(text, str):
        raise ProtocolError("REC-9", f"must be a string, not {_json_type(text)}", field="host_ip",
                            value=text)
    return _canonical_ip(text)


def escape_unstorable(text: str) -> str:
    """``text`` with U+0000 and lone surrogates written as escapes: for text that must be stored
    whatever it holds (error reasons, log messages), where REC-12 would otherwise refuse it."""
    if text.isprintable():
        return text
    return text.encode("utf-8", "backslashreplace").decode("utf-8").replace("\x00", "\\x00")


@lru_cache(maxsize=4096)  # A collector sees the same few hosts over and over.
def _canonical_ip(text: str) -> str:
    # ipaddress accepts IPv6 zone indexes ("fe80::1%eth0"); REC-9 does not.
    if "%" in text or "/" in text:
        raise ProtocolError("REC-9", "a zone index or prefix length is not an address literal",
                            field="host_ip", value=text)
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        raise ProtocolError("REC-9", "not an IPv4 or IPv6 address literal", field="host_ip",
                            value=text) from None
    # RFC 5952 §5: an IPv4-mapped address in mixed notation. Python before 3.13 prints hex groups.
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return f"::ffff:{address.ipv4_mapped}"
    return str(address)


def from_mapping(obj: object) -> Record:
    """The Record a parsed JSON value describes, or the first rule it breaks (REC-1 to REC-3, VER)."""
    if not isinstance(obj, Mapping):
        raise ProtocolError("REC-1", f"a record must be a JSON object, not {_json_type(obj)}", value=obj)
    if obj.keys() != _ALL_FIELDS:  # the common case, every field once and no v, decided in one comparison
        unknown = obj.keys() - _ALLOWED
        if unknown:
            raise ProtocolError("REC-3", "unknown member; put application fields inside data",
                                field=min(unknown), value=obj[min(unknown)])
        missing = _REQUIRED - obj.keys()
        if missing:
            raise ProtocolError("REC-2", "required member is missing", field=min(missing))
        if "v" in obj:
            _check_version(obj["v"])
    when = obj["time"]
    if not isinstance(when, str):
        raise ProtocolError("REC-5", f"must be a string, not {_json_type(when)}", field="time", value=when)
    return Record(time=rfc3339.parse(when), application_name=obj["application_name"],
                  environment_name=obj["environment_name"], log_event=obj["log_event"], trace_id=obj["trace_id"],
                  file_path=obj["file_path"], host_ip=obj["host_ip"], data=obj.get("data"))


#: Each field's slot, set directly by ``Record.from_checked_fields``.
(_set_time, _set_application_name, _set_environment_name, _set_log_event, _set_trace_id, _set_file_path, _set_host_ip,
 _set_data) = (getattr(Record, name).__set__ for name in FIELDS)


def _check_version(version: object) -> None:
    if type(version) is not int:  # True == 1 in Python; a boolean is not a version.
        raise ProtocolError("VER-1", "v must be an integer", field="v", value=version)
    if version != PROTOCOL_VERSION:
        raise ProtocolError("VER-2", f"protocol version {version} is not implemented "
                            f"(this collector speaks {PROTOCOL_VERSION})", field="v", value=version)


def decode(line: bytes) -> Record:
    """Decode one line (its final LF optional) into a Record, or raise ``ProtocolError``.

    ENC-4, the collector's side: any member order, whitespace, escapes or UTC offset is accepted;
    only section 1 and ENC-1 to ENC-3 decide (the emitter's side: ``encode``)."""
    body = line[:-1] if line.endswith(b"\n") else line
    # A line the fast path takes is one JSON text of UTF-8 without a BOM or an LF (orjson wrote it),
    # so only ENC-3 is left to judge before it. Most lines hold no backslash at all, which one memchr
    # tells; the two-byte search is dearer.
    if (len(body) < MAX_RECORD_BYTES and (b"\\" not in body or b"\\u" not in body)
            and (record := _from_canonical_line(body)) is not None):
        return record
    check_length(line)  # ENC-3
    if b"\n" in body:
        raise ProtocolError("ENC-2", "a record's JSON text must not contain an LF byte")
    if body.startswith(_UTF8_BOM):
        raise ProtocolError("ENC-1", "starts with a UTF-8 byte order mark")
    return _decode_carefully(body)


def _decode_carefully(body: bytes) -> Record:
    """decode's path for every line the fast one sends on: each rule judged in SPEC.md's order, so
    that the first one broken is the one named (COL-1)."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as error:
        raise ProtocolError("ENC-1", f"not UTF-8: byte {error.start} is {body[error.start]:#04x}",
                            value=body[max(0, error.start - 8):error.start + 8]) from None
    _check_nesting(body)  # REC-11, before parsing
    try:
        obj = _DECODER.decode(text)  # REC-4 and REC-13 are judged as the parser reads
    except json.JSONDecodeError as error:
        raise ProtocolError("ENC-2", f"not one JSON text: {error.msg} at character {error.pos}",
                            value=text) from None
    except RecursionError:
        raise ProtocolError("REC-11", f"nests deeper than {MAX_DATA_DEPTH} levels") from None
    if b"\\u" in body:  # REC-12 can only be broken by an escape: the Record constructor checks every string
        return from_mapping(obj)
    return _from_parsed_line(obj)


def _from_canonical_line(body: bytes) -> Record | None:
    """decode's fast path, for a line without ``\\u`` escapes that is byte for byte the canonical
    encoding (ENC-5) of what it parses to, as every emitter's line is (ENC-4); None sends any other
    line down the careful path, which names the first rule it breaks, if any.

    orjson parses the line, several times faster than the json module with the hooks that judge
    REC-4 and REC-13 as it reads. orjson judges neither, and the comparison with its own encoding of
    what it read judges both at once:
    - REC-4: orjson keeps the last of duplicate members, so the encoding of what it read holds each
      member once, and differs from a line that spelt one twice;
    - REC-13: orjson reads an integer beyond -2^63 to 2^64-1 as a float, which it writes back with a
      fraction or an exponent, never as the digits of the line (and it refuses numbers that are
      infinite as a double);
    - REC-12 cannot be broken without a ``\\u`` escape, which keeps a line off this path (orjson
      would write U+0000 back as the escape it read).
    What is left is judged here, or sends the line on: the members (REC-1 to REC-3), REC-11's depth,
    REC-8's text fields and REC-10's data."""
    try:
        obj = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
    if type(obj) is not dict or obj.keys() != _ALL_FIELDS:
        return None
    for name in TEXT_FIELDS:
        value = obj[name]
        if type(value) is not str or not value or (len(value) * 4 > MAX_TEXT_FIELD_BYTES and
                                                   len(value.encode()) > MAX_TEXT_FIELD_BYTES):
            return None  # REC-8, named by the careful path
    when, host_ip, data = obj["time"], obj["host_ip"], obj["data"]
    if type(when) is not str or type(host_ip) is not str:
        return None
    if data is not None:
        if type(data) is not dict:
            return None
        for value in data.values():
            if type(value) is dict or type(value) is list:
                # REC-11, judged before orjson writes data back: it does so to 254 levels, and raises past.
                if not _few_brackets(body):
                    return None
                break
    if orjson.dumps(obj) != body:
        return None
    # Every rule the parser and the comparison judge holds, and every text field is valid: time and
    # host_ip are all that is left, each of which names its own rule (REC-5 to REC-7, REC-9) if broken.
    return Record.from_checked_fields(rfc3339.parse(when), obj["application_name"], obj["environment_name"],
                                      obj["log_event"], obj["trace_id"], obj["file_path"], canonical_ip(host_ip), data)


def _from_parsed_line(obj: object) -> Record:
    """The end of the careful path for a line without ``\\u`` escapes, all eight members, none else
    (``_from_canonical_line`` ends the same way, judging the same rules). The parser has already judged
    what the Record constructor would judge again inside ``data`` (JSON types only, REC-4, REC-11,
    REC-13), and valid UTF-8 cannot spell what REC-12 forbids; the rules left are checked here, in the
    constructor's order (COL-1: the first rule broken is named), and the Record is built without
    checking the rest twice."""
    if not isinstance(obj, dict) or obj.keys() != _ALL_FIELDS:
        return from_mapping(obj)
    when = obj["time"]
    if type(when) is not str:
        raise ProtocolError("REC-5", f"must be a string, not {_json_type(when)}", field="time", value=when)
    instant = rfc3339.parse(when)
    for name in TEXT_FIELDS:
        value = obj[name]
        if type(value) is not str or not value or len(value) * 4 > MAX_TEXT_FIELD_BYTES:
            _check_text(name, value)  # REC-8, with the precise reason (it passes a long ASCII string)
    host_ip = canonical_ip(obj["host_ip"])
    data = obj["data"]
    if data is not None and type(data) is not dict:
        raise ProtocolError("REC-10", "must be a JSON object or null", field="data", value=data)
    return Record.from_checked_fields(instant, obj["application_name"], obj["environment_name"], obj["log_event"],
                                      obj["trace_id"], obj["file_path"], host_ip, data)


# The record object is level 0 of this count, data level 1: REC-11 allows 1 + 64 open brackets.
_MAX_OPEN_BRACKETS = MAX_DATA_DEPTH + 1
_STRING_OR_BRACKET = re.compile(rb'"(?:[^"\\]|\\.)*"|[\[\]{}]')
_CLOSING = {ord("["): b"]", ord("{"): b"}"}


def _few_brackets(body: bytes) -> bool:
    """REC-11's common case, decided in C: no more brackets, strings' counted too, than the levels
    allowed, so no deeper nesting either."""
    return body.count(b"[") + body.count(b"{") <= _MAX_OPEN_BRACKETS


def _check_nesting(body: bytes) -> None:
    """Nesting past REC-11's bound, judged before parsing, so that the verdict on deep input is the same
    on every Python: the json module's own recursion limit differs between versions and answers ENC-2
    or RecursionError."""
    if _few_brackets(body):
        return
    opened: list[int] = []
    for token in _STRING_OR_BRACKET.finditer(body):
        bracket = token.group()[0]
        if bracket in _CLOSING:
            opened.append(bracket)
            if len(opened) > _MAX_OPEN_BRACKETS:
                # What precedes the deep bracket, closed where it stops: a fault there comes first.
                raise _too_deep(body[:token.start()] + b"null" + b"".join(_CLOSING[b] for b in reversed(opened[:-1])))
        elif bracket != ord('"') and opened:
            opened.pop()


def _too_deep(shallow: bytes) -> ProtocolError:
    """Only data's nesting is REC-11's: nesting as deep in another member breaks that member's own rule
    (nothing but data may hold an object or an array), and in an array instead of a record, REC-1."""
    try:
        obj = _DECODER.decode(shallow.decode("utf-8"))
    except json.JSONDecodeError as error:
        return ProtocolError("ENC-2", f"not one JSON text: {error.msg} at character {error.pos}")
    except ProtocolError as error:
        return error
    if not isinstance(obj, dict):
        return ProtocolError("REC-1", f"a record must be a JSON object, not {_json_type(obj)}")
    name = list(obj)[-1]  # the member being read where the nesting got too deep
    if name == "data":
        return ProtocolError("REC-11", f"nests deeper than {MAX_DATA_DEPTH} levels", field="data")
    if name not in _ALLOWED:
        return ProtocolError("REC-3", "unknown member; put application fields inside data", field=name)
    rule = {"time": "REC-5", "host_ip": "REC-9", "v": "VER-1"}.get(name, "REC-8")
    return ProtocolError(rule, f"must be {'an integer' if name == 'v' else 'a string'}, not {_json_type(obj[name])}",
                         field=name)


def _object_without_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj = dict(pairs)
    if len(obj) != len(pairs):
        # REC-4: member names MUST be unique within each object, at every depth.
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise ProtocolError("REC-4", "duplicate member name", field=key)
            seen.add(key)
    return obj


def _refuse_constant(name: str) -> None:
    # REC-13: NaN, Infinity and -Infinity are not JSON.
    raise ProtocolError("REC-13", f"{name} is not a JSON number", value=name)


#: The most characters an integer literal in REC-13's range has: "-9223372036854775808" has 20.
_LONGEST_INTEGER = len(str(MIN_INTEGER))


def _integer(literal: str) -> int:
    # REC-13: an integer literal MUST lie between -2^63 and 2^64-1. A literal this short always does,
    # and one far too long is refused before int() spends time on it (or raises ValueError past
    # Python's digit limit).
    if len(literal) < _LONGEST_INTEGER:
        return int(literal)
    if len(literal) > _LONGEST_INTEGER or not MIN_INTEGER <= int(literal) <= MAX_INTEGER:
        raise ProtocolError("REC-13", "integer outside -2^63 to 2^64-1", value=literal[:40])
    return int(literal)


def _number(literal: str) -> float:
    # REC-13: a number MUST be a finite binary64; 1e400 is valid JSON, and infinite as a double.
    value = float(literal)
    if not math.isfinite(value):
        raise ProtocolError("REC-13", "number is not finite as a binary64", value=literal[:40])
    return value


# Made once: json.loads and json.dumps with options build a new decoder or encoder at every call.
_DECODER = json.JSONDecoder(object_pairs_hook=_object_without_duplicates, parse_constant=_refuse_constant,
                            parse_int=_integer, parse_float=_number)
# ensure_ascii=False writes characters as UTF-8 and escapes only '"', '\' and U+0000-U+001F,
# with the short forms where they exist and lower-case \u00XX otherwise: ENC-5 item 5.
JSON_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False)


def encode(record: Record) -> bytes:
    """The canonical line of ``record``, LF included (ENC-5); what every emitter sends (ENC-4, the
    emitter's side).

    orjson writes what ENC-5 asks, 10 to 20 times faster than the json module: UTF-8 characters,
    ``\\"``, ``\\\\``, the short escapes and lower-case ``\\u00XX`` for U+0000 to U+001F, no whitespace,
    and numbers as the shortest form that reads back the same (item 7). ``JSON_ENCODER`` writes the
    same bytes but for the spelling of some floats (``1e-07`` for ``1e-7``); tests/test_record.py
    holds the two to that.

    orjson writes a UTC datetime as item 3 spells it, in a third of ``format_utc``'s time, except a
    fraction of zero, which it leaves out: that one is spelt by ``format_utc``."""
    obj = {
        "time": record.time if record.time.microsecond else rfc3339.format_utc(record.time),
        "application_name": record.application_name,
        "environment_name": record.environment_name,
        "log_event": record.log_event,
        "trace_id": record.trace_id,
        "file_path": record.file_path,
        "host_ip": record.host_ip,
        "data": record.data,
    }
    return orjson.dumps(obj, option=_ENCODE_OPTIONS)


# A Record's time is in UTC (its constructor makes it so), which OPT_UTC_Z spells "Z" (ENC-5 item 3).
_ENCODE_OPTIONS = orjson.OPT_APPEND_NEWLINE | orjson.OPT_UTC_Z


def _json_type(value: object) -> str:
    names = {dict: "an object", list: "an array", str: "a string", bool: "a boolean", int: "a number",
             float: "a number", type(None): "null"}
    return names.get(type(value), type(value).__name__)
