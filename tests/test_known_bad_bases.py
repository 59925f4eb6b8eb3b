"""The conforming programs the known-bad ones are built on pass the suite: a known-bad program then fails
by its one fault, the method it overrides, and not by its base (conformance/known-bad/). And every
known-bad program stands on its own (issue 12): it depends on nothing but the standard library, pyzmq,
psycopg and its base."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest
from test_conformance import KNOWN_BAD, MANIFEST, run_suite

from logduct_conformance.plugin import REFERENCE_COMMAND

#: The rules an emitter alone is checked on, with every feature conforming_emitter.py offers.
EMITTER_RULES = {"ENC-4", "ENC-5", "EMIT-1", "EMIT-2", "EMIT-4", "FIFO-2", "FIFO-3", "FIFO-4", "FIFO-5", "ZMQ-2",
                 "ZMQ-3", "ZMQ-5", "ZMQ-7", "ZMQ-13", "ZMQ-14", "ZMQ-15", "CLI-2"}
CONFORMING_EMITTER = f"{sys.executable} {KNOWN_BAD / 'conforming_emitter.py'}"


@pytest.mark.known_bad
def test_the_conforming_emitter_passes_every_emitter_check(tmp_path: Path) -> None:
    """conforming_emitter.py, the suite playing the collector: no rule fails, every emitter rule passes."""
    status, verdicts, output = run_suite(tmp_path, "--emitter", CONFORMING_EMITTER,
                                         "--features", "fifo,zmq,zmq-acks,zmq-identity,portable")
    assert status == 0, output[-3000:]
    assert [rule for rule, verdict in verdicts.items() if verdict in ("fail", "error")] == []
    assert {rule for rule, verdict in verdicts.items() if verdict == "pass"} >= EMITTER_RULES


@pytest.mark.known_bad
def test_the_conforming_emitter_loses_nothing_to_a_collector_killed_twice(tmp_path: Path) -> None:
    """conforming_emitter.py beside the reference's collector, SIGKILLed twice under load: the emitter's
    lost-connection path (ZMQ-15) sends again what the dead collector held; nothing is lost or doubled."""
    status, verdicts, output = run_suite(tmp_path, "--emitter", CONFORMING_EMITTER, "--collector", REFERENCE_COMMAND,
                                         "--features", "zmq,zmq-acks,postgres", "-k", "killed_twice")
    assert status == 0, output[-3000:]
    assert verdicts["ZMQ-5"] == verdicts["CLI-2"] == "pass", output[-3000:]


#: What a known-bad program may import: the standard library, pyzmq, psycopg, and the bases beside it.
ALLOWED_IMPORTS = {"zmq", "psycopg"} | {path.stem for path in KNOWN_BAD.glob("conforming_*.py")}


def imported_modules(path: Path) -> set[str]:
    """The top-level name of every module ``path`` imports, with import statements or importlib."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module)
        elif isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant):
            called = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
            if called in ("import_module", "__import__") and isinstance(node.args[0].value, str):
                found.add(node.args[0].value)
    return {name.split(".")[0] for name in found}


def test_no_known_bad_program_imports_anything_but_the_stdlib_pyzmq_psycopg_and_its_base() -> None:
    """Static: no program in known-bad/ imports the reference (logduct) or any other package."""
    programs = sorted(KNOWN_BAD.glob("*.py"))
    assert len(programs) > 30
    outside = {f"{path.name}: {name}" for path in programs for name in imported_modules(path)
               if name not in sys.stdlib_module_names and name not in ALLOWED_IMPORTS}
    assert outside == set()


def test_the_import_scan_sees_the_reference(tmp_path: Path) -> None:
    """The scan above can fail: each way of importing logduct is seen."""
    sample = tmp_path / "sample.py"
    sample.write_text("import logduct\nfrom logduct.cli import main\nimport importlib\n"
                      "importlib.import_module('logduct.fifo')\nimport os, zmq\n"
                      "from conforming_collector import main\n")
    assert imported_modules(sample) == {"logduct", "importlib", "os", "zmq", "conforming_collector"}
    assert imported_modules(sample) - sys.stdlib_module_names - ALLOWED_IMPORTS == {"logduct"}


@pytest.mark.parametrize("bad", [bad for bad in MANIFEST if bad["side"] == "collector"],
                         ids=lambda bad: bad["name"])
def test_each_known_bad_collector_names_its_fault_and_rule_first(bad: dict[str, str]) -> None:
    """A collector's docstring begins "Fault: " and names, as "(breaks ...)", the first rule it is expected
    to fail: the file says what breaking that rule looks like before any code."""
    docstring = ast.get_docstring(ast.parse((KNOWN_BAD / f"{bad['name']}.py").read_text(encoding="utf-8")))
    assert docstring is not None and docstring.startswith("Fault: ")
    breaks = docstring.split("\n\n")[0].rsplit("(breaks ", 1)[-1]
    assert bad["expect"][0] in breaks, f"the first paragraph names {breaks!r}, not {bad['expect'][0]}"


@pytest.mark.known_bad
def test_the_conforming_collector_passes_every_collector_check(tmp_path: Path) -> None:
    """conforming_collector.py, the base of the one-fault collectors, against the whole suite with every
    feature a collector can declare: no rule fails, and most are checked."""
    command = f"{sys.executable} {KNOWN_BAD / 'conforming_collector.py'}"
    status, verdicts, output = run_suite(tmp_path, "--collector", command, "--features",
                                         "fifo,zmq,zmq-acks,postgres,stdout")
    assert status == 0, output[-3000:]
    assert [rule for rule, verdict in verdicts.items() if verdict in ("fail", "error")] == []
    assert sum(verdict == "pass" for verdict in verdicts.values()) >= 40, verdicts
