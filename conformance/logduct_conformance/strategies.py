"""Records for the checks and the reference's tests: Hypothesis strategies, valid and broken, and
``record(n)``, the one fixed record they number. All are the oracle's ``Record`` values, holding what
a collector must store (the instant, host_ip in REC-9's form); tests/reference_records.py turns them
into the reference's for the reference's own tests.

``records()`` gives valid ``Record`` values over the whole space SPEC.md allows: any Unicode the
database can store, times from year 1 to 9999 at any offset, IPv4 and IPv6, nested data with the
extreme numbers. ``spellings()`` writes a record the many ways an emitter may legally send it
(ENC-4), so that a collector's canonicalisation is checked, not assumed. ``faulty_lines()`` breaks
a valid record's line, one rule at a time, and only that rule (the oracle's ``judge_line`` says so).
"""

from __future__ import annotations

import ipaddress
import json
import random
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from typing import Any

from hypothesis import strategies as st

from .oracle import MAX_INTEGER, MAX_TEXT_FIELD_BYTES, MIN_INTEGER, TEXT_FIELDS, JSONValue, Record, canonical_ip, encode

#: The time of ``record(0)``; record ``n`` comes ``n`` seconds later.
START = datetime(2026, 1, 1, tzinfo=timezone.utc)


def record(n: int, app: str = "app", *, size: int | None = None, **fields: Any) -> Record:
    """Record ``n`` of application ``app``: its trace_id ``app-n`` tells it apart (delivery_report
    matches on it), its time is ``n`` seconds after START (the order of ``n`` is the order of time).
    ``fields`` replace any field; ``size`` pads ``data`` so that the canonical line is exactly that
    many bytes, LF included."""
    made = replace(Record(time=START + timedelta(seconds=n), application_name=app, environment_name="test",
                          log_event="request", trace_id=f"{app}-{n}", file_path="/app.py", host_ip="127.0.0.1",
                          data={"n": n}), **fields)
    if size is None:
        return made
    unpadded = replace(made, data={**(made.data or {}), "pad": ""})
    short = size - len(encode(unpadded))
    if short < 0:
        raise ValueError(f"record {n} of {app} is {len(encode(unpadded))} bytes unpadded, over {size}")
    return replace(unpadded, data={**(unpadded.data or {}), "pad": "x" * short})


# REC-12: any character but U+0000 and the surrogates (category Cs).
storable_characters = st.characters(codec="utf-8", exclude_characters="\x00")

#: Text fields: at most 1,024 bytes (REC-8), so at most 256 characters of up to 4 bytes each.
text_fields = st.text(storable_characters, min_size=1, max_size=MAX_TEXT_FIELD_BYTES // 4)

# Offsets up to 23:59 either way, in whole minutes (REC-5).
utc_offsets = st.integers(min_value=-(24 * 60 - 1), max_value=24 * 60 - 1).map(
    lambda minutes: timezone(timedelta(minutes=minutes)))

#: Aware datetimes whose UTC instant lies in years 1 to 9999 whatever the offset (REC-7).
times = st.builds(
    lambda naive, offset: naive.replace(tzinfo=offset),
    st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30, 23, 59, 59, 999999)),
    utc_offsets,
)


def _canonical_ip(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str:
    canonical = canonical_ip(str(address))
    assert canonical is not None, address
    return canonical


#: Addresses in the canonical form of REC-9, as a record is stored.
host_ips = st.ip_addresses().map(_canonical_ip)

json_scalars = (st.none() | st.booleans()
                | st.integers(min_value=MIN_INTEGER, max_value=MAX_INTEGER)
                | st.floats(allow_nan=False, allow_infinity=False)
                | st.text(storable_characters, max_size=40))


def json_values(max_leaves: int = 30) -> st.SearchStrategy[JSONValue]:
    return st.recursive(
        json_scalars,
        lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(storable_characters, max_size=12),
                                                                     inner, max_size=5),
        max_leaves=max_leaves,
    )


data_objects = st.none() | st.dictionaries(st.text(storable_characters, max_size=12), json_values(),
                                           max_size=6)


def records() -> st.SearchStrategy[Record]:
    """Valid records over the whole space of SPEC.md section 1."""
    return st.builds(
        Record,
        time=times,
        application_name=text_fields, environment_name=text_fields, log_event=text_fields,
        trace_id=text_fields, file_path=text_fields,
        host_ip=host_ips,
        data=data_objects,
    )


def nested(depth: int) -> dict[str, Any]:
    """A ``data`` object nested ``depth`` levels deep (the object itself is level 1, REC-11)."""
    value: dict[str, Any] = {}
    for _ in range(depth - 1):
        value = {"a": value}
    return value



@st.composite
def spellings(draw: st.DrawFn, record: Record) -> bytes:
    """One of the many lines that ENC-4 obliges a collector to read as ``record``."""
    rng = random.Random(draw(st.integers(0, 2**32)))
    offset = draw(utc_offsets)
    local = record.time.astimezone(offset)
    extra_digits = "".join(rng.choice("0123456789") for _ in range(rng.randint(0, 3)))  # REC-6: cut
    fraction = f"{local.microsecond:06d}{extra_digits}"
    if local.microsecond == 0 and rng.random() < 0.5:
        fraction = ""
    sign = "+" if offset.utcoffset(None) >= timedelta(0) else "-"
    minutes = abs(int(offset.utcoffset(None).total_seconds())) // 60
    zone = f"{sign}{minutes // 60:02d}:{minutes % 60:02d}"
    if minutes == 0 and rng.random() < 0.5:
        zone = rng.choice("Zz")
    dot_fraction = f".{fraction}" if fraction else ""
    when = (f"{local.year:04d}-{local.month:02d}-{local.day:02d}{rng.choice('Tt')}"
            f"{local.hour:02d}:{local.minute:02d}:{local.second:02d}{dot_fraction}{zone}")
    members: dict[str, Any] = {name: getattr(record, name) for name in TEXT_FIELDS}
    members.update(time=when, host_ip=_respell_ip(record.host_ip, rng))
    if record.data is not None or rng.random() < 0.5:
        members["data"] = record.data
    if rng.random() < 0.2:
        members["v"] = 1
    order = list(members)
    rng.shuffle(order)
    ensure_ascii = rng.random() < 0.5
    space = rng.choice(["", " ", "\t", "  "])
    body = ("{" + space + ("," + space).join(
        json.dumps(name) + space + ":" + space + json.dumps(members[name], ensure_ascii=ensure_ascii)
        for name in order) + space + "}")
    return body.encode() + b"\n"


def _respell_ip(canonical: str, rng: random.Random) -> str:
    """Another legal spelling of an address (REC-9): IPv6 in upper case or without compression."""
    if ":" not in canonical or "." in canonical:
        return canonical
    if rng.random() < 0.5:
        return canonical.upper()
    return ipaddress.IPv6Address(canonical).exploded


def _dump(obj: dict[str, Any]) -> bytes:
    # ASCII-only, so that lone surrogates travel as \u escapes, as a hostile emitter would send them.
    return json.dumps(obj, ensure_ascii=True, separators=(",", ":")).encode()


def _nested(levels: int) -> str:
    return '{"a":' * (levels - 1) + "{}" + "}" * (levels - 1)


#: One fault each, and the rule it breaks: (rule, how a canonical record object becomes a bad line).
FAULTS: list[tuple[str, Any]] = [
    ("ENC-1", lambda o: _dump({**o, "data": {"x": "?"}}).replace(b'"x":"?"', b'"x":"\xff"')),
    ("ENC-2", lambda o: _dump(o)[:-5]),
    ("REC-1", lambda o: b"[" + _dump(o) + b"]"),
    ("REC-2", lambda o: _dump({k: v for k, v in o.items() if k != "trace_id"})),
    ("REC-3", lambda o: _dump({**o, "level": "info"})),
    ("REC-4", lambda o: _dump(o)[:-1] + b',"log_event":"again"}'),
    ("REC-5", lambda o: _dump({**o, "time": o["time"][:-1]})),
    ("REC-7", lambda o: _dump({**o, "time": "0000-01-01T00:00:00Z"})),
    ("REC-8", lambda o: _dump({**o, "application_name": ""})),
    # 1,025 bytes of UTF-8 in 513 characters, sent as 3,078 bytes of escapes: bytes, not characters or escapes.
    ("REC-8", lambda o: _dump({**o, "log_event": "\u00e9" * 512 + "a"})),
    ("REC-9", lambda o: _dump({**o, "host_ip": "localhost"})),
    ("REC-10", lambda o: _dump({**o, "data": [1]})),
    ("REC-11", lambda o: _dump({**o, "data": None}).replace(b'"data":null', b'"data":' + _nested(65).encode())),
    ("REC-12", lambda o: _dump({**o, "data": {"k": "a\x00b"}})),
    ("REC-12", lambda o: _dump({**o, "log_event": "x\ud800"})),
    ("REC-13", lambda o: _dump({**o, "data": None}).replace(b'"data":null', b'"data":{"n":NaN}')),
    ("REC-13", lambda o: _dump({**o, "data": None}).replace(b'"data":null', b'"data":{"n":1e400}')),
    ("REC-13", lambda o: _dump({**o, "data": {"n": MAX_INTEGER + 1}})),
    ("REC-13", lambda o: _dump({**o, "data": {"n": MIN_INTEGER - 1}})),
    ("VER-2", lambda o: _dump({**o, "v": 2})),
]


@st.composite
def faulty_lines(draw: st.DrawFn) -> tuple[str, bytes]:
    """A line that breaks exactly one rule, made from a valid record: (the rule, the line with its LF)."""
    obj = json.loads(encode(draw(records())))
    rule, damage = draw(st.sampled_from(FAULTS))
    return rule, damage(obj) + b"\n"
