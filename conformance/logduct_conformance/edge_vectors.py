"""The edge vectors: every number SPEC.md sets for a record or a line, probed at the number less one,
at the number and at the number plus one, and every spelling SPEC.md accepts, each beside the form it
is stored in. They are generated, so that the 65,536 bytes of a line or the 1,025 of a text field are
counted by code a reviewer can read rather than by hand, and kept as data in ``vectors/`` like the
hand-written ones, so that an implementation in any language can use them.

    python -m logduct_conformance.edge_vectors          # (re)write them and their manifest entries
    python -m logduct_conformance.edge_vectors --check  # exit 1 if the files are not what it writes

Each vector states what it expects on its own, from SPEC.md: the canonical line of a valid one is
written here (a host_ip's RFC 5952 form, a time's UTC instant, spelt out literally), never asked of
the oracle or the reference; tests/test_vectors.py then holds the oracle and the reference to it, and
proves that each invalid vector breaks exactly the one rule it names.

Limits counted in bytes of UTF-8 are probed with characters of every width, so that an
implementation counting characters, UTF-16 units or the bytes of escapes on the wire is caught: a
text field of 1,025 bytes in 257 characters is too long, one of 1,024 bytes written as 3,072 bytes of
``\\u00e9`` escapes is not.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path

#: The folder of the vectors and their manifest.
FOLDER = Path(__file__).resolve().parent / "vectors"

# The numbers, as SPEC.md states them; the oracle has its own copies (limits.py), this module does
# not import them, so that a typo in one is caught by the other.
TEXT_BYTES = 1_024  # REC-8: "1 to 1,024 bytes once encoded in UTF-8"
DATA_DEPTH = 64  # REC-11: "data MUST NOT nest deeper than 64 levels"
LINE_BYTES = 65_536  # ENC-3: "A line MUST NOT exceed 65,536 bytes, LF included"
PIPE_BUF = 4_096  # FIFO-2, section 4: "PIPE_BUF bytes (4,096 on Linux)"
PORTABLE_PIPE_BUF = 512  # FIFO-3


@dataclass(frozen=True)
class Raw:
    """JSON text put on the line as it is: an escape, a number spelt a given way."""

    text: str


Value = str | int | float | dict[str, object] | list[object] | None | Raw

#: The seed's login record, written canonically; each vector changes one thing of it.
BASE: dict[str, Value] = {
    "time": "2018-11-01T14:03:51.123456Z", "application_name": "WebApp", "environment_name": "production",
    "log_event": "login", "trace_id": "0ad94512-df55-11e8-9805-5b8e82d370a6", "file_path": "/usr/src/app/login.py",
    "host_ip": "127.0.0.1", "data": {"user": "Shawn Corey Carter"}}


@dataclass(frozen=True)
class EdgeVector:
    """One generated vector: its line and, if valid, its canonical line; else the one rule it breaks."""

    name: str
    line: bytes
    rule: str  # the one rule an invalid vector breaks; the rule a valid one shows accepted
    about: str
    canonical: bytes | None = None  # None: the vector is invalid

    def entry(self) -> dict[str, object]:
        """Its manifest entry, in the manifest's form."""
        if self.canonical is None:
            return {"name": self.name, "input": f"invalid/{self.name}.ndjson", "verdict": "reject",
                    "rule": self.rule, "fault": self.about}
        return {"name": self.name, "input": f"valid/{self.name}.ndjson", "verdict": "accept",
                "canonical": f"valid/{self.name}.canonical.ndjson", "rules": [self.rule], "description": self.about}


def _json(value: Value) -> str:
    if isinstance(value, Raw):
        return value.text
    if isinstance(value, dict):
        return "{" + ",".join(f"{_json(k)}:{_json(v)}" for k, v in value.items()) + "}"  # type: ignore[arg-type]
    if isinstance(value, list):
        return "[" + ",".join(_json(v) for v in value) + "]"  # type: ignore[arg-type]
    # ENC-5 item 5: UTF-8 characters, short escapes, \u00XX in lower-case hex; Python's json writes
    # exactly that with ensure_ascii off.
    return json.dumps(value, ensure_ascii=False)


def line(**changes: Value) -> bytes:
    """The base record with ``changes``, members in section 1's order, no whitespace, LF-terminated."""
    members = {**BASE, **changes}
    return ("{" + ",".join(f'"{name}":{_json(value)}' for name, value in members.items()) + "}\n").encode()


def valid(name: str, rule: str, about: str, *, canonical: dict[str, Value] | None = None,
          **changes: Value) -> EdgeVector:
    """A valid vector: ``changes`` on the wire, and ``canonical`` (default: the same) as ENC-5 writes it."""
    return EdgeVector(name, line(**changes), rule, about, line(**(changes if canonical is None else canonical)))


def invalid(name: str, rule: str, fault: str, **changes: Value) -> EdgeVector:
    return EdgeVector(name, line(**changes), rule, fault)


def utf8_bytes(n: int, character: str) -> str:
    """A string of exactly ``n`` bytes of UTF-8: as many ``character`` (one or several characters) as
    fit, then ASCII ``a``."""
    width = len(character.encode())
    return character * (n // width) + "a" * (n % width)


# REC-8 ------------------------------------------------------------------------------------------

#: A character of each width of UTF-8 per text field (host_ip cannot be 1,024 bytes and an address).
_WIDTHS = {"application_name": "\U0001f600", "environment_name": "\u20ac", "log_event": "\u00e9",
           "trace_id": "a", "file_path": "a\u00e9\u20ac\U0001f600"}


def _text_field_vectors() -> list[EdgeVector]:
    vectors = []
    for field, character in _WIDTHS.items():
        kebab = field.replace("_", "-")
        for n in (TEXT_BYTES - 1, TEXT_BYTES, TEXT_BYTES + 1):
            sent = line(**{field: utf8_bytes(n, character)})
            what = f"{field} of {n:,} bytes of UTF-8 in {len(sent.decode()) - len(line(**{field: ''})):,} " \
                   f"characters ({character!r} and 'a')"
            vectors.append(EdgeVector(f"text-{kebab}-{n}-bytes", sent, "REC-8", what,
                                      sent if n <= TEXT_BYTES else None))
        if field != "application_name":  # text-empty, hand-written, has application_name
            vectors.append(invalid(f"text-{kebab}-empty", "REC-8", f"an empty {field}: 0 bytes", **{field: ""}))
    one_byte = line(**dict.fromkeys(_WIDTHS, "x"))
    vectors.append(EdgeVector("text-fields-1-byte", one_byte, "REC-8", "every text field but host_ip 1 byte long",
                              one_byte))
    # Escapes: the bound is on the decoded text, not on the bytes of the line.
    vectors += [
        valid("text-log-event-1024-bytes-escaped", "REC-8",
              "log_event of 512 \\u00e9 escapes: 3,072 bytes on the line, 1,024 bytes of UTF-8",
              canonical={"log_event": "\u00e9" * 512}, log_event=Raw('"' + "\\u00e9" * 512 + '"')),
        invalid("text-log-event-1025-bytes-escaped", "REC-8",
                "log_event of 512 \\u00e9 escapes and an 'a': 1,025 bytes of UTF-8",
                log_event=Raw('"' + "\\u00e9" * 512 + 'a"')),
        valid("text-application-name-1024-bytes-surrogate-pairs", "REC-8",
              "application_name of 256 escaped surrogate pairs: 1,024 bytes of UTF-8, 512 UTF-16 units",
              canonical={"application_name": "\U0001f600" * 256},
              application_name=Raw('"' + "\\ud83d\\ude00" * 256 + '"')),
        invalid("text-application-name-1025-bytes-surrogate-pairs", "REC-8",
                "application_name of 256 escaped surrogate pairs and an 'a': 1,025 bytes of UTF-8",
                application_name=Raw('"' + "\\ud83d\\ude00" * 256 + 'a"')),
        valid("text-trace-id-1024-bytes-of-control-characters", "REC-8",
              "trace_id of 1,024 U+001F: 1,024 bytes of UTF-8, 6,144 bytes escaped as ENC-5 writes them",
              trace_id="\x1f" * TEXT_BYTES),
        invalid("text-trace-id-1025-bytes-of-control-characters", "REC-8", "trace_id of 1,025 U+001F",
                trace_id="\x1f" * (TEXT_BYTES + 1)),
    ]
    return vectors


# REC-11 -----------------------------------------------------------------------------------------

def _nested(levels: int, container: str, *, holding: Value = None) -> Value:
    """``data`` of exactly ``levels`` levels: the data object, then objects (member "a") or arrays inside
    it, the innermost empty or ``holding`` a value, which adds no level."""
    value: Value = ({} if holding is None else {"a": holding}) if container == "object" else (
        [] if holding is None else [holding])
    for _ in range(levels - 2):
        value = {"a": value} if container == "object" else [value]
    return {"a": value}


def _depth_vectors() -> list[EdgeVector]:
    return [
        valid("data-depth-63", "REC-11", "63 levels of data", data=_nested(DATA_DEPTH - 1, "object")),
        valid("data-depth-64-arrays", "REC-11", "the data object and 63 arrays inside it, a number innermost "
              "(a number adds no level)", data=_nested(DATA_DEPTH, "array", holding=1)),
        invalid("data-depth-65-arrays", "REC-11", "the data object and 64 arrays inside it, the innermost empty",
                data=_nested(DATA_DEPTH + 1, "array")),
        invalid("data-depth-65-mixed", "REC-11", "65 levels, arrays and objects by turns",
                data={"a": _alternating(DATA_DEPTH)}),
    ]


def _alternating(levels: int) -> Value:
    """``levels`` levels of arrays and objects by turns, the innermost an empty array."""
    value: Value = []
    for level in range(levels - 1):
        value = {"a": value} if level % 2 else [value]
    return value


# ENC-3, and FIFO-2/FIFO-3's numbers, which bind emitters only -----------------------------------

def _padded(size: int, character: str = "x") -> bytes:
    """The base record with data padded to make a line of exactly ``size`` bytes, LF included."""
    bare = len(line(data={"pad": ""}))
    return line(data={"pad": utf8_bytes(size - bare, character)})


def _line_vectors() -> list[EdgeVector]:
    vectors = []
    for size, why in ((PORTABLE_PIPE_BUF, "FIFO-3's portable PIPE_BUF"), (PIPE_BUF, "PIPE_BUF")):
        for n in (size, size + 1):
            vectors.append(EdgeVector(f"line-{n}-bytes", _padded(n), "ENC-3",
                                      f"{n:,} bytes, LF included: {why} binds an emitter's writes, not what a "
                                      "collector accepts", _padded(n)))
    for n, character in ((LINE_BYTES - 1, "x"), (LINE_BYTES, "x"), (LINE_BYTES, "\u20ac")):
        suffix = "-multibyte" if character != "x" else ""
        vectors.append(EdgeVector(f"line-{n}-bytes{suffix}", _padded(n, character), "ENC-3",
                                  f"{n:,} bytes, LF included" + (", most of them 3-byte characters" if suffix else ""),
                                  _padded(n, character)))
    vectors += [
        EdgeVector("line-65537-bytes-multibyte", _padded(LINE_BYTES + 1, "\u20ac"), "ENC-3",
                   "65,537 bytes, LF included, in about 22,000 characters: a limit counted in characters passes it"),
        EdgeVector("line-131073-bytes", _padded(2 * LINE_BYTES + 1), "ENC-3",
                   "twice MAX_RECORD_BYTES and one: a collector discards the rest up to the LF, whatever its reads"),
    ]
    return vectors


# REC-13 -----------------------------------------------------------------------------------------

def _number_vectors() -> list[EdgeVector]:
    return [
        valid("integer-inside-bounds", "REC-13", "-2^63+1 and 2^64-2, one inside each bound",
              data={"min": -(2**63) + 1, "max": 2**64 - 2}),
        valid("integer-around-2-63", "REC-13", "2^63-1 and 2^63: the largest BIGINT and one more, both stored exactly",
              data={"bigint": 2**63 - 1, "past_bigint": 2**63}),
        valid("float-largest-finite", "REC-13", "the largest finite binary64",
              data={"max": Raw("1.7976931348623157e308"), "min": Raw("-1.7976931348623157e308")},
              canonical={"data": {"max": Raw("1.7976931348623157e+308"), "min": Raw("-1.7976931348623157e+308")}}),
        valid("float-rounds-to-largest-finite", "REC-13",
              "1.7976931348623158e308 reads as the largest finite binary64, and is stored as it",
              data={"max": Raw("1.7976931348623158e308")}, canonical={"data": {"max": Raw("1.7976931348623157e+308")}}),
        invalid("float-rounds-to-infinity", "REC-13", "1.7976931348623159e308 reads as binary64 infinity",
                data={"max": Raw("1.7976931348623159e308")}),
        invalid("float-rounds-to-minus-infinity", "REC-13", "-1.7976931348623159e308 reads as -infinity",
                data={"min": Raw("-1.7976931348623159e308")}),
        valid("float-smallest-subnormal", "REC-13", "5e-324, the smallest positive binary64",
              data={"tiny": Raw("5e-324")}, canonical={"data": {"tiny": Raw("5e-324")}}),
        valid("float-underflows-to-zero", "REC-13", "1e-400 is finite, read as binary64 it is 0, and stored as 0",
              data={"zero": Raw("1e-400")}, canonical={"data": {"zero": Raw("0.0")}}),
    ]


# REC-5 to REC-7 ---------------------------------------------------------------------------------

def _time_vectors() -> list[EdgeVector]:
    accepted = [  # name, the rule, as sent, as stored (ENC-5 item 3), why
        ("time-lowercase-t", "REC-5", "2018-11-01t14:03:51.123456Z", "2018-11-01T14:03:51.123456Z",
         "a lower-case t alone"),
        ("time-lowercase-z", "REC-5", "2018-11-01T14:03:51.123456z", "2018-11-01T14:03:51.123456Z",
         "a lower-case z alone"),
        ("time-offset-plus-zero", "REC-5", "2018-11-01T14:03:51.123456+00:00", "2018-11-01T14:03:51.123456Z", "+00:00"),
        ("time-offset-plus-23-59", "REC-5", "2018-11-02T14:02:51.123456+23:59", "2018-11-01T14:03:51.123456Z",
         "the largest offset, east"),
        ("time-offset-minus-23-59", "REC-5", "2018-10-31T14:04:51.123456-23:59", "2018-11-01T14:03:51.123456Z",
         "the largest offset, west"),
        ("time-leap-second-mid-year", "REC-6", "2015-06-30T23:59:60Z", "2015-07-01T00:00:00.000000Z",
         "second 60 without a fraction, at the end of June"),
        ("time-leap-second-with-offset", "REC-6", "2016-12-31T20:29:60.25-03:30", "2017-01-01T00:00:00.250000Z",
         "second 60 at an offset: 23:59:60.25 in UTC"),
        ("time-february-29-leap-year", "REC-5", "2024-02-29T12:00:00Z", "2024-02-29T12:00:00.000000Z",
         "29 February 2024"),
        ("time-february-29-year-2000", "REC-5", "2000-02-29T12:00:00Z", "2000-02-29T12:00:00.000000Z",
         "29 February 2000, a leap year though divisible by 100"),
        ("time-one-fraction-digit", "REC-6", "2018-11-01T14:03:51.5Z", "2018-11-01T14:03:51.500000Z",
         "one fraction digit"),
        ("time-30-fraction-digits", "REC-6", "2018-11-01T14:03:51." + "9" * 30 + "Z", "2018-11-01T14:03:51.999999Z",
         "thirty nines after the point: truncated, never rounded into the next second"),
        ("time-earliest-at-an-offset", "REC-7", "0001-01-01T01:00:00+01:00", "0001-01-01T00:00:00.000000Z",
         "the first instant allowed, one hour east"),
        ("time-earliest-from-year-0", "REC-7", "0000-12-31T23:00:00-01:00", "0001-01-01T00:00:00.000000Z",
         "the first instant allowed, written in year 0 one hour west"),
        ("time-latest-at-an-offset", "REC-7", "9999-12-31T22:59:59.999999-01:00", "9999-12-31T23:59:59.999999Z",
         "the last instant allowed, one hour west"),
    ]
    vectors = [valid(name, rule, about, canonical={"time": stored}, time=sent)
               for name, rule, sent, stored, about in accepted]
    refused = [  # name, as sent, rule, why
        ("time-february-29-non-leap-year", "2023-02-29T12:00:00Z", "REC-5", "29 February 2023"),
        ("time-february-29-year-1900", "1900-02-29T12:00:00Z", "REC-5", "29 February 1900: 1900 was no leap year"),
        ("time-april-31", "2018-04-31T12:00:00Z", "REC-5", "31 April"),
        ("time-day-00", "2018-11-00T12:00:00Z", "REC-5", "day 0"),
        ("time-month-00", "2018-00-01T12:00:00Z", "REC-5", "month 0"),
        ("time-minute-60", "2018-11-01T14:60:00Z", "REC-5", "minute 60"),
        ("time-second-61", "2016-12-31T23:59:61Z", "REC-5", "second 61"),
        ("time-offset-minute-60", "2018-11-01T14:03:51+23:60", "REC-5", "an offset of 23 hours 60 minutes"),
        ("time-empty-fraction", "2018-11-01T14:03:51.Z", "REC-5", "a point with no digit after it"),
        ("time-one-microsecond-before-the-earliest", "0001-01-01T00:59:59.999999+01:00", "REC-7",
         "0000-12-31T23:59:59.999999Z, one microsecond before the first instant allowed"),
        ("time-one-microsecond-after-the-latest", "9999-12-31T23:00:00-01:00", "REC-7",
         "10000-01-01T00:00:00Z, one microsecond after the last instant allowed"),
    ]
    return vectors + [invalid(name, rule, about, time=sent) for name, sent, rule, about in refused]


# REC-9 ------------------------------------------------------------------------------------------

def _address_vectors() -> list[EdgeVector]:
    accepted = [  # name, as sent, as stored (RFC 5952 for IPv6), why
        ("ipv4-all-zeros", "0.0.0.0", "0.0.0.0", "the lowest octets"),
        ("ipv4-all-255", "255.255.255.255", "255.255.255.255", "the highest octets"),
        ("ipv6-unspecified", "::", "::", "all zeros, compressed whole"),
        ("ipv6-loopback-uncompressed", "0:0:0:0:0:0:0:1", "::1", "seven zero groups compressed"),
        ("ipv6-trailing-zeros", "1:0:0:0:0:0:0:0", "1::", "a run of zeros at the end"),
        ("ipv6-leading-zeros-in-groups", "2001:0db8::0001", "2001:db8::1", "leading zeros dropped (RFC 5952 4.1)"),
        ("ipv6-longest-run-compressed", "2001:0:0:1:0:0:0:1", "2001:0:0:1::1",
         "the longest run of zeros compressed (RFC 5952 4.2.3)"),
        ("ipv6-first-of-equal-runs", "2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1",
         "the first of two equal runs compressed (RFC 5952 4.2.3)"),
        ("ipv6-one-zero-group-expanded", "2001:db8::1:1:1:1:1", "2001:db8:0:1:1:1:1:1",
         ":: for one group on the wire, written out when stored (RFC 5952 4.2.2)"),
        ("ipv6-double-colon-for-the-last-group", "1:2:3:4:5:6:7::", "1:2:3:4:5:6:7:0", ":: standing for one group"),
        ("ipv6-upper-case", "FE80::ABCD", "fe80::abcd", "upper-case hex, stored lower (RFC 5952 4.3)"),
        ("ipv4-mapped-in-hex", "::ffff:ac12:3", "::ffff:172.18.0.3", "an IPv4-mapped address in hex"),
        ("ipv4-mapped-uncompressed", "0:0:0:0:0:FFFF:AC12:0003", "::ffff:172.18.0.3",
         "an IPv4-mapped address written out in upper-case hex"),
        ("ipv6-embedded-ipv4-not-mapped", "2001:db8::192.0.2.1", "2001:db8::c000:201",
         "RFC 4291's x:x:x:x:x:x:d.d.d.d form of an address that is not IPv4-mapped: stored in hex"),
        ("ipv6-longest-spelling", "0000:0000:0000:0000:0000:ffff:255.255.255.255", "::ffff:255.255.255.255",
         "45 characters, the longest spelling of an address"),
    ]
    refused = [  # name, as sent, why
        ("ip-two-double-colons", "2001:db8::1::1", "'::' twice"),
        ("ip-nine-groups", "1:2:3:4:5:6:7:8:9", "nine groups"),
        ("ip-seven-groups", "1:2:3:4:5:6:7", "seven groups and no '::'"),
        ("ip-double-colon-beside-eight-groups", "1:2:3:4:5:6:7:8::", "'::' beside eight groups: it stands for none"),
        ("ip-five-hex-digits", "2001:db8::12345", "a group of five hex digits"),
        ("ip-triple-colon", ":::", "three colons"),
        ("ip-mapped-octet-256", "::ffff:172.18.0.256", "an IPv4-mapped address with an octet of 256"),
        ("ip-ipv4-not-last", "::1.2.3.4:1", "the dotted part not at the end"),
        ("ip-five-octets", "1.2.3.4.5", "five octets"),
        ("ip-trailing-dot", "1.2.3.4.", "a dot after the last octet"),
        ("ip-surrounding-space", " 127.0.0.1", "a space before the address"),
        ("ip-hex-octet", "0x7f.0.0.1", "an octet in hex, which inet_aton reads"),
    ]
    return [valid(name, "REC-9", f"{about}: stored as {stored}", canonical={"host_ip": stored}, host_ip=sent)
            for name, sent, stored, about in accepted] + [
        invalid(name, "REC-9", about, host_ip=sent) for name, sent, about in refused]


def edge_vectors() -> list[EdgeVector]:
    """Every generated vector, in manifest order."""
    return [*_text_field_vectors(), *_depth_vectors(), *_line_vectors(), *_number_vectors(), *_time_vectors(),
            *_address_vectors()]


def files(vectors: list[EdgeVector]) -> dict[str, bytes]:
    """The files the vectors are kept in, by path under FOLDER."""
    out = {}
    for vector in vectors:
        entry = vector.entry()
        out[str(entry["input"])] = vector.line
        if vector.canonical is not None:
            out[str(entry["canonical"])] = vector.canonical
    return out


def manifest(current: dict[str, object], vectors: list[EdgeVector]) -> str:
    """``current`` (the manifest as it is) with the generated entries after the hand-written ones."""
    generated = {vector.name for vector in vectors}
    entries = [e for e in current["vectors"] if e["name"] not in generated]  # type: ignore[attr-defined]
    return json.dumps({**current, "vectors": [*entries, *(v.entry() for v in vectors)]}, indent=2,
                      ensure_ascii=False) + "\n"


def main(argv: list[str]) -> int:
    vectors = edge_vectors()
    path = FOLDER / "manifest.json"
    wanted = {**files(vectors), "manifest.json": manifest(json.loads(path.read_text(encoding="utf-8")),
                                                          vectors).encode()}
    stale = [name for name, data in wanted.items()
             if not (FOLDER / name).exists() or (FOLDER / name).read_bytes() != data]
    if "--check" in argv:
        print("\n".join(f"not as generated: vectors/{name}" for name in stale) or "the edge vectors are current")
        return 1 if stale else 0
    for name in stale:
        (FOLDER / name).write_bytes(wanted[name])
    print(f"{len(vectors)} edge vectors; {len(stale)} files written")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
