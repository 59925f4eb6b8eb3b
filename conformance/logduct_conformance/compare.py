"""Equality of records as SPEC.md defines it: JSON values, not bytes (ENC-5, PG-7).

PostgreSQL's jsonb reorders object members and stores numbers as exact decimals, so ``1e300``
comes back as a 301-digit integer. Two data values are equal when they are the same JSON value,
a non-integer number being compared as the binary64 it stands for.

What was stored is compared as it is: only the expected side is put in stored form
(``oracle.as_stored``), so that a host_ip stored in another spelling than REC-9's is a difference.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from .oracle import MAX_INTEGER, MEMBERS, MIN_INTEGER, JSONValue, Record, as_stored


def json_equal(expected: JSONValue, actual: JSONValue) -> bool:
    """True when ``actual`` is the value ``expected`` is stored as (RFC 8259 §9, REC-13): an integer
    exactly, the same integer; any other number as the binary64 it stands for, however spelt."""
    if isinstance(expected, bool) or isinstance(actual, bool):
        return type(expected) is type(actual) and expected == actual
    if isinstance(expected, int) and isinstance(actual, (int, float)):
        return isinstance(actual, int) and expected == actual  # "is stored exactly": not via a binary64
    if isinstance(expected, float) and isinstance(actual, (int, float)):
        return expected == float(actual)
    if isinstance(expected, list) and isinstance(actual, list):
        return len(expected) == len(actual) and all(map(json_equal, expected, actual))
    if isinstance(expected, dict) and isinstance(actual, dict):
        return expected.keys() == actual.keys() and all(json_equal(v, actual[k]) for k, v in expected.items())
    return type(expected) is type(actual) and expected == actual


def records_equal(expected: Record, actual: Record) -> bool:
    """True when ``actual`` is the row ``expected`` becomes: the same instant, the same text, host_ip in
    canonical form (REC-9), data the same JSON value."""
    want = as_stored(expected)
    return all(getattr(want, name) == getattr(actual, name) for name in MEMBERS if name != "data") and \
        json_equal(want.data, actual.data)


def unmatched(expected: Iterable[Record], actual: Iterable[Record]) -> tuple[list[Record], list[Record]]:
    """The records of each side that have no equal on the other, matched one to one."""
    left = list(expected)
    right = list(actual)
    missing = []
    for record in left:
        match = next((i for i, other in enumerate(right) if records_equal(record, other)), None)
        if match is None:
            missing.append(record)
        else:
            del right[match]
    return missing, right


def loads_stored_json(text: str | bytes) -> Any:
    """Parse jsonb as PostgreSQL prints it, reading integers outside REC-13's range as binary64.

    jsonb prints 1e300 as 1 followed by 300 zeros; by REC-13 such an integer can only have been
    sent as a binary64 number, so that is what it is read back as.
    """
    return json.loads(text, parse_int=_integer_or_binary64)


def _integer_or_binary64(digits: str) -> int | float:
    # More than 20 digits is outside REC-13 for certain, and may be too long for int() to parse.
    if len(digits.lstrip("-")) > 20:
        return float(digits)
    value = int(digits)
    return value if MIN_INTEGER <= value <= MAX_INTEGER else float(value)
