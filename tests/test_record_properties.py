"""Properties of the record module over Hypothesis-generated input: round trips and robustness."""

from __future__ import annotations

import contextlib
import json
from datetime import datetime, timezone
from typing import Any

from hypothesis import example, given
from hypothesis import strategies as st
from reference_records import as_reference, records

from logduct import record as record_module
from logduct.errors import ProtocolError
from logduct.record import Record, decode, encode
from logduct_conformance import strategies
from logduct_conformance.strategies import faulty_lines, json_values, spellings


@given(records())
def test_decode_inverts_encode(record: Record) -> None:
    """decode(encode(r)) == r for every valid record."""
    assert decode(encode(record)) == record


@given(records())
def test_canonical_encoding_is_a_fixed_point(record: Record) -> None:
    """ENC-5: encoding the decoded canonical line gives the same bytes."""
    canonical = encode(record)
    assert encode(decode(canonical)) == canonical


@given(records())
def test_canonical_line_is_one_line_of_compact_utf8(record: Record) -> None:
    """ENC-1, ENC-2, ENC-5: UTF-8, no BOM, exactly one LF at the end, members in table order."""
    canonical = encode(record)
    assert canonical.endswith(b"\n") and canonical.count(b"\n") == 1
    assert not canonical.startswith(b"\xef\xbb\xbf")
    members = list(json.loads(canonical.decode("utf-8")))
    assert members == ["time", "application_name", "environment_name", "log_event", "trace_id",
                       "file_path", "host_ip", "data"]


@given(st.data())
def test_every_legal_spelling_decodes_to_the_same_record(data: st.DataObject) -> None:
    """ENC-4: any member order, whitespace, offset, escapes or IP spelling reads as the one record."""
    record = data.draw(strategies.records())
    spelled = data.draw(spellings(record))
    assert decode(spelled) == as_reference(record)
    assert encode(decode(spelled)) == encode(as_reference(record))


def _decodes_or_refuses(raw: bytes) -> None:
    with contextlib.suppress(ProtocolError):
        decode(raw)


@given(st.binary(max_size=300))
@example(b"\xef\xbb\xbf{}")
@example(b"[" * 100_000)
@example(b'{"a":' + b"9" * 10_000 + b"}")
def test_garbage_yields_a_record_or_a_protocol_error(raw: bytes) -> None:
    """Any bytes at all: decode returns a Record or raises ProtocolError, nothing else."""
    _decodes_or_refuses(raw)


@given(st.data())
def test_damaged_lines_yield_a_record_or_a_protocol_error(data: st.DataObject) -> None:
    """A valid line with bytes flipped, cut or inserted never escapes as another exception."""
    raw = bytearray(encode(data.draw(records())))
    for _ in range(data.draw(st.integers(1, 4))):
        where = data.draw(st.integers(0, len(raw) - 1))
        how = data.draw(st.sampled_from(["flip", "cut", "insert"]))
        if how == "flip":
            raw[where] = data.draw(st.integers(0, 255))
        elif how == "cut":
            del raw[where:]
            if not raw:
                break
        else:
            raw[where:where] = data.draw(st.binary(min_size=1, max_size=8))
    _decodes_or_refuses(bytes(raw))


def _with_data(value: Any, ensure_ascii: bool = False) -> bytes:
    record = {"time": "2018-11-01T14:03:51Z", "application_name": "a", "environment_name": "e",
              "log_event": "l", "trace_id": "t", "file_path": "f", "host_ip": "10.0.0.1"}
    text = json.dumps(record, ensure_ascii=ensure_ascii)
    return (text[:-1] + ', "data": ' + json.dumps(value, ensure_ascii=ensure_ascii) + "}").encode("utf-8",
                                                                                              "surrogatepass")


@given(json_values(), st.sampled_from(["\x00", "\ud800", "\udbff", "\udc00", "\udfff"]), st.booleans())
def test_unstorable_character_anywhere_in_data_is_refused(value: Any, bad: str, in_key: bool) -> None:
    """REC-12: U+0000 or a lone surrogate anywhere in data is refused under REC-12, never stored."""
    hostile = {("k" + bad if in_key else "k"): ("v" if in_key else "v" + bad), "rest": value}
    raw = _with_data(hostile, ensure_ascii=True)
    try:
        decode(raw)
    except ProtocolError as error:
        assert error.rule == "REC-12", error
    else:
        raise AssertionError(f"accepted {raw!r}")


@given(json_values())
def test_generated_data_round_trips_through_a_line(value: Any) -> None:
    """REC-10 to REC-13: any generated data object survives the line unchanged."""
    record = decode(_with_data({"v": value}))
    assert record.data == {"v": value}


@given(faulty_lines())
def test_each_generated_fault_is_refused_under_its_rule(fault: tuple[str, bytes]) -> None:
    """The suite's generated bad lines break the rule they claim to, and only that one, for the reference."""
    rule, line = fault
    try:
        decode(line)
    except ProtocolError as error:
        assert error.rule == rule, f"{line[:120]!r}: {error}"
    else:
        raise AssertionError(f"accepted {line[:200]!r}")



def _spelled(value: Any, duplicate: tuple[int, str, Any] | None, objects: list[int]) -> str:
    """JSON text of ``value``. With ``duplicate`` (n, name, value), the n-th object met, depth first
    (``objects`` counts them), gains a second member named as its first one, or twice ``name``."""
    if isinstance(value, dict):
        index = len(objects)
        objects.append(index)
        members = [f"{json.dumps(k, ensure_ascii=False)}:{_spelled(v, duplicate, objects)}" for k, v in value.items()]
        if duplicate is not None and duplicate[0] == index:
            again = json.dumps(next(iter(value), duplicate[1]), ensure_ascii=False)
            members += [f"{again}:{json.dumps(duplicate[2], ensure_ascii=False)}"] * (2 - bool(value))
        return "{" + ",".join(members) + "}"
    if isinstance(value, list):
        return "[" + ",".join(_spelled(v, duplicate, objects) for v in value) + "]"
    return json.dumps(value, ensure_ascii=False)


@given(strategies.records(), st.none() | st.tuples(st.integers(0, 6), st.text(':"a', max_size=3),
                                                    json_values(max_leaves=3)))
@example(Record(time=datetime(2018, 11, 1, tzinfo=timezone.utc), application_name="a", environment_name="e",
                log_event="l", trace_id="t", file_path="f", host_ip="10.0.0.1", data={"k": "x"}),
         (1, "k", "y:z"))  # orjson keeps "y:z": a colon more in the values, a member fewer
def test_the_fast_path_agrees_with_the_careful_one(record: Record, duplicate: tuple[int, str, Any] | None) -> None:
    """decode's fast path (orjson) accepts a line only as the careful path (the json module) does:
    the same Record, and never a line the careful path refuses. A member spelt twice anywhere
    (REC-4, which orjson does not judge) is refused under REC-4."""
    objects: list[int] = []
    body = _spelled(json.loads(encode(record)), duplicate, objects).encode("utf-8")
    fast = None if b"\\u" in body else record_module._from_canonical_line(body)
    try:
        careful = record_module._decode_carefully(body)
    except ProtocolError as error:
        assert fast is None, f"the fast path accepted what the careful one refuses ({error}): {body!r}"
        assert duplicate is not None and duplicate[0] < len(objects), error
        assert error.rule == "REC-4", error
    else:
        assert duplicate is None or duplicate[0] >= len(objects), f"a duplicate member accepted: {body!r}"
        assert fast is None or fast == careful


@given(records())
@example(Record(time=datetime(2018, 11, 1, tzinfo=timezone.utc), application_name="a:b", environment_name="e",
                log_event="l", trace_id="t", file_path="f", host_ip="2001:db8::1", data={"k:": ["x:y", 1]}))
def test_the_fast_path_takes_every_line_it_can_judge(record: Record) -> None:
    """The fast path is not left in silence: each canonical line without a \\u escape, and with no
    more brackets than REC-11 allows levels (which it counts when data nests), is decoded by the fast
    path, floats and colons in any field (IPv6 hosts) included."""
    body = encode(record)[:-1]
    if b"\\u" not in body and record_module._few_brackets(body):
        assert record_module._from_canonical_line(body) == record
