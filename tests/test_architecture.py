"""The layers of docs/architecture.md hold: a pure core, thin transports, programs at the edge."""

from __future__ import annotations

import ast
import re
import subprocess
import sys

from spec_ids import ROOT

PACKAGE = ROOT / "reference" / "logduct"
PAGE = ROOT / "docs" / "architecture.md"
CORE = {"errors", "record", "rfc3339", "framing", "delivery", "quarantine", "source", "batching", "sending",
        "copy_format"}
TRANSPORTS = {"fifo", "zmq_transport", "readiness"}
#: What the core never imports: I/O, processes, the transports' libraries.
NOT_IN_CORE = {"os", "socket", "select", "selectors", "fcntl", "subprocess", "asyncio", "zmq", "psycopg"}


def imports(module: str) -> tuple[set[str], set[str]]:
    """(top-level packages imported, sibling logduct modules imported) by ``module``."""
    tree = ast.parse((PACKAGE / f"{module}.py").read_text(encoding="utf-8"))
    absolute: set[str] = set()
    siblings: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            absolute |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                siblings |= {node.module.split(".")[0]} if node.module else {a.name for a in node.names}
            elif node.module and node.module != "__future__":
                absolute.add(node.module.split(".")[0])
    return absolute, siblings


def test_the_core_does_no_io_and_imports_only_the_core() -> None:
    for module in sorted(CORE):
        absolute, siblings = imports(module)
        assert absolute & NOT_IN_CORE == set(), module
        assert siblings <= CORE, (module, siblings - CORE)


def test_transports_import_only_the_core() -> None:
    for module in sorted(TRANSPORTS):
        _, siblings = imports(module)
        assert siblings <= CORE, (module, siblings - CORE)


def test_the_collector_knows_no_transport() -> None:
    """No isinstance, no name of a transport, no transport library: it sees only Sources."""
    tree = ast.parse((PACKAGE / "collector.py").read_text(encoding="utf-8"))
    names = {node.id for node in ast.walk(tree) if isinstance(node, ast.Name)}
    names |= {node.attr for node in ast.walk(tree) if isinstance(node, ast.Attribute)}
    assert "isinstance" not in names
    assert [name for name in names if re.search("fifo|zmq", name, re.IGNORECASE)] == []
    absolute, siblings = imports("collector")
    assert absolute & {"zmq", "psycopg"} == set()
    assert siblings & {"fifo", "zmq_transport", "sink"} == set()


def test_importing_a_record_imports_no_transport_or_database() -> None:
    """The promise to anyone who only validates records: ``import logduct.record`` is light."""
    code = "import sys, logduct.record; print(sorted({m.split('.')[0] for m in sys.modules} & {'zmq', 'psycopg'}))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    assert done.stdout.strip() == "[]"


def layer_on_page(layer: str) -> set[str]:
    """The modules of one row of the page's layer table."""
    [row] = [line for line in PAGE.read_text(encoding="utf-8").splitlines() if line.startswith(f"| **{layer}**")]
    return set(re.findall(r"`(\w+)\.py`", row))


def test_the_architecture_page_places_every_module_in_its_layer() -> None:
    """The page is the map: every module in one layer, as these tests check them, and no module
    named anywhere on it that does not exist."""
    modules = {path.stem for path in PACKAGE.glob("*.py")} - {"__init__", "__main__"}
    assert set(re.findall(r"`(\w+)\.py`", PAGE.read_text(encoding="utf-8"))) <= modules
    assert layer_on_page("core") == CORE
    assert layer_on_page("transports") == TRANSPORTS
    assert layer_on_page("programs") == modules - CORE - TRANSPORTS
