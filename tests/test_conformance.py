"""The conformance suite checked: it passes the reference, and it catches every known-bad implementation
on the rules its fault breaks (conformance/known-bad/)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from importlib import metadata
from pathlib import Path
from xml.etree import ElementTree

import pytest

from logduct_conformance import coverage
from logduct_conformance.plugin import REFERENCE_COMMAND, spec_rule_texts, spec_rules

ROOT = Path(__file__).resolve().parents[1]
KNOWN_BAD = ROOT / "conformance" / "known-bad"
MANIFEST = json.loads((KNOWN_BAD / "manifest.json").read_text())["implementations"]


def run_suite(tmp_path: Path, *args: str) -> tuple[int, dict[str, str], str]:
    """Run the suite in a process; return its exit status, the report's verdict per rule, its output."""
    report = tmp_path / "report"
    done = subprocess.run([sys.executable, "-m", "pytest", "--pyargs", "logduct_conformance", "-p", "no:cacheprovider",
                           "--conformance-report", str(report), *args], cwd=tmp_path, capture_output=True,
                          text=True, timeout=600, check=False)
    verdicts = {}
    if Path(f"{report}.md").exists():
        for line in Path(f"{report}.md").read_text().splitlines():
            cells = [cell.strip() for cell in line.strip("|").split("|")]
            if line.startswith("| ") and re.fullmatch(r"[A-Z]+-\d+", cells[0]):
                verdicts[cells[0]] = cells[1]
    return done.returncode, verdicts, done.stdout + done.stderr


def test_reference_passes_every_check(tmp_path: Path) -> None:
    """The whole suite against the reference: exit 0, no rule failing, most rules checked."""
    status, verdicts, output = run_suite(tmp_path)
    assert status == 0, output[-3000:]
    assert set(verdicts) == set(spec_rules())
    assert [rule for rule, verdict in verdicts.items() if verdict in ("fail", "error")] == []
    checked = [rule for rule, verdict in verdicts.items() if verdict == "pass"]
    assert len(checked) >= 40, f"only {len(checked)} rules checked"
    assert "logduct conformance of the reference:" in output


@pytest.mark.known_bad
@pytest.mark.parametrize("bad", MANIFEST, ids=[bad["name"] for bad in MANIFEST])
def test_suite_catches_the_known_bad_implementation_on_its_rule(tmp_path: Path, bad: dict[str, str]) -> None:
    """A broken implementation fails the suite on exactly the rules its one fault breaks: on each of
    them, and on no other."""
    command = f"{sys.executable} {KNOWN_BAD / (bad['name'] + '.py')}"
    sides = [f"--{bad['side']}", command]
    if bad.get("with_reference"):
        sides += [f"--{bad['with_reference']}", REFERENCE_COMMAND]
    status, verdicts, output = run_suite(tmp_path, *sides, "--features", bad["features"], "-k", bad["select"])
    assert status != 0, output[-3000:]
    assert {rule: verdicts.get(rule) for rule in bad["expect"]} == dict.fromkeys(bad["expect"], "fail"), output[-3000:]
    failing = {rule for rule, verdict in verdicts.items() if verdict in ("fail", "error")}
    # 'coarse': rules whose check also catches the fault and cannot yet say which rule it broke; the
    # equality makes a check that learns to tell them apart (by_rule) say so here.
    allowed = set(bad["expect"]) | set(bad.get("coarse", []))
    assert failing == allowed, f"unrelated rules failing: {sorted(failing - allowed)}; expected, not failing: " \
                               f"{sorted(allowed - failing)}"
    report = (tmp_path / "report.md").read_text()
    for rule in bad["expect"]:  # each failing rule comes with its text and what the check saw
        assert f"### {rule}\n\n> {spec_rule_texts()[rule]}" in report


def test_known_failures_become_strict_xfails(tmp_path: Path) -> None:
    """A listed failing check no longer fails the run; a listed check that passes does (strict)."""
    command = f"{sys.executable} {KNOWN_BAD / 'collector_ignores_offset.py'}"
    listed = tmp_path / "known-failures.txt"
    listed.write_text("test_times_are_stored_as_the_instants_they_name  # REC-5: offsets ignored\n")
    status, verdicts, output = run_suite(tmp_path, "--collector", command, "--features", "fifo,postgres",
                                         "--known-failures", str(listed), "-k", "instants")
    assert status == 0, output[-3000:]
    assert verdicts["REC-5"] == "known failure"
    status, _, output = run_suite(tmp_path, "--known-failures", str(listed), "-k", "instants")
    assert status != 0 and "XPASS(strict)" in output


def test_checks_needing_what_is_not_declared_are_not_applicable(tmp_path: Path) -> None:
    """An emitter alone, FIFO only: collector and ZeroMQ checks are not applicable, not failed."""
    status, verdicts, output = run_suite(tmp_path, "--emitter", REFERENCE_COMMAND, "--features", "fifo")
    assert status == 0, output[-3000:]
    assert verdicts["FIFO-3"] == "not applicable"  # the portable profile was not declared
    assert "(not applicable: needs portable)" in (tmp_path / "report.md").read_text()
    assert verdicts["ZMQ-11"] == "not applicable"
    assert verdicts["FIFO-2"] == "pass"


def test_report_is_markdown_and_junit_with_a_row_per_rule(tmp_path: Path) -> None:
    """--conformance-report writes PATH.md (every SPEC rule) and PATH.xml (a testcase per checked rule)."""
    status, verdicts, output = run_suite(tmp_path, "-k", "sigterm or three_times")
    assert status == 0, output[-3000:]
    cases = ElementTree.parse(tmp_path / "report.xml").getroot().findall("testcase")
    assert {case.get("name") for case in cases} == {
        rule for rule, v in verdicts.items() if v not in ("not checked", "not checkable")}
    report = (tmp_path / "report.md").read_text()
    assert f"Suite {metadata.version('logduct')}, SPEC.md version 1 (revision " in report
    assert verdicts["VER-3"] == "not checkable" and "kept by its authors" in report
    assert verdicts["COL-4"] == "pass" and verdicts["ZMQ-6"] == "pass"


def test_a_check_with_per_rule_blocks_fails_only_the_rules_whose_blocks_fail(tmp_path: Path) -> None:
    """by_rule: one vector failing fails its own rule, not every rule its check names."""
    (tmp_path / "test_blocks.py").write_text(
        "import pytest\n\n"
        "@pytest.mark.rules('REC-1', 'REC-2', 'REC-3')\n"
        "def test_vectors(by_rule):\n"
        "    with by_rule.check('REC-1', 'vector a'):\n"
        "        assert True\n"
        "    with by_rule.check('REC-2', 'vector b'):\n"
        "        assert 1 == 2, 'stored under REC-9'\n"
        "    with by_rule.check('REC-3', 'vector c'):\n"
        "        assert True\n", encoding="utf-8")
    report = tmp_path / "report"
    # A file outside the suite does not load the suite's plugin unless asked to, by name.
    done = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-p", "logduct_conformance.plugin",
                           "test_blocks.py", "--conformance-report", str(report)], cwd=tmp_path, capture_output=True,
                          text=True, timeout=120, check=False)
    assert done.returncode == 1, done.stdout[-2000:]
    text = Path(f"{report}.md").read_text()
    assert "| REC-1 | pass |" in text and "| REC-2 | fail |" in text and "| REC-3 | pass |" in text
    assert "REC-2 fails: vector b: stored under REC-9" in text


def test_the_coverage_matrix_in_the_readme_is_current() -> None:
    """conformance/README.md's matrix is what the checks' marks and the known-bad manifest say now."""
    readme = (ROOT / "conformance" / "README.md").read_text()
    table = readme.split("## Coverage matrix", 1)[1].split("\n\n| rule |", 1)[1].split("\n\n", 1)[0]
    assert "| rule |" + table + "\n" == coverage.markdown(KNOWN_BAD / "manifest.json"), \
        "regenerate it: python -m logduct_conformance.coverage"
