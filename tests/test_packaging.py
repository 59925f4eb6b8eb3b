"""docker-compose.yml, the Dockerfile, tox.ini, .ci/run and README.md keep their promises.

No Docker engine runs where these tests run, so the compose file is checked for structure; the
live path runs wherever an engine answers (the PostgreSQL fixture uses its postgres service).
"""

from __future__ import annotations

import configparser
import re
from pathlib import Path
from typing import Any

import yaml
from psycopg.conninfo import conninfo_to_dict

ROOT = Path(__file__).resolve().parents[1]
COMPOSE: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SERVICES: dict[str, Any] = COMPOSE["services"]


def command_of(service: dict[str, Any]) -> list[str]:
    return [*service.get("entrypoint", []), *service.get("command", [])]


def test_postgres_service_is_official_image_with_healthcheck() -> None:
    """The postgres service runs the official image and says when it is ready."""
    postgres = SERVICES["postgres"]
    assert re.fullmatch(r"postgres:\d+", postgres["image"])
    assert "pg_isready" in " ".join(postgres["healthcheck"]["test"])


def test_published_ports_are_on_loopback() -> None:
    """Security: nothing is published beyond 127.0.0.1."""
    for name, service in SERVICES.items():
        for port in service.get("ports", []):
            assert str(port).startswith("127.0.0.1:"), (name, port)


def test_collector_is_built_here_and_waits_for_a_healthy_database() -> None:
    """The collector image comes from this repository and starts once PostgreSQL is healthy."""
    collector = SERVICES["collector"]
    assert (ROOT / collector["build"] / "Dockerfile").is_file()
    assert collector["depends_on"]["postgres"]["condition"] == "service_healthy"
    command = command_of(collector)
    assert command[0] == "collect" and "--dsn" in command


def test_collector_dsn_matches_the_postgres_service() -> None:
    """The DSN the collector gets is the database the postgres service creates."""
    command = command_of(SERVICES["collector"])
    dsn = conninfo_to_dict(command[command.index("--dsn") + 1])
    env = SERVICES["postgres"]["environment"]
    assert (dsn["host"], dsn["user"], dsn["password"], dsn["dbname"]) == (
        "postgres", env["POSTGRES_USER"], env["POSTGRES_PASSWORD"], env["POSTGRES_DB"])


def test_two_applications_emit_to_the_collector_fifo() -> None:
    """Two emitter services, named after the seed's apps, write to the FIFO the collector reads."""
    collector = command_of(SERVICES["collector"])
    fifo = collector[collector.index("--fifo") + 1]
    apps = {name: s for name, s in SERVICES.items() if name.startswith("app-")}
    assert sorted(apps) == ["app-myapp-123", "app-myapp-456"]
    script = (ROOT / "docker" / "demo-app.sh").read_text()
    assert f"logduct emit --fifo {fifo}" in script
    for service in apps.values():
        assert service["image"] == SERVICES["collector"]["image"]
        assert set(service["volumes"]) >= set(SERVICES["collector"]["volumes"])


def test_dockerfile_installs_the_package_and_runs_as_a_user() -> None:
    """The image installs this project with pip, runs logduct, and not as root."""
    text = (ROOT / "Dockerfile").read_text()
    assert re.search(r"^FROM python:3\.1\d", text, re.MULTILINE)
    assert "pip install --no-cache-dir ." in text
    assert re.search(r"^USER (?!root)\w+", text, re.MULTILINE)
    assert 'ENTRYPOINT ["logduct"]' in text


def test_tox_runs_every_supported_python_lint_type_and_the_busy_suite() -> None:
    """tox.ini lists the four Pythons, ruff, mypy --strict over the three packages, and the suite
    beside two CPU hogs, and never skips an interpreter."""
    tox = configparser.ConfigParser()
    tox.read(ROOT / "tox.ini")
    envs = [e.strip() for e in tox["tox"]["envlist"].split(",")]
    assert envs == ["py310", "py311", "py312", "py313", "known-bad", "lint", "type", "busy"]
    assert "known_bad" in tox["testenv"]["commands"] and "known_bad" in tox["testenv:known-bad"]["commands"]
    assert tox["tox"]["skip_missing_interpreters"] == "false"
    assert "mypy --strict reference/logduct conformance/logduct_conformance bench" in tox["testenv:type"]["commands"]
    assert "--beside-cpu-hogs 2" in tox["testenv:busy"]["commands"]


def readme_commands() -> list[str]:
    quick_start = (ROOT / "README.md").read_text().split("## Quick start", 1)[1].split("\n## ", 1)[0]
    block = re.search(r"```(?:sh|bash|console)?\n(.*?)```", quick_start, re.DOTALL)
    assert block, "README.md's quick start has no code block"
    return [line for line in block.group(1).splitlines() if line.strip() and not line.startswith("#")]


def test_readme_quick_start_is_two_commands_and_ci_runs_the_second() -> None:
    """README: one command installs and runs logduct, one runs the tests; .ci/run runs that one."""
    run, test = readme_commands()
    assert run.startswith("pip install . && logduct ")
    assert test == "pip install tox && tox"
    ci = (ROOT / ".ci" / "run").read_text().splitlines()
    assert test in ci


def test_systemd_unit_restarts_the_collector_on_failure_and_stops_it_with_sigterm() -> None:
    """docs/systemd: a C-level abort in libzmq is answered by a restart; a stop is SIGTERM (COL-4)."""
    unit = configparser.ConfigParser(strict=False, interpolation=None)
    unit.optionxform = str  # type: ignore[assignment,method-assign]
    unit.read(ROOT / "docs" / "systemd" / "logduct-collect.service")
    service = unit["Service"]
    program, command = service["ExecStart"].split()[:2]
    assert (Path(program).name, command) == ("logduct", "collect")
    assert (service["Restart"], service["KillSignal"]) == ("on-failure", "SIGTERM")
    assert float(service["RestartSec"]) >= 1 and unit["Unit"]["StartLimitIntervalSec"] == "0"
    assert service["RuntimeDirectoryMode"] == "0700"
    endpoint = re.search(r"--zmq (\S+)", service["ExecStart"])
    assert endpoint and endpoint[1].startswith("tcp://127.0.0.1:")  # ZMQ-1: loopback


def test_every_python_package_of_the_tree_is_packaged() -> None:
    """A sub-package left out of pyproject's list works from the checkout and is missing once installed."""
    text = (ROOT / "pyproject.toml").read_text()  # read by pattern: tomllib is not in Python 3.10
    listed = set(re.findall(r'"([\w.]+)"', re.search(r"^packages = \[(.*)\]$", text, re.MULTILINE)[1]))  # type: ignore[index]
    package_dir = re.findall(r'"([\w.]+)" = "([\w/]+)"', re.search(r"^package-dir = \{(.*)\}$", text, re.MULTILINE)[1])  # type: ignore[index]
    assert package_dir and listed
    for name, folder in package_dir:
        for init in (ROOT / folder).rglob("__init__.py"):
            relative = init.parent.relative_to(ROOT / folder).parts
            assert ".".join((name, *relative)) in listed, f"{init.parent} is not in [tool.setuptools] packages"
