"""The suite's pytest plugin has manners: installed, it is in every pytest run on the machine, and it
touches only the runs that ask for it (logduct_conformance.pytest_entry)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from logduct_conformance import pytest_entry

# What the plugin adds, and what would show that it had joined a run.
OURS = ("--emitter", "--collector", "--features", "--test-dsn", "--conformance-report", "logduct:",
        "logduct_conformance", "pg_dsn", "by_rule")


def pytest_in(cwd: Path, *args: str) -> str:
    """pytest's output for ``args``, run in ``cwd`` as a user would, with no DSN or options of ours."""
    env = {key: value for key, value in os.environ.items() if key not in ("LOGDUCT_TEST_DSN", "PYTEST_ADDOPTS")}
    done = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return done.stdout + done.stderr


@pytest.fixture
def unrelated_project(tmp_path: Path) -> Path:
    """A project of someone else's that uses pytest-docker and knows nothing of logduct."""
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "unrelated"\nversion = "1"\n')
    (tmp_path / "test_theirs.py").write_text(
        "import os\n\n"
        "def test_pytest_docker_keeps_its_default_compose_file(docker_compose_file, pytestconfig):\n"
        "    assert docker_compose_file == os.path.join(str(pytestconfig.rootdir), 'tests', 'docker-compose.yml')\n\n"
        "def test_pytest_docker_keeps_its_default_setup(docker_setup):\n"
        "    assert docker_setup == ['up --build --wait']\n")
    return tmp_path


def test_an_unrelated_project_sees_nothing_of_logduct(unrelated_project: Path) -> None:
    """No option in --help, no fixture in --fixtures, no header or summary line in a run; and
    pytest-docker's fixtures are pytest-docker's."""
    outputs = {args: pytest_in(unrelated_project, *args) for args in [("--help",), ("--fixtures",), ("-v",)]}
    assert "2 passed" in outputs[("-v",)]
    assert "docker_compose_file" in outputs[("--fixtures",)]  # pytest-docker's is listed: the check can see one
    for args, output in outputs.items():
        found = [word for word in OURS if word in output]
        assert not found, f"pytest {' '.join(args)} shows {found}"


def test_a_run_that_names_the_suite_gets_its_options_and_fixtures(tmp_path: Path) -> None:
    """--pyargs logduct_conformance (or a module of it), or a path inside it: the plugin is there."""
    suite = Path(pytest_entry.__file__).parent
    for args in [("--pyargs", "logduct_conformance"), ("--pyargs", "logduct_conformance.checks.test_zmq"),
                 (str(suite / "checks" / "test_zmq.py"),)]:
        assert "--emitter=CMD" in pytest_in(tmp_path, *args, "--help"), args
        output = pytest_in(tmp_path, *args, "--fixtures")
        assert "pg_dsn" in output and "logduct_conformance/compose.py" in output, args


def test_any_run_can_ask_for_the_plugin_by_name(unrelated_project: Path) -> None:
    """-p logduct_conformance.plugin: the options, and the suite's compose file over pytest-docker's,
    though -p registers the plugin before pytest-docker is loaded."""
    assert "--conformance-report=PATH" in pytest_in(unrelated_project, "-p", "logduct_conformance.plugin", "--help")
    (unrelated_project / "test_theirs.py").write_text(
        "from logduct_conformance import compose\n\n"
        "def test_the_suite_overrides_pytest_docker(docker_compose_file, docker_cleanup):\n"
        "    assert (docker_compose_file, docker_cleanup) == (str(compose.COMPOSE_FILE), ['down -v'])\n")
    assert "1 passed" in pytest_in(unrelated_project, "-p", "logduct_conformance.plugin")


@pytest.mark.parametrize(("args", "pyargs", "names"), [
    (["logduct_conformance"], True, True),
    (["logduct_conformance.checks.test_zmq::test_x"], True, True),
    (["logduct_conformance_extras"], True, False),  # another package, though its name starts the same
    (["logduct_conformance"], False, False),  # without --pyargs, a path: none by that name here
    (["tests", "-k", "x"], True, False),
    ([str(pytest_entry.SUITE)], False, True),
    ([str(pytest_entry.SUITE / "checks" / "test_zmq.py") + "::test_x"], False, True),
    ([str(pytest_entry.SUITE.parent)], False, False),  # a folder that holds the suite does not name it
])
def test_what_names_the_suite(tmp_path: Path, args: list[str], pyargs: bool, names: bool) -> None:
    assert pytest_entry.names_suite(args, pyargs, tmp_path) is names
