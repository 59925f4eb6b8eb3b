"""The test vectors are well formed; by the suite's oracle, each invalid one breaks exactly the one rule
it records and each valid one none; and the reference gives each the verdict it records."""

from __future__ import annotations

import json
import re
from importlib import resources

import pytest

from logduct.errors import ProtocolError
from logduct.record import decode, encode
from logduct_conformance import Vector, edge_vectors, load_vectors
from logduct_conformance.oracle import encode as oracle_encode
from logduct_conformance.oracle import judge_line, matches_canonical, read_line, rules_of
from spec_ids import defined_rules

VECTORS = load_vectors()
BY_NAME = {vector.name: vector for vector in VECTORS}
MANIFEST = json.loads(resources.files("logduct_conformance").joinpath("vectors/manifest.json").read_text())


def test_manifest_entries_are_well_formed() -> None:
    """Each entry has a unique kebab-case name, an input file, a verdict and its rules."""
    names = [entry["name"] for entry in MANIFEST["vectors"]]
    assert len(names) == len(set(names))
    for entry in MANIFEST["vectors"]:
        assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", entry["name"]), entry
        assert entry["verdict"] in {"accept", "reject"}, entry
        if entry["verdict"] == "accept":
            assert set(entry) == {"name", "input", "verdict", "canonical", "rules", "description"}, entry
        else:
            assert set(entry) == {"name", "input", "verdict", "rule", "fault"}, entry
            assert entry["input"] == f"invalid/{entry['name']}.ndjson"


def test_every_vector_file_is_listed_and_every_listed_file_exists() -> None:
    """No vector is lost from the manifest, and none it names is missing."""
    folder = resources.files("logduct_conformance").joinpath("vectors")
    on_disk = {f"{sub}/{f.name}" for sub in ("valid", "invalid") for f in folder.joinpath(sub).iterdir()}
    listed = {entry["input"] for entry in MANIFEST["vectors"]} | {
        entry["canonical"] for entry in MANIFEST["vectors"] if "canonical" in entry}
    assert on_disk == listed


def test_vectors_cite_rules_that_exist() -> None:
    """Every rule a vector names is defined in SPEC.md."""
    defined = set(defined_rules())
    assert {rule for vector in VECTORS for rule in vector.rules} <= defined


def test_vectors_cover_every_record_rule() -> None:
    """Each rule of sections 1, 2 and 8 that a single line can break has a reject vector."""
    line_rules = {r for r in defined_rules() if r.split("-")[0] in {"REC", "ENC", "VER"}}
    unbreakable = {"ENC-4", "ENC-5", "REC-6", "VER-3"}  # they say how to read valid lines
    rejected = {vector.rules[0] for vector in VECTORS if vector.verdict == "reject"}
    assert line_rules - unbreakable - rejected == set()


def test_every_line_ends_with_one_lf() -> None:
    """Vectors are lines: the LF is the last byte and the only LF (ENC-2)."""
    for vector in VECTORS:
        assert vector.line.endswith(b"\n") and vector.line.count(b"\n") == 1, vector.name


@pytest.mark.parametrize("vector", [v for v in VECTORS if v.verdict == "reject"], ids=lambda v: v.name)
def test_invalid_vector_breaks_exactly_its_one_rule(vector: Vector) -> None:
    """COL-1: a collector names the first rule it finds broken, in an order of its own; a vector that
    broke two rules would fail a collector that checks the other first. The oracle names them all."""
    assert rules_of(judge_line(vector.line)) == [vector.rules[0]], [str(b) for b in judge_line(vector.line)]


@pytest.mark.parametrize("vector", [v for v in VECTORS if v.verdict == "accept"], ids=lambda v: v.name)
def test_valid_vector_breaks_no_rule_and_is_canonically_the_oracles_bytes(vector: Vector) -> None:
    """The oracle finds nothing wrong with a valid vector and encodes it as its canonical file, byte for byte."""
    assert judge_line(vector.line) == []
    assert oracle_encode(read_line(vector.line)) == vector.canonical


@pytest.mark.parametrize("vector", [v for v in VECTORS if v.verdict == "accept"], ids=lambda v: v.name)
def test_reference_accepts_valid_vector_in_canonical_form(vector: Vector) -> None:
    """The reference decodes each valid vector and encodes its canonical bytes (ENC-5 item 7 leaves the
    spelling of non-integer numbers open)."""
    assert matches_canonical(encode(decode(vector.line)), vector.canonical)


@pytest.mark.parametrize("vector", [v for v in VECTORS if v.verdict == "reject"], ids=lambda v: v.name)
def test_reference_rejects_invalid_vector_under_its_rule(vector: Vector) -> None:
    """The reference refuses each invalid vector under the one rule the vector breaks."""
    with pytest.raises(ProtocolError) as caught:
        decode(vector.line)
    assert caught.value.rule == vector.rules[0], str(caught.value)


def test_the_edge_vectors_are_what_their_generator_writes() -> None:
    """vectors/ holds exactly what edge_vectors.py generates, entries and files: none edited by hand, none stale."""
    assert edge_vectors.main(["--check"]) == 0, "run: python -m logduct_conformance.edge_vectors"


#: Each number SPEC.md sets for a record or a line: a vector inside it, one at it, one past it.
LIMITS = {
    **{f"REC-8, {field} at most 1,024 bytes": (f"text-{field}-1023-bytes", f"text-{field}-1024-bytes",
                                                f"text-{field}-1025-bytes")
       for field in ("application-name", "environment-name", "log-event", "trace-id", "file-path")},
    "REC-8, escaped text at most 1,024 bytes": ("unicode-escapes", "text-log-event-1024-bytes-escaped",
                                                "text-log-event-1025-bytes-escaped"),
    "REC-8, at least 1 byte": ("seed-login", "text-fields-1-byte", "text-empty"),
    "REC-11, at most 64 levels": ("data-depth-63", "data-depth-64", "data-depth-65"),
    "REC-11, arrays count": ("data-depth-63", "data-depth-64-arrays", "data-depth-65-arrays"),
    "ENC-3, at most 65,536 bytes": ("line-65535-bytes", "line-65536-bytes", "line-too-long"),
    "ENC-3, bytes, not characters": ("line-65535-bytes", "line-65536-bytes-multibyte", "line-65537-bytes-multibyte"),
    "REC-13, at most 2^64-1": ("integer-inside-bounds", "integer-bounds", "integer-2-64"),
    "REC-13, at least -2^63": ("integer-inside-bounds", "integer-bounds", "integer-below-minus-2-63"),
    "REC-13, finite binary64": ("float-largest-finite", "float-rounds-to-largest-finite", "float-rounds-to-infinity"),
    "REC-7, from 0001-01-01T00:00:00Z": ("time-earliest-at-an-offset", "time-earliest",
                                        "time-one-microsecond-before-the-earliest"),
    "REC-7, to 9999-12-31T23:59:59.999999Z": ("time-latest-at-an-offset", "time-latest",
                                              "time-one-microsecond-after-the-latest"),
    "REC-5, offsets to 23:59": ("time-offset-minus-23-59", "time-offset-plus-23-59", "time-offset-hour-24"),
    "REC-5, minutes to 59": ("time-offset-plus-23-59", "time-offset-plus-23-59", "time-offset-minute-60"),
    "REC-5, seconds to 60 (REC-6)": ("time-latest", "time-leap-second", "time-second-61"),
}


@pytest.mark.parametrize("limit", LIMITS)
def test_each_limit_is_probed_inside_at_and_past_it(limit: str) -> None:
    """A vector inside the limit and one at it are valid; one past it breaks the limit's rule."""
    inside, at, past = (BY_NAME[name] for name in LIMITS[limit])
    assert (inside.verdict, at.verdict, past.verdict) == ("accept", "accept", "reject")
    assert past.rules[0] == limit.split(",")[0]


def _depth(value: object) -> int:
    if isinstance(value, dict):
        return 1 + max(map(_depth, value.values()), default=0)
    if isinstance(value, list):
        return 1 + max(map(_depth, value), default=0)
    return 0


_SIZED = re.compile(r"text-(?P<field>[a-z-]+)-(?P<bytes>[0-9]+)-bytes|line-(?P<line>[0-9]+)-bytes.*"
                    r"|data-depth-(?P<depth>[0-9]+).*")


@pytest.mark.parametrize("vector", [v for v in VECTORS if _SIZED.fullmatch(v.name)], ids=lambda v: v.name)
def test_a_vector_named_for_a_size_has_that_size(vector: Vector) -> None:
    """Measured here, not taken from the generator: text-FIELD-N-bytes has a FIELD of N bytes of UTF-8,
    line-N-bytes N bytes with its LF, data-depth-N data N levels deep."""
    named = _SIZED.fullmatch(vector.name)
    assert named is not None
    if named["line"]:
        assert len(vector.line) == int(named["line"])
    elif named["depth"]:
        assert _depth(json.loads(vector.line)["data"]) == int(named["depth"])
    else:
        assert len(json.loads(vector.line)[named["field"].replace("-", "_")].encode()) == int(named["bytes"])


def test_a_limit_counted_in_characters_is_caught() -> None:
    """A vector too long in bytes, for a text field (REC-8) and for a line (ENC-3), is short enough in
    characters, and in UTF-16 units: an implementation counting either accepts it and fails."""
    text = json.loads(BY_NAME["text-application-name-1025-bytes"].line)["application_name"]
    assert BY_NAME["text-application-name-1025-bytes"].verdict == "reject" and len(text.encode("utf-16-le")) < 2 * 1_024
    assert BY_NAME["line-65537-bytes-multibyte"].verdict == "reject"
    assert len(BY_NAME["line-65537-bytes-multibyte"].line.decode()) < 65_536
