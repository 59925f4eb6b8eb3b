"""The test vectors are well formed; by the suite's oracle, each invalid one breaks exactly the one rule
it records and each valid one none; and the reference gives each the verdict it records."""

from __future__ import annotations

import json
import re
from importlib import resources

import pytest

from logduct.errors import ProtocolError
from logduct.record import decode, encode
from logduct_conformance import Vector, load_vectors
from logduct_conformance.oracle import encode as oracle_encode
from logduct_conformance.oracle import judge_line, read_line, rules_of
from spec_ids import defined_rules

VECTORS = load_vectors()
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
    """The reference decodes each valid vector and encodes exactly its canonical bytes."""
    assert encode(decode(vector.line)) == vector.canonical


@pytest.mark.parametrize("vector", [v for v in VECTORS if v.verdict == "reject"], ids=lambda v: v.name)
def test_reference_rejects_invalid_vector_under_its_rule(vector: Vector) -> None:
    """The reference refuses each invalid vector under the one rule the vector breaks."""
    with pytest.raises(ProtocolError) as caught:
        decode(vector.line)
    assert caught.value.rule == vector.rules[0], str(caught.value)
