"""SPEC.md's rule IDs are well formed, unique, and the only ones the project cites."""

from __future__ import annotations

import re
from collections import Counter

from spec_ids import CITATION, ROOT, SPEC, defined_rules

CITING_FOLDERS = ["reference", "conformance", "tests", "sql", "bench", "docs"]
CITING_FILES = ["README.md", "docker-compose.yml", "Dockerfile"]


def test_every_rule_id_is_defined_once() -> None:
    """A rule ID names one sentence of SPEC.md, never two."""
    counts = Counter(defined_rules())
    assert [rule for rule, n in counts.items() if n > 1] == []
    assert len(counts) > 50


def test_rule_numbers_count_up_within_each_section() -> None:
    """IDs are numbered in order, so a reader finds REC-7 between REC-6 and REC-8."""
    by_prefix: dict[str, list[int]] = {}
    for rule in defined_rules():
        prefix, number = rule.split("-")
        by_prefix.setdefault(prefix, []).append(int(number))
    for prefix, numbers in by_prefix.items():
        assert numbers == sorted(numbers), prefix
        assert numbers[0] == 1, prefix


def test_every_cited_rule_exists_in_spec() -> None:
    """Code, tests, SQL and docs cite only rules that SPEC.md defines."""
    defined = set(defined_rules())
    cited: dict[str, set[str]] = {}
    suffixes = {".py", ".sql", ".json", ".md", ".sh"}
    paths = [p for folder in CITING_FOLDERS if (ROOT / folder).exists()
             for p in (ROOT / folder).rglob("*") if p.is_file() and p.suffix in suffixes]
    paths += [ROOT / name for name in CITING_FILES if (ROOT / name).exists()]
    for path in paths:
        for match in CITATION.finditer(path.read_text(encoding="utf-8", errors="replace")):
            cited.setdefault(match["id"], set()).add(str(path.relative_to(ROOT)))
    unknown = {rule: sorted(where) for rule, where in cited.items() if rule not in defined}
    assert unknown == {}


def test_spec_cites_only_its_own_rules() -> None:
    """Cross-references inside SPEC.md point at rules that exist."""
    text = SPEC.read_text(encoding="utf-8")
    assert {m["id"] for m in CITATION.finditer(text)} <= set(defined_rules())


def test_every_rule_the_reference_raises_is_defined() -> None:
    """Each ProtocolError("X-n", ...) in the reference cites a rule of SPEC.md."""
    raised = set()
    for path in (ROOT / "reference").rglob("*.py"):
        raised |= set(re.findall(r'ProtocolError\(\s*"([A-Z]+-\d+)"', path.read_text(encoding="utf-8")))
    assert raised and raised <= set(defined_rules())


def test_the_suite_ships_this_spec() -> None:
    """The conformance package reports against SPEC.md itself (a link), never a stale copy."""
    shipped = ROOT / "conformance" / "logduct_conformance" / "SPEC.md"
    assert shipped.resolve() == SPEC.resolve()


#: Rules no code can enforce, with why. Every other rule is named where the reference enforces it.
UNENFORCED_BY_CODE = {
    "VER-3": "a promise about later versions of the protocol, kept by SPEC.md's authors",
}


def test_every_rule_is_named_where_the_reference_enforces_it() -> None:
    """The rules SPEC.md defines and no module of the reference (or its SQL) names: only those
    that no code can enforce. A new rule must come with the code that enforces it, named."""
    named: set[str] = set()
    for path in [*(ROOT / "reference").rglob("*.py"), *(ROOT / "sql").rglob("*.sql")]:
        named |= {m["id"] for m in CITATION.finditer(path.read_text(encoding="utf-8"))}
    assert [rule for rule in defined_rules() if rule not in named] == sorted(UNENFORCED_BY_CODE)
