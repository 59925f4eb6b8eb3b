"""The suite's pytest11 entry point: it joins a pytest run only when the run asks for the suite.

pip installs an entry point into every pytest on the machine, in every project. A plugin that adds
options, fixtures or a header line there would change runs that never asked for logduct (its
``pg_dsn`` and pytest-docker overrides most of all). So the entry point is this module, which adds
nothing, and loads the suite's plugin (logduct_conformance.plugin) only when the command line names
the suite:

    pytest --pyargs logduct_conformance ...          # the package, or one of its modules
    pytest /site-packages/logduct_conformance/...    # a path inside the installed suite

Any other run can opt in by name: ``pytest -p logduct_conformance.plugin``. This module is imported
by every pytest run, so it imports nothing heavier than pathlib.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest

PACKAGE = "logduct_conformance"
PLUGIN = "logduct_conformance.plugin"
#: The installed suite: a path argument at or below it names the suite.
SUITE = Path(__file__).resolve().parent


def names_suite(args: Sequence[str], pyargs: bool, invocation_dir: Path) -> bool:
    """True when one of pytest's positional ``args`` is the suite: a module name under ``--pyargs``,
    else a path, with or without a ``::test`` part."""
    for arg in args:
        target = arg.split("::", 1)[0]
        if pyargs and (target == PACKAGE or target.startswith(PACKAGE + ".")):
            return True
        path = (invocation_dir / target).resolve()  # an absolute target replaces invocation_dir
        if path == SUITE or SUITE in path.parents:
            return True
    return False


def pytest_load_initial_conftests(early_config: pytest.Config, parser: pytest.Parser, args: list[str]) -> None:
    # Called after the installed plugins are loaded and before the command line is parsed in full:
    # pytest_addoption is a historic hook, so a plugin registered now still adds its options in time.
    namespace = early_config.known_args_namespace
    if names_suite(namespace.file_or_dir or [], namespace.pyargs, early_config.invocation_params.dir):
        early_config.pluginmanager.import_plugin(PLUGIN)
