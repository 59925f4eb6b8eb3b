"""Equality of records as SPEC.md defines it: JSON values, not bytes (ENC-5, PG-7).

PostgreSQL's jsonb reorders object members and stores numbers as exact decimals, so ``1e300``
comes back as a 301-digit integer. Two data values are equal when they are the same JSON value,
a non-integer number being compared as the binary64 it stands for.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from logduct.record import FIELDS, MAX_INTEGER, MIN_INTEGER, JSONValue, Record


def json_equal(expected: JSONValue, actual: JSONValue) -> bool:
    """True when two parsed JSON values are the same value (RFC 8259 §9, numbers as binary64)."""
    if isinstance(expected, bool) or isinstance(actual, bool):
        return type(expected) is type(actual) and expected == actual
    if isinstance(expected, (int, float)) and isinstance(actual, (int, float)):
        if isinstance(expected, float) or isinstance(actual, float):
            return float(expected) == float(actual)
        return expected == actual
    if isinstance(expected, list) and isinstance(actual, list):
        return len(expected) == len(actual) and all(map(json_equal, expected, actual))
    if isinstance(expected, dict) and isinstance(actual, dict):
        return expected.keys() == actual.keys() and all(json_equal(v, actual[k]) for k, v in expected.items())
    return type(expected) is type(actual) and expected == actual


def records_equal(expected: Record, actual: Record) -> bool:
    """True when two records are the same event: equal fields, data compared as JSON values."""
    return all(getattr(expected, name) == getattr(actual, name) for name in FIELDS if name != "data") and \
        json_equal(expected.data, actual.data)


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
