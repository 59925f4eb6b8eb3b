"""The published JSON Schema agrees with the reference: it never refuses what the reference accepts,
and it refuses every fault a schema can express."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

from logduct.errors import ProtocolError
from logduct.record import decode
from logduct_conformance import load_schema, load_vectors
from logduct_conformance.oracle import Record, encode
from logduct_conformance.strategies import records

SCHEMA = load_schema()
VALIDATOR = Draft202012Validator(SCHEMA, format_checker=Draft202012Validator.FORMAT_CHECKER)


def schema_accepts(obj: Any) -> bool:
    return VALIDATOR.is_valid(obj)


def test_schema_is_a_valid_2020_12_schema() -> None:
    """The schema itself passes the 2020-12 meta-schema."""
    Draft202012Validator.check_schema(SCHEMA)


def test_schema_accepts_every_valid_vector() -> None:
    """Every line the vectors call valid is valid to the schema."""
    for vector in load_vectors():
        if vector.verdict == "accept":
            assert schema_accepts(json.loads(vector.line)), vector.name


def test_schema_refusals_are_reference_refusals() -> None:
    """Whatever invalid vector the schema refuses, the reference refuses too."""
    for vector in load_vectors():
        if vector.verdict == "reject":
            try:
                obj = json.loads(vector.line)
            except ValueError:
                continue  # not JSON: no schema applies
            if not schema_accepts(obj):
                with pytest.raises(ProtocolError):
                    decode(vector.line)


@given(records())
def test_schema_accepts_every_generated_record(record: Record) -> None:
    """Canonical lines of generated records are schema-valid."""
    assert schema_accepts(json.loads(encode(record)))


FAULTS = [
    ("REC-2", lambda r: r.pop("trace_id")),
    ("REC-3", lambda r: r.update(level="info")),
    ("REC-5", lambda r: r.update(time=r["time"][:-1])),
    ("REC-5", lambda r: r.update(time=r["time"].replace("T", " "))),
    ("REC-5", lambda r: r.update(time=1541081031)),
    ("REC-8", lambda r: r.update(log_event="")),
    ("REC-8", lambda r: r.update(file_path=None)),
    ("REC-8", lambda r: r.update(application_name="x" * 1025)),
    ("REC-9", lambda r: r.update(host_ip="localhost")),
    ("REC-9", lambda r: r.update(host_ip="fe80::1%eth0")),
    ("REC-9", lambda r: r.update(host_ip="10.0.0.0/8")),
    ("REC-10", lambda r: r.update(data=[1])),
    ("REC-10", lambda r: r.update(data="text")),
    ("REC-12", lambda r: r.update(trace_id="a\x00b")),
    ("VER-2", lambda r: r.update(v=2)),
]


@given(records(), st.sampled_from(FAULTS))
def test_schema_and_reference_agree_on_expressible_faults(record: Record, fault: Any) -> None:
    """A record with one fault the schema can express is refused by both, the reference naming the rule."""
    rule, damage = fault
    obj = json.loads(encode(record))
    damage(obj)
    assert not schema_accepts(obj)
    with pytest.raises(ProtocolError) as caught:
        decode(json.dumps(obj, ensure_ascii=False).encode())
    assert caught.value.rule == rule
