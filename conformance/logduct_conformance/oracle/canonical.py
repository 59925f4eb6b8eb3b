"""ENC-5, the canonical encoding: the bytes an emitter sends and a standard-output sink prints.

``encode`` writes them, item by item of ENC-5. ``matches_canonical`` compares a line an
implementation wrote with them, allowing only what ENC-5 item 7 allows: another spelling of a
non-integer number that reads back as the same binary64.
"""

from __future__ import annotations

import math
import re
import struct

from .address import canonical_ip
from .record import JSONValue, Record, read_line
from .timestamp import canonical_time

# ENC-5 item 5: "strings written as UTF-8 characters, except " and \ (escaped as \" and \\) and
# U+0000 to U+001F (escaped as \b, \t, \n, \f, \r where such a short form exists, otherwise \u00XX
# with lower-case hex)".
_MUST_ESCAPE = re.compile('["\\\\\x00-\x1f]')
_SHORT_FORMS = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\t": "\\t", "\n": "\\n", "\f": "\\f", "\r": "\\r"}


def encode(record: Record) -> bytes:
    """The canonical line of ``record``, its LF included. ValueError if ``record`` has no canonical
    line: a time without an offset, a host_ip that is no address, a number that is not finite."""
    host_ip = canonical_ip(record.host_ip)
    if host_ip is None:
        raise ValueError(f"REC-9: {record.host_ip!r} is not an address")
    members: list[tuple[str, JSONValue]] = [
        # Item 1: "the members in the order of the table in section 1, all eight present
        # ("data":null when there is none), and no v member".
        ("time", canonical_time(record.time)),  # item 3
        ("application_name", record.application_name),
        ("environment_name", record.environment_name),
        ("log_event", record.log_event),
        ("trace_id", record.trace_id),
        ("file_path", record.file_path),
        ("host_ip", host_ip),  # item 4
        ("data", record.data),
    ]
    # Item 2: "no insignificant whitespace".
    text = "{" + ",".join(f"{_string(name)}:{_value(value)}" for name, value in members) + "}\n"
    return text.encode("utf-8")


def _string(text: str) -> str:
    return '"' + _MUST_ESCAPE.sub(lambda char: _SHORT_FORMS.get(char.group(), f"\\u{ord(char.group()):04x}"),
                                  text) + '"'


def _value(value: JSONValue) -> str:
    if value is None:
        return "null"
    if value is True or value is False:
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)  # item 7: "integers as decimal digits with no leading zeros"
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"REC-13: {value} is not a JSON number")
        return repr(value)  # item 7: "the shortest round-trip form is RECOMMENDED", which repr is
    if isinstance(value, str):
        return _string(value)
    if isinstance(value, list):
        return "[" + ",".join(map(_value, value)) + "]"
    # Item 6: "data members in the order received, at every depth".
    return "{" + ",".join(f"{_string(name)}:{_value(item)}" for name, item in value.items()) + "}"


# The pieces of a line outside which ENC-5 allows no difference: strings, numbers, single bytes.
_PIECE = re.compile(rb'"(?:[^"\\]|\\.)*"|(?P<number>-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?)|.',
                    re.DOTALL)


def matches_canonical(actual: bytes, canonical: bytes) -> bool:
    """True when ``actual`` is ``canonical`` byte for byte, but for the spelling of non-integer
    numbers (ENC-5 item 7: "other numbers in any spelling that reads back as the same binary64")."""
    if actual == canonical:
        return True
    mine, theirs = list(_PIECE.finditer(canonical)), list(_PIECE.finditer(actual))
    return len(mine) == len(theirs) and all(_same_piece(want, got) for want, got in zip(mine, theirs, strict=True))


def _same_piece(want: re.Match[bytes], got: re.Match[bytes]) -> bool:
    if want.group() == got.group():
        return True
    if want["number"] is None or got["number"] is None or not any(mark in want.group() for mark in b".eE"):
        return False  # not numbers, or an integer, which has one spelling
    return _binary64(want.group()) == _binary64(got.group())


def _binary64(lexeme: bytes) -> bytes:
    # The bits, not ==: -0.0 and 0.0 are equal numbers and different binary64 values.
    return struct.pack(">d", float(lexeme))


def canonical_difference(line: bytes) -> str | None:
    """None when ``line`` (its LF included) is the canonical line of a valid record (ENC-5), else
    what is wrong with it."""
    try:
        record = read_line(line)
    except ValueError as refused:
        return f"not a valid record: {refused}"
    want = encode(record)
    if matches_canonical(line, want):
        return None
    return f"not the canonical encoding (ENC-5):\n  got  {line[:300]!r}\n  want {want[:300]!r}"
