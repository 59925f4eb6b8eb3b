"""The conformance suite as a pytest plugin: which implementation, which rules, and the report.

    pytest --pyargs logduct_conformance --emitter "CMD" --collector "CMD" --features fifo,zmq,...

An implementation is checked through its command line (SPEC.md section 9): ``CMD emit --fifo PATH``,
``CMD collect --fifo PATH --dsn DSN`` and so on. Either command may be left out: the checks of the
other side still run, the suite itself playing the missing peer, and the checks that need both
report "not applicable". Without either option the reference is checked.

Every check names the rules it checks (``@pytest.mark.rules("FIFO-2")``) and what it needs
(``@pytest.mark.needs("emitter", "fifo")``). A check whose needs are not declared is skipped as not
applicable, never failed. The report has a row per rule of SPEC.md: pass, fail, not applicable, or
not checked.
"""

from __future__ import annotations

import re
import shlex
from collections import defaultdict
from collections.abc import Generator
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from xml.etree import ElementTree

import pytest

from .processes import REFERENCE

#: What an implementation may declare (``--features``); the reference has them all.
FEATURES = {
    "emitter": "offers `emit` (set by --emitter)",
    "collector": "offers `collect` (set by --collector)",
    "fifo": "the FIFO transport",
    "zmq": "the ZeroMQ transport",
    "zmq-acks": "ZeroMQ acknowledgements after commit, retransmission, de-duplication (ZMQ-4 to ZMQ-6)",
    "portable": "the 512-byte portable profile, `emit --portable` (FIFO-3)",
    "postgres": "`collect --dsn DSN`",
    "stdout": "`collect --stdout`",
    "sink": "postgres or stdout (derived: a collector check needs one of them to look at)",
}
REFERENCE_COMMAND = shlex.join(REFERENCE)
_NOT_APPLICABLE = "not applicable: "
# The checks run on a real PostgreSQL; its fixtures come with the suite.
pytest_plugins = ["logduct_conformance.postgres"]
_RULE = re.compile(r"^- \*\*(?P<id>[A-Z]+-\d+)\*\* ", re.MULTILINE)


@dataclass(frozen=True)
class Implementation:
    """The implementation under test, as the options describe it."""

    emitter: list[str] | None  # the command before "emit"
    collector: list[str] | None  # the command before "collect"
    features: frozenset[str]
    name: str

    def emit(self, *args: str) -> list[str]:
        assert self.emitter is not None
        return [*self.emitter, "emit", *args]

    def collect(self, *args: str) -> list[str]:
        assert self.collector is not None
        return [*self.collector, "collect", *args]


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("logduct conformance")
    group.addoption("--emitter", metavar="CMD", help="command of the emitter under test (it gets: emit ...)")
    group.addoption("--collector", metavar="CMD", help="command of the collector under test (it gets: collect ...)")
    group.addoption("--features", metavar="LIST", help="what the implementation supports, comma-separated, of: "
                    + ", ".join(f for f in FEATURES if f not in ("emitter", "collector", "sink"))
                    + " (default: all, for the reference)")
    group.addoption("--known-failures", metavar="FILE", type=Path,
                    help="checks expected to fail, one test id or rule ID a line: run as strict xfail")
    group.addoption("--conformance-report", metavar="PATH", type=Path,
                    help="write the per-rule report to PATH.md and PATH.xml (JUnit)")


def implementation_of(config: pytest.Config) -> Implementation:
    emitter, collector = config.getoption("--emitter"), config.getoption("--collector")
    reference = emitter is None and collector is None
    if reference:
        emitter = collector = REFERENCE_COMMAND
    declared = config.getoption("--features")
    features = set(FEATURES) - {"emitter", "collector", "sink"} if declared is None else {
        f.strip() for f in declared.split(",") if f.strip()}
    unknown = features - set(FEATURES)
    if unknown:
        raise pytest.UsageError(f"--features: unknown {', '.join(sorted(unknown))}; known: {', '.join(FEATURES)}")
    features |= {"emitter"} if emitter else set()
    features |= {"collector"} if collector else set()
    features |= {"sink"} if features & {"postgres", "stdout"} else set()
    return Implementation(emitter=shlex.split(emitter) if emitter else None,
                          collector=shlex.split(collector) if collector else None,
                          features=frozenset(features),
                          name="the reference" if reference else " / ".join(filter(None, (emitter, collector))))


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "rules(*ids): the SPEC.md rules a conformance check checks")
    config.addinivalue_line("markers", "needs(*features): what the implementation must offer for the check")
    results: dict[str, list[tuple[str, str]]] = defaultdict(list)
    config.stash[_RESULTS] = results


def _is_check(item: pytest.Item) -> bool:
    return item.get_closest_marker("rules") is not None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    checks = [item for item in items if _is_check(item)]
    if not checks:
        return
    implementation = implementation_of(config)
    known = _known_failures(config.getoption("--known-failures"))
    for item in checks:
        needs = set(_marker_args(item, "needs"))
        missing = needs - implementation.features
        if missing:
            item.add_marker(pytest.mark.skip(reason=_NOT_APPLICABLE + "needs " + ", ".join(sorted(missing))))
            continue
        rules = set(_marker_args(item, "rules"))
        # originalname, the name without its parameters, is a test function's; another item has its name only.
        original = item.originalname if isinstance(item, pytest.Function) else item.name
        if item.name in known or original in known or rules & known:
            item.add_marker(pytest.mark.xfail(strict=True, reason="listed in --known-failures"))


def _marker_args(item: pytest.Item, name: str) -> list[str]:
    return [arg for marker in item.iter_markers(name) for arg in marker.args]


def _known_failures(path: Path | None) -> set[str]:
    if path is None:
        return set()
    lines = path.read_text(encoding="utf-8").splitlines()
    return {line.split("#")[0].strip() for line in lines if line.split("#")[0].strip()}


@pytest.fixture(scope="session")
def implementation(pytestconfig: pytest.Config) -> Implementation:
    """The implementation under test."""
    return implementation_of(pytestconfig)


_RESULTS = pytest.StashKey[dict[str, list[tuple[str, str]]]]()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
        item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    if _is_check(item) and (report.when == "call" or (report.when == "setup" and not report.passed)):
        if report.skipped and not hasattr(report, "wasxfail"):
            reason = str(report.longrepr[2]) if isinstance(report.longrepr, tuple) else ""
            outcome = "not applicable" if _NOT_APPLICABLE in reason else "error"
        elif hasattr(report, "wasxfail"):
            outcome = "known failure"
        elif report.failed:
            outcome = "fail" if report.when == "call" else "error"
        else:
            outcome = "pass"
        for rule in _marker_args(item, "rules"):
            item.config.stash[_RESULTS][rule].append((item.name, outcome))
    return report


def rule_verdicts(results: dict[str, list[tuple[str, str]]]) -> dict[str, str]:
    """One verdict a rule: fail beats error beats known failure beats pass beats not applicable."""
    order = ["fail", "error", "known failure", "pass", "not applicable"]
    return {rule: min((outcome for _, outcome in outcomes), key=order.index) for rule, outcomes in results.items()}


def spec_rules() -> list[str]:
    """The rules of SPEC.md, as shipped with the suite."""
    text = resources.files("logduct_conformance").joinpath("SPEC.md").read_text(encoding="utf-8")
    return [match["id"] for match in _RULE.finditer(text)]


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, config: pytest.Config) -> None:
    results = config.stash.get(_RESULTS, {})
    if not results:
        return
    verdicts = rule_verdicts(results)
    counts: dict[str, int] = defaultdict(int)
    for verdict in verdicts.values():
        counts[verdict] += 1
    failing = sorted(rule for rule, verdict in verdicts.items() if verdict in ("fail", "error"))
    implementation = implementation_of(config)
    terminalreporter.write_line(
        f"logduct conformance of {implementation.name}: " + ", ".join(f"{n} {v}" for v, n in sorted(counts.items()))
        + f" of {len(verdicts)} rules checked" + (f"; failing: {' '.join(failing)}" if failing else ""))
    path = config.getoption("--conformance-report")
    if path is not None:
        write_report(path, implementation.name, results)
        terminalreporter.write_line(f"logduct conformance report: {path}.md, {path}.xml")


def write_report(path: Path, name: str, results: dict[str, list[tuple[str, str]]]) -> None:
    """The per-rule report as Markdown and JUnit XML (a testcase per rule)."""
    verdicts = rule_verdicts(results)
    lines = [f"# logduct conformance: {name}", "", "| rule | verdict | checks |", "|---|---|---|"]
    for rule in spec_rules():
        checks = ", ".join(f"{test} ({outcome})" for test, outcome in results.get(rule, []))
        lines.append(f"| {rule} | {verdicts.get(rule, 'not checked')} | {checks} |")
    Path(f"{path}.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    suite = ElementTree.Element("testsuite", name=f"logduct conformance: {name}", tests=str(len(verdicts)),
                                failures=str(sum(v == "fail" for v in verdicts.values())),
                                errors=str(sum(v == "error" for v in verdicts.values())),
                                skipped=str(sum(v == "not applicable" for v in verdicts.values())))
    for rule, verdict in sorted(verdicts.items()):
        case = ElementTree.SubElement(suite, "testcase", classname="logduct.conformance", name=rule)
        detail = "; ".join(f"{test}: {outcome}" for test, outcome in results[rule])
        if verdict in ("fail", "error"):
            ElementTree.SubElement(case, "failure" if verdict == "fail" else "error", message=detail)
        elif verdict == "not applicable":
            ElementTree.SubElement(case, "skipped", message=detail)
    ElementTree.ElementTree(suite).write(f"{path}.xml", encoding="utf-8", xml_declaration=True)
