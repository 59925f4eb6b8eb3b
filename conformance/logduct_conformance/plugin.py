"""The conformance suite as a pytest plugin: which implementation, which rules, and the report.

    pytest --pyargs logduct_conformance --emitter "CMD" --collector "CMD" --features fifo,zmq,...

pytest loads this plugin only for a run that names the suite, as above, or asks for it with
``-p logduct_conformance.plugin`` (see logduct_conformance.pytest_entry): other pytest runs on the
machine get none of its options, fixtures or report lines.

An implementation is checked through its command line (SPEC.md section 9): ``CMD emit --fifo PATH``,
``CMD collect --fifo PATH --dsn DSN`` and so on. Either command may be left out: the checks of the
other side still run, the suite itself playing the missing peer, and the checks that need both
report "not applicable". Without either option the reference is checked.

Every check names the rules it checks (``@pytest.mark.rules("FIFO-2")``) and what it needs
(``@pytest.mark.needs("emitter", "fifo")``). A check whose needs are not declared is skipped as not
applicable, never failed. The report names the suite's and SPEC.md's versions and has a row per
rule of SPEC.md: pass, fail, error, known failure, not applicable (with the feature it needs), not
checkable (SPEC.md's appendix says why), or not checked. Each failing rule is followed by its text
and what each failing check saw, so that a red verdict can be fixed without reading the suite.
"""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from collections import defaultdict
from collections.abc import Generator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from importlib import metadata, resources
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
    "zmq-identity": "`emit --zmq ENDPOINT --identity ID`: a routing identity the emitter sets (ZMQ-2, a MAY)",
    "postgres": "`collect --dsn DSN`",
    "stdout": "`collect --stdout`",
    "sink": "postgres or stdout (derived: a collector check needs one of them to look at)",
}
REFERENCE_COMMAND = shlex.join(REFERENCE)
_NOT_APPLICABLE = "not applicable: "
# The checks run on a real PostgreSQL; its fixtures come with the suite.
pytest_plugins = ["logduct_conformance.postgres"]
_RULE = re.compile(r"^- \*\*(?P<id>[A-Z]+-\d+)\*\* (?P<text>.*(?:\n  .*)*)", re.MULTILINE)
_REVISION = re.compile(r"^- \*\*(?P<revision>\d+\.\d+)\*\* ", re.MULTILINE)
_NOT_CHECKABLE = re.compile(r"^- (?P<ids>(?:\*\*[A-Z]+-\d+\*\*(?:, )?)+): (?P<why>.*(?:\n  .*)*)", re.MULTILINE)
#: How much of a failing check's message the report keeps.
_DETAIL_CHARS = 2_000


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
    group.addoption("--beside-cpu-hogs", metavar="N", type=int, default=0,
                    help="run beside N CPU-bound processes: a busy machine, where a check must give the "
                         "verdict it gives on an idle one")


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
    config.stash[_DETAILS] = {}


_HOGS = pytest.StashKey[list[subprocess.Popen[bytes]]]()


def pytest_sessionstart(session: pytest.Session) -> None:
    session.config.stash[_HOGS] = [subprocess.Popen([sys.executable, "-c", "while 1: pass"])
                                   for _ in range(session.config.getoption("--beside-cpu-hogs"))]


def pytest_sessionfinish(session: pytest.Session) -> None:
    for hog in session.config.stash.get(_HOGS, []):
        hog.kill()
        hog.wait()


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


class RuleVerdicts:
    """Verdicts per rule inside one check, for a check that probes several rules or many inputs.

        with by_rule.check("REC-5", "vector time-no-offset"):
            assert ...

    A failing block fails only its rule, and the check goes on to its next block; at its end the
    check fails, naming every block that failed, and the report fails only those blocks' rules.
    Without such blocks, a check's failure fails every rule it names, since it cannot say which.
    """

    def __init__(self, declared: list[str]) -> None:
        self.declared = declared
        self.failed: dict[str, list[str]] = {}

    @contextmanager
    def check(self, rule: str, what: str = "") -> Iterator[None]:
        if rule not in self.declared:
            raise pytest.UsageError(f"a block checks {rule}, which its check does not name in @pytest.mark.rules")
        try:
            yield
        except AssertionError as error:
            self.failed.setdefault(rule, []).append(f"{what or rule}: {error}")

    def summary(self) -> str:
        return "\n".join(f"{rule} fails: {failure}" for rule, failures in self.failed.items() for failure in failures)


_VERDICTS = pytest.StashKey[RuleVerdicts]()
_FAILED_IN_BLOCKS = pytest.StashKey[bool]()


@pytest.fixture
def by_rule(request: pytest.FixtureRequest) -> RuleVerdicts:
    """Per-rule verdicts for the check that asks for it (RuleVerdicts)."""
    verdicts = RuleVerdicts(_marker_args(request.node, "rules"))
    request.node.stash[_VERDICTS] = verdicts
    return verdicts


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, None, None]:
    yield  # a failure outside the blocks propagates from here, and fails every rule of the check
    verdicts = item.stash.get(_VERDICTS, None)
    if verdicts is not None and verdicts.failed:
        item.stash[_FAILED_IN_BLOCKS] = True
        raise AssertionError(verdicts.summary())


_RESULTS = pytest.StashKey[dict[str, list[tuple[str, str]]]]()
_DETAILS = pytest.StashKey[dict[str, str]]()  # a failing or skipped check's message, by its name


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
        if outcome == "not applicable":
            item.config.stash[_DETAILS][item.name] = reason[reason.index(_NOT_APPLICABLE) + len(_NOT_APPLICABLE):]
        elif outcome in ("fail", "error"):
            item.config.stash[_DETAILS][item.name] = report.longreprtext[-_DETAIL_CHARS:]
        blocks = item.stash.get(_VERDICTS, None) if item.stash.get(_FAILED_IN_BLOCKS, False) else None
        for rule in _marker_args(item, "rules"):
            # Failed only in per-rule blocks: the other rules of the check passed.
            ruled = outcome if blocks is None or rule in blocks.failed else "pass"
            item.config.stash[_RESULTS][rule].append((item.name, ruled))
        if blocks is not None:
            item.config.stash[_DETAILS][item.name] = blocks.summary()[-_DETAIL_CHARS:]
    return report


def rule_verdicts(results: dict[str, list[tuple[str, str]]]) -> dict[str, str]:
    """One verdict a rule: fail beats error beats known failure beats pass beats not applicable."""
    order = ["fail", "error", "known failure", "pass", "not applicable"]
    return {rule: min((outcome for _, outcome in outcomes), key=order.index) for rule, outcomes in results.items()}


def _spec_text() -> str:
    return resources.files("logduct_conformance").joinpath("SPEC.md").read_text(encoding="utf-8")


def spec_rules() -> list[str]:
    """The rules of SPEC.md, as shipped with the suite."""
    return [match["id"] for match in _RULE.finditer(_spec_text())]


def spec_rule_texts() -> dict[str, str]:
    """Each rule's sentence(s), as SPEC.md states them, on one line."""
    return {match["id"]: " ".join(match["text"].split()) for match in _RULE.finditer(_spec_text())}


def spec_version() -> str:
    """``1`` and the latest revision of SPEC.md's appendix, e.g. ``1 (revision 1.2)``."""
    revisions = [match["revision"] for match in _REVISION.finditer(_spec_text())]
    return f"1 (revision {revisions[-1]})" if revisions else "1"


def not_checkable() -> dict[str, str]:
    """The rules SPEC.md's appendix says no check can observe from outside, and why."""
    text = _spec_text()
    appendix = text[text.index("## Appendix: what the conformance suite cannot check"):]
    appendix = appendix[:appendix.index("\n## ", 1)]
    return {rule: " ".join(match["why"].split()) for match in _NOT_CHECKABLE.finditer(appendix)
            for rule in re.findall(r"[A-Z]+-\d+", match["ids"])}


def suite_version() -> str:
    try:
        return metadata.version("logduct")
    except metadata.PackageNotFoundError:  # run from a checkout that is not installed
        return "unknown"


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
        write_report(path, implementation.name, results, config.stash.get(_DETAILS, {}))
        terminalreporter.write_line(f"logduct conformance report: {path}.md, {path}.xml")


def write_report(path: Path, name: str, results: dict[str, list[tuple[str, str]]],
                 details: dict[str, str] | None = None) -> None:
    """The per-rule report as Markdown and JUnit XML (a testcase per rule)."""
    details = details or {}
    verdicts = rule_verdicts(results)
    unobservable = not_checkable()
    texts = spec_rule_texts()
    lines = [f"# logduct conformance: {name}", "",
             f"Suite {suite_version()}, SPEC.md version {spec_version()}.", "",
             "| rule | verdict | checks |", "|---|---|---|"]
    for rule in spec_rules():
        checks = ", ".join(f"{test} ({outcome}{': ' + details[test] if outcome == 'not applicable' else ''})"
                           for test, outcome in results.get(rule, []))
        verdict = verdicts.get(rule, "not checkable" if rule in unobservable else "not checked")
        lines.append(f"| {rule} | {verdict} | {checks or unobservable.get(rule, '')} |")
    failing = [rule for rule in spec_rules() if verdicts.get(rule) in ("fail", "error")]
    if failing:
        lines += ["", "## What failed", ""]
    for rule in failing:
        lines += [f"### {rule}", "", f"> {texts[rule]}", ""]
        for test, outcome in results[rule]:
            if outcome in ("fail", "error"):
                lines += [f"{test} ({outcome}):", "", "```", details.get(test, "").strip(), "```", ""]
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
