"""The conformance suite shares no code with the reference it judges (issue 12): what an emitter must
send and a collector must store comes from the suite's own oracle, written from SPEC.md, so that a
fault of the reference is caught rather than required of every implementation."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

from logduct_conformance.seed import seed_queries

ROOT = Path(__file__).resolve().parents[1]
SUITE = ROOT / "conformance" / "logduct_conformance"


def _is_reference(module: str) -> bool:
    return module == "logduct" or module.startswith("logduct.")


def _reference_imports(path: Path, root: Path = ROOT) -> list[str]:
    """Each place in ``path`` that imports the reference: import statements, and import_module or
    __import__ called with a literal name."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        elif isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant):
            called = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
            if called in ("import_module", "__import__") and isinstance(node.args[0].value, str):
                names = [node.args[0].value]
        found += [f"{path.relative_to(root)}:{node.lineno}: {name}" for name in names if _is_reference(name)]
    return found


def test_no_module_of_the_suite_imports_the_reference() -> None:
    """Static: no module under conformance/logduct_conformance names logduct in an import."""
    modules = sorted(SUITE.rglob("*.py"))
    assert len(modules) > 10
    assert [place for path in modules for place in _reference_imports(path)] == []


def test_the_static_scan_sees_an_import_of_the_reference(tmp_path: Path) -> None:
    """The scan above can fail: each way of importing the reference is seen, and the suite's own name is not."""
    sample = tmp_path / "sample.py"
    sample.write_text("import logduct\nfrom logduct.record import encode\nimport logduct.delivery as d\n"
                      "import importlib\nimportlib.import_module('logduct.fifo')\n"
                      "from logduct_conformance import oracle\nimport logduct_conformance.peers\n")
    found = [place.rsplit(": ", 1)[1] for place in _reference_imports(sample, root=tmp_path)]
    assert found == ["logduct", "logduct.record", "logduct.delivery", "logduct.fifo"]


_IMPORT_ALL = """
import importlib, json, pkgutil, sys
import logduct_conformance
names = ["logduct_conformance"]
for info in pkgutil.walk_packages(logduct_conformance.__path__, "logduct_conformance."):
    importlib.import_module(info.name)
    names.append(info.name)
print(json.dumps({"imported": names,
                  "reference": sorted(m for m in sys.modules if m == "logduct" or m.startswith("logduct."))}))
"""


def test_importing_every_module_of_the_suite_loads_nothing_of_the_reference() -> None:
    """Dynamic: a fresh interpreter imports the suite and every module in it, its checks included, and
    not one module of logduct is loaded."""
    done = subprocess.run([sys.executable, "-c", _IMPORT_ALL], capture_output=True, text=True, timeout=120,
                          check=True, cwd=ROOT)
    result = json.loads(done.stdout)
    assert {"logduct_conformance.oracle", "logduct_conformance.checks.test_zmq",
            "logduct_conformance.peers"} <= set(result["imported"])
    assert result["reference"] == []


def test_the_suites_copy_of_the_seed_queries_is_the_seeds() -> None:
    """PG-1's check runs the seed's queries from the suite's own copy; it must be sql/queries.sql."""
    assert (SUITE / "seed_queries.sql").read_bytes() == (ROOT / "sql" / "queries.sql").read_bytes()
    assert list(seed_queries()) == ["latest", "by_trace_id", "by_host_ip", "login_errors", "with_traceback"]
