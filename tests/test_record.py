"""The record module, rule by rule: one example per fault, and the exact error it raises."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from logduct import record as record_module
from logduct.errors import ProtocolError
from logduct.record import MAX_RECORD_BYTES, Record, canonical_ip, decode, encode, from_mapping

GOOD: dict[str, Any] = {
    "time": "2018-11-01T14:03:51.123456Z", "application_name": "WebApp", "environment_name": "production",
    "log_event": "login", "trace_id": "0ad94512-df55-11e8-9805-5b8e82d370a6",
    "file_path": "/usr/src/app/login.py", "host_ip": "127.0.0.1", "data": {"user": "Jay", "age": 48},
}


def line(**changes: Any) -> bytes:
    obj = {**GOOD, **changes}
    return json.dumps(obj, ensure_ascii=False).encode() + b"\n"


def rule_of(raw: bytes) -> str:
    with pytest.raises(ProtocolError) as caught:
        decode(raw)
    return caught.value.rule


def test_good_line_decodes_to_the_record_it_describes() -> None:
    """A valid line gives a Record whose fields are the line's, time in UTC."""
    record = decode(line())
    assert record == Record(time=datetime(2018, 11, 1, 14, 3, 51, 123456, tzinfo=timezone.utc),
                            application_name="WebApp", environment_name="production", log_event="login",
                            trace_id="0ad94512-df55-11e8-9805-5b8e82d370a6",
                            file_path="/usr/src/app/login.py", host_ip="127.0.0.1",
                            data={"user": "Jay", "age": 48})


def test_encode_is_the_canonical_line() -> None:
    """ENC-5: fixed member order, no whitespace, UTC with six digits, data:null, one LF."""
    record = decode(line(time="2018-11-01T16:03:51+02:00", data=None))
    assert encode(record) == (
        b'{"time":"2018-11-01T14:03:51.000000Z","application_name":"WebApp","environment_name":"production",'
        b'"log_event":"login","trace_id":"0ad94512-df55-11e8-9805-5b8e82d370a6",'
        b'"file_path":"/usr/src/app/login.py","host_ip":"127.0.0.1","data":null}\n')


def test_encode_pads_years_before_1000() -> None:
    """ENC-5 item 3: four year digits always (strftime does not pad them on glibc)."""
    record = decode(line(time="0042-03-04T05:06:07Z"))
    assert b'"time":"0042-03-04T05:06:07.000000Z"' in encode(record)


def test_encode_escapes_only_what_json_requires() -> None:
    """ENC-5 item 5: UTF-8 characters as themselves, short escapes, lower-case \\u00XX."""
    record = decode(line(log_event="é😀\"\\\n\t\x01\x7f"))
    assert '"log_event":"é😀\\"\\\\\\n\\t\\u0001\x7f"'.encode() in encode(record)


@pytest.mark.parametrize(("raw", "rule"), [
    (b"\xef\xbb\xbf" + line(), "ENC-1"),
    (line(log_event="X").replace(b'"X"', b'"\xc0\xaf"'), "ENC-1"),
    (b"\n", "ENC-2"),
    (line()[:-1] + line(), "ENC-2"),
    (b'{"time":\n"x"}\n', "ENC-2"),
    (b"[]\n", "REC-1"),
    (line()[:-2] + b',"level":"info"}\n', "REC-3"),
    (line()[:-2] + b',"host_ip":"10.0.0.1"}\n', "REC-4"),
    (line(time="2018-11-01T14:03:51"), "REC-5"),
    (line(time="0000-01-01T00:00:00Z"), "REC-7"),
    (line(log_event=""), "REC-8"),
    (line(host_ip="172.018.0.3"), "REC-9"),
    (line(data=[]), "REC-10"),
    (line(data={"k": "\u0000"}), "REC-12"),
    (line()[:-2] + b',"v":2}\n', "VER-2"),
])
def test_each_fault_names_its_rule(raw: bytes, rule: str) -> None:
    """A line with one fault is refused under that fault's rule ID."""
    assert rule_of(raw) == rule


def test_missing_member_is_named() -> None:
    """REC-2: the error says which member is missing."""
    obj = {k: v for k, v in GOOD.items() if k != "trace_id"}
    with pytest.raises(ProtocolError) as caught:
        decode(json.dumps(obj).encode())
    assert (caught.value.rule, caught.value.field) == ("REC-2", "trace_id")


def test_data_may_be_absent() -> None:
    """REC-2: data may be left out, and then it is null."""
    obj = {k: v for k, v in GOOD.items() if k != "data"}
    assert decode(json.dumps(obj).encode()).data is None


def test_error_message_shows_rule_field_and_value() -> None:
    """Errors say what, to what, with the offending value."""
    with pytest.raises(ProtocolError) as caught:
        decode(line(time="2018-11-01T14:03:51"))
    assert str(caught.value) == "REC-5: time: no UTC offset: add Z or +hh:mm (got '2018-11-01T14:03:51')"


def test_error_message_cuts_long_values() -> None:
    """A 64 KiB value is not copied into an error message whole."""
    with pytest.raises(ProtocolError) as caught:
        decode(line(file_path="x" * 5000))
    assert len(str(caught.value)) < 300
    assert "5,002 characters in all" in str(caught.value)


def test_line_one_byte_over_the_limit_is_refused_before_parsing() -> None:
    """ENC-3: 65,537 bytes with the LF is refused; 65,536 is read."""
    pad = MAX_RECORD_BYTES - len(line(data={"p": ""}))
    assert decode(line(data={"p": "x" * pad})).data == {"p": "x" * pad}
    assert rule_of(line(data={"p": "x" * (pad + 1)})) == "ENC-3"


def test_final_lf_is_optional_for_decode() -> None:
    """decode() takes a line with or without its LF."""
    assert decode(line()) == decode(line()[:-1])


@pytest.mark.parametrize(("text", "expected"), [
    ("2018-11-01T14:03:51.1234569Z", datetime(2018, 11, 1, 14, 3, 51, 123456, tzinfo=timezone.utc)),
    ("2018-11-01T14:03:51.9999999Z", datetime(2018, 11, 1, 14, 3, 51, 999999, tzinfo=timezone.utc)),
    ("2016-12-31T23:59:60Z", datetime(2017, 1, 1, tzinfo=timezone.utc)),
    ("2018-11-01T00:30:00+01:00", datetime(2018, 10, 31, 23, 30, tzinfo=timezone.utc)),
    ("2018-11-01t14:03:51z", datetime(2018, 11, 1, 14, 3, 51, tzinfo=timezone.utc)),
])
def test_time_is_truncated_to_microseconds_in_utc(text: str, expected: datetime) -> None:
    """REC-6: extra digits are cut, never rounded; a leap second becomes the next minute."""
    assert decode(line(time=text)).time == expected


@pytest.mark.parametrize(("text", "canonical"), [
    ("10.0.0.1", "10.0.0.1"),
    ("2001:DB8:0:0:0:0:0:1", "2001:db8::1"),
    ("::FFFF:10.0.0.1", "::ffff:10.0.0.1"),
    ("::ffff:a00:1", "::ffff:10.0.0.1"),
    ("::", "::"),
])
def test_host_ip_is_stored_in_canonical_form(text: str, canonical: str) -> None:
    """REC-9: RFC 5952 text, IPv4-mapped in mixed notation, on every Python version."""
    assert canonical_ip(text) == canonical


def test_host_ip_of_wrong_type_is_refused_not_crashed() -> None:
    """REC-9: an array for host_ip is an error, not a TypeError from a cache."""
    with pytest.raises(ProtocolError) as caught:
        canonical_ip(["10.0.0.1"])
    assert caught.value.rule == "REC-9"


def test_text_field_limit_counts_utf8_bytes_not_characters() -> None:
    """REC-8: 512 two-byte characters fit; 513 do not."""
    assert decode(line(trace_id="é" * 512)).trace_id == "é" * 512
    assert rule_of(line(trace_id="é" * 513)) == "REC-8"


def test_nesting_limit_is_64_levels_of_data() -> None:
    """REC-11: the data object is level 1; 64 levels pass, 65 do not."""
    def nest(levels: int) -> str:
        return '{"a":' * (levels - 1) + "{}" + "}" * (levels - 1)
    ok = line(data=None).replace(b'"data": null', f'"data": {nest(64)}'.encode())
    deep = line(data=None).replace(b'"data": null', f'"data": {nest(65)}'.encode())
    assert decode(ok).data is not None
    assert rule_of(deep) == "REC-11"


def test_nesting_deep_enough_to_exhaust_python_recursion_is_an_error() -> None:
    """REC-11: 60,000 brackets raise ProtocolError, not RecursionError."""
    assert rule_of(line(data=None).replace(b'"data": null', b'"data": ' + b"[" * 60_000)) == "REC-11"


@pytest.mark.parametrize("number", [b"NaN", b"Infinity", b"-Infinity", b"1e400", b"-1e400",
                                    b"18446744073709551616", b"-9223372036854775809", b"9" * 5000])
def test_numbers_postgres_or_json_cannot_hold_are_refused(number: bytes) -> None:
    """REC-13: non-finite and out-of-range numbers are refused."""
    assert rule_of(line(data=None).replace(b'"data": null', b'"data": {"n": ' + number + b"}")) == "REC-13"


def _nested(levels: int) -> bytes:
    return b'{"a":' * (levels - 1) + b"{}" + b"}" * (levels - 1)


@pytest.mark.parametrize(("data", "rule"), [
    (b'{"n":18446744073709551616}', "REC-13"), (b'{"n":-9223372036854775809}', "REC-13"),
    (b'{"n":[1e400]}', "REC-13"), (b'{"n":' + b"9" * 5000 + b"}", "REC-13"),
    (b'{"a":1,"a":1}', "REC-4"), (b'{"a":{"b":":","b":":"}}', "REC-4"), (b'null,"data":null', "REC-4"),
    (_nested(65), "REC-11"), (_nested(300), "REC-11"),
])
def test_a_compact_line_breaking_what_orjson_does_not_judge_is_refused(data: bytes, rule: str) -> None:
    """decode's fast path takes compact lines like these, and orjson reads each of them without a
    word: the rule is judged all the same, with its name (REC-4, REC-11, REC-13). 300 levels is past
    what orjson can write back, which the fast path compares the line with."""
    body = json.dumps({**GOOD, "data": None}, separators=(",", ":")).encode().replace(b"null}", data + b"}")
    assert record_module._from_canonical_line(body) is None
    assert rule_of(body) == rule


def test_a_compact_line_with_a_text_field_nested_past_what_orjson_writes_is_refused() -> None:
    """REC-8, not a crash of the fast path, which writes back only what passed every other check."""
    body = json.dumps({**GOOD, "log_event": 0}, separators=(",", ":")).encode()
    deep = body.replace(b'"log_event":0', b'"log_event":' + b"[" * 300 + b"]" * 300)
    assert record_module._from_canonical_line(deep) is None
    assert rule_of(deep) == "REC-8"


@pytest.mark.parametrize("escaped", [rb"\u0000", rb"\ud800", rb"\udfff", rb"\ude00\ud83d"])
def test_unstorable_characters_are_refused_in_keys_and_values(escaped: bytes) -> None:
    """REC-12: U+0000 and lone surrogates, in a member name or a value, at any depth."""
    in_value = line(data=None).replace(b'"data": null', b'"data": {"a": [{"b": "x' + escaped + b'"}]}')
    in_key = line(data=None).replace(b'"data": null', b'"data": {"x' + escaped + b'": 1}')
    in_text = line(log_event="X").replace(b'"X"', b'"' + escaped + b'"')
    assert [rule_of(in_value), rule_of(in_key), rule_of(in_text)] == ["REC-12"] * 3


def test_a_surrogate_pair_is_one_character_and_is_stored() -> None:
    """REC-12 forbids lone surrogates only: an escaped pair is one astral character."""
    assert decode(line(log_event="X").replace(b'"X"', rb'"\ud83d\ude00"')).log_event == "😀"


def test_version_one_is_accepted_and_boolean_is_not_a_version() -> None:
    """VER-1: v:1 reads as a version 1 record; v:true is refused although True == 1 in Python."""
    assert decode(line()[:-2] + b',"v":1}\n') == decode(line())
    assert rule_of(line()[:-2] + b',"v":true}\n') == "VER-1"


def test_record_constructor_refuses_a_naive_datetime() -> None:
    """REC-5: a Record built in code needs an aware time too."""
    with pytest.raises(ProtocolError) as caught:
        Record(time=datetime(2018, 1, 1), application_name="a", environment_name="e", log_event="l",
               trace_id="t", file_path="f", host_ip="10.0.0.1")
    assert caught.value.rule == "REC-5"


def test_record_constructor_moves_time_to_utc_and_canonicalises_ip() -> None:
    """The constructor normalises, so two spellings of one event are equal Records."""
    east = timezone(timedelta(hours=9))
    record = Record(time=datetime(2018, 1, 1, 9, tzinfo=east), application_name="a", environment_name="e",
                    log_event="l", trace_id="t", file_path="f", host_ip="2001:DB8::1")
    assert (record.time, record.time.tzinfo, record.host_ip) == (
        datetime(2018, 1, 1, 0, tzinfo=timezone.utc), timezone.utc, "2001:db8::1")


@pytest.mark.parametrize("data", [{"when": datetime(2018, 1, 1)}, {1: "int key"}, {"t": (1, 2)},
                                  {"s": {1, 2}}, {"b": b"bytes"}])
def test_record_constructor_refuses_what_json_cannot_carry(data: dict[Any, Any]) -> None:
    """REC-10: data built in code holds JSON values only, with string member names."""
    with pytest.raises(ProtocolError) as caught:
        Record(time=datetime(2018, 1, 1, tzinfo=timezone.utc), application_name="a", environment_name="e",
               log_event="l", trace_id="t", file_path="f", host_ip="10.0.0.1", data=data)
    assert caught.value.rule == "REC-10"


def test_record_is_frozen() -> None:
    """A Record cannot be changed after it was validated."""
    record = decode(line())
    with pytest.raises(AttributeError):
        record.log_event = "logout"  # type: ignore[misc]


def test_from_mapping_reports_unknown_before_missing() -> None:
    """REC-3: a misspelt member is reported as unknown, the clearer of the two faults."""
    obj = {k: v for k, v in GOOD.items() if k != "trace_id"} | {"trace-id": "x"}
    with pytest.raises(ProtocolError) as caught:
        from_mapping(obj)
    assert (caught.value.rule, caught.value.field) == ("REC-3", "trace-id")
