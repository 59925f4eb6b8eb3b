"""The record of SPEC.md section 1 and the line of section 2: what a line holds, every rule it
breaks, and the row a record becomes.

``Record`` is a plain value: it checks and changes nothing, so that a row read back from a
database or a line read from an implementation's output is looked at exactly as it came. What
SPEC.md makes of a record is spelt out where it is asked for: ``as_stored`` (REC-6, REC-9, PG-7)
and canonical.py (ENC-5).

``judge_line`` names every rule a line breaks, not only the first: COL-1 lets a collector check
rules in any order and name the first it finds, so a suite may only expect one rule of a line
that breaks exactly one. A rule is broken when what can be read of the line breaks it, for a
collector may check as it reads and stop at the first fault it meets: ENC-3 on any line; ENC-1 on
its bytes, read on with U+FFFD for what is not UTF-8; ENC-2 on its text; and every rule of the
record on what was read of it before the text broke off, if it did: a member name (REC-3, REC-4),
a value begun or read whole (REC-1, REC-5 to REC-13, VER-1, VER-2). Only REC-2, a member missing,
waits for the record's closing brace.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import TypeAlias

from .address import canonical_ip
from .breach import Breach, Refused
from .json_text import UNREAD, Members, Node, NotANumber, Number, Unread, read_json, utf8_breaches
from .limits import MAX_DATA_DEPTH, MAX_RECORD_BYTES, MAX_TEXT_FIELD_BYTES, PROTOCOL_VERSION
from .timestamp import UTC, judge_time

JSONValue: TypeAlias = bool | int | float | str | list["JSONValue"] | dict[str, "JSONValue"] | None

#: The members of section 1's table, in its order (the order of ENC-5 item 1).
MEMBERS = ("time", "application_name", "environment_name", "log_event", "trace_id", "file_path", "host_ip",
           "data")
#: "The six string members other than ``time`` are the text fields" (REC-8).
TEXT_FIELDS = ("application_name", "environment_name", "log_event", "trace_id", "file_path", "host_ip")
_REQUIRED = MEMBERS[:-1]  # REC-2: "The member data MAY be absent"
_ALLOWED = frozenset((*MEMBERS, "v"))  # REC-3


@dataclass(frozen=True, kw_only=True)
class Record:
    """One log event, as given: nothing is checked or rewritten."""

    time: datetime
    application_name: str
    environment_name: str
    log_event: str
    trace_id: str
    file_path: str
    host_ip: str
    data: dict[str, JSONValue] | None = None


def as_stored(record: Record) -> Record:
    """The row ``record`` becomes (PG-7): its instant in UTC (REC-6), ``host_ip`` in canonical form
    (REC-9), the rest as it is. ValueError for a host_ip that is no address."""
    host_ip = canonical_ip(record.host_ip)
    if host_ip is None:
        raise ValueError(f"REC-9: {record.host_ip!r} is not an address, so has no canonical form")
    return replace(record, time=record.time.astimezone(UTC), host_ip=host_ip)


def judge_line(line: bytes) -> list[Breach]:
    """Every rule ``line`` breaks; none for a valid record. Its final LF may be left off (a ZeroMQ
    record frame), and is then counted as there for ENC-3."""
    return _judge(line)[0]


def read_line(line: bytes) -> Record:
    """The record a valid line holds: its time the UTC instant (REC-6), everything else as written
    (``host_ip`` too: canonical.py asks whether it is in canonical form). ``Refused`` otherwise."""
    breaches, members = _judge(line)
    if breaches:
        raise Refused(breaches)
    assert isinstance(members, Members)
    value = {name: _python(node) for name, node in members.pairs}
    time, _ = judge_time(str(value["time"]))
    assert time is not None
    data = value.get("data")
    assert data is None or isinstance(data, dict)
    texts = {name: str(value[name]) for name in TEXT_FIELDS}
    return Record(time=time, **texts, data=data)


def _judge(line: bytes) -> tuple[list[Breach], Node]:
    breaches = []
    size = len(line) if line.endswith(b"\n") else len(line) + 1
    if size > MAX_RECORD_BYTES:
        breaches.append(Breach("ENC-3", "the line", f"{size:,} bytes with its LF; the most is {MAX_RECORD_BYTES:,}"))
    body = line[:-1] if line.endswith(b"\n") else line
    inner_lf = body.find(b"\n")
    if inner_lf >= 0:
        breaches.append(Breach("ENC-2", f"byte {inner_lf}", "an LF inside the line"))
    breaches += utf8_breaches(body)
    text = body.decode("utf-8", "replace").removeprefix("\ufeff")
    reading = read_json(text)
    breaches += reading.breaches
    if reading.depths.get("data", 0) > MAX_DATA_DEPTH:
        breaches.append(Breach("REC-11", "data", f"nests {reading.depths['data']} levels deep; the most is "
                                                 f"{MAX_DATA_DEPTH}"))
    breaches += _judge_members(reading.value)
    return breaches, reading.value


def _python(node: Node) -> JSONValue:
    """A value of a valid record in Python's terms; data nests at most 64 deep (REC-11)."""
    if isinstance(node, Members):
        return {name: _python(value) for name, value in node.pairs}
    if isinstance(node, list):
        return [_python(item) for item in node]
    if isinstance(node, Number):
        return node.value()
    assert not isinstance(node, (NotANumber, Unread))
    return node


def _judge_members(value: Node) -> list[Breach]:
    if value is UNREAD:
        return []
    if not isinstance(value, Members):
        return [Breach("REC-1", "the line", f"a record is a JSON object, not {_kind(value)}")]
    found = []
    names = {name for name, _ in value.pairs}
    if value.closed:
        found += [Breach("REC-2", name, "required member missing") for name in _REQUIRED if name not in names]
    found += [Breach("REC-3", name, "not a member of a record; application fields belong in data")
              for name in dict.fromkeys(name for name, _ in value.pairs) if name not in _ALLOWED]
    for name, node in value.pairs:  # a name given twice is judged twice (REC-4 said so already)
        if isinstance(node, Unread):
            continue
        if name == "time":
            found += _judge_time(node)
        elif name in TEXT_FIELDS:
            found += _judge_text(name, node)
        elif name == "data" and not (node is None or isinstance(node, Members)):
            found.append(Breach("REC-10", "data", f"must be a JSON object or null, not {_kind(node)}"))
        elif name == "v":
            found += _judge_version(node)
    return found


def _judge_time(node: Node) -> list[Breach]:
    if not isinstance(node, str):
        return [Breach("REC-5", "time", f"must be a string, not {_kind(node)}")]
    return judge_time(node)[1]


def _judge_text(name: str, node: Node) -> list[Breach]:
    """REC-8: "a JSON string of 1 to 1,024 bytes once encoded in UTF-8"; REC-9 for host_ip."""
    found = []
    if not isinstance(node, str):
        found.append(Breach("REC-8", name, f"must be a string, not {_kind(node)}"))
        if name == "host_ip":
            found.append(Breach("REC-9", name, f"{_kind(node)} is not an address literal"))
        return found
    size = len(node.encode("utf-8", "surrogatepass"))
    if not 1 <= size <= MAX_TEXT_FIELD_BYTES:
        found.append(Breach("REC-8", name, f"{size:,} bytes of UTF-8; from 1 to {MAX_TEXT_FIELD_BYTES:,} allowed"))
    if name == "host_ip" and canonical_ip(node) is None:
        found.append(Breach("REC-9", name, f"{node[:60]!r} is not an IPv4 or IPv6 address literal"))
    return found


def _judge_version(node: Node) -> list[Breach]:
    """VER-1: "its value MUST be the integer 1"; VER-2: a version the collector does not implement.
    An integer other than 1 names another version (VER-2); anything else names none (VER-1)."""
    if not (isinstance(node, Number) and node.is_integer):
        return [Breach("VER-1", "v", f"the version must be an integer, not {_kind(node)}")]
    if node.lexeme != str(PROTOCOL_VERSION):  # JSON writes an integer one way only (no leading zeros)
        return [Breach("VER-2", "v", f"version {node.lexeme[:30]} is not version {PROTOCOL_VERSION}")]
    return []


def _kind(node: Node) -> str:
    if isinstance(node, Members):
        return "an object"
    if isinstance(node, list):
        return "an array"
    if isinstance(node, str):
        return "a string"
    if isinstance(node, bool):
        return "a boolean"
    if isinstance(node, (Number, NotANumber)):
        return f"the number {node.lexeme[:30]}"
    return "null"
