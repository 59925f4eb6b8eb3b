"""pytest-docker, told where the suite's PostgreSQL comes from: this package's compose.yml, its
``postgres`` service alone, on a port Docker picks, removed with its volume when the run ends.

pytest-docker's own fixtures do the work (``docker_services``, ``docker_ip``); this module only
overrides the three that say what to run. A plugin's fixture overrides another plugin's only if it
is registered later, and ``-p logduct_conformance.plugin`` registers the suite before the installed
plugins, pytest-docker among them. So logduct_conformance.postgres registers this module from its
``pytest_configure``, when every plugin of the command line and of the environment is in.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

#: The compose file the suite's PostgreSQL is started from: shipped with the package, so that an
#: installed suite finds it wherever it runs.
COMPOSE_FILE = Path(__file__).with_name("compose.yml")
SERVICE = "postgres"
CONTAINER_PORT = 5432
#: The DSN compose.yml's environment makes; the host and port are pytest-docker's answers.
DSN = "postgresql://logduct:logduct@{host}:{port}/logduct"
#: A probe that has not answered by then is taken for no: the embedded server is there instead.
_PROBE_TIMEOUT_S = 60


def compose_answers() -> bool:
    """True when ``docker compose`` can start a container here: the compose plugin is installed
    (``docker compose version``, what pytest-docker runs) and an engine answers (``docker info``).
    Either alone is not enough: a client can lack the plugin, and a plugin can lack an engine."""
    if shutil.which("docker") is None:
        return False
    for probe in (["docker", "compose", "version"], ["docker", "info"]):
        try:
            done = subprocess.run(probe, capture_output=True, timeout=_PROBE_TIMEOUT_S, check=False)
        except (OSError, subprocess.TimeoutExpired):
            return False
        if done.returncode != 0:
            return False
    return True


@pytest.fixture(scope="session")
def docker_compose_file() -> str:
    """pytest-docker: the suite's compose file, not ``tests/docker-compose.yml`` of the root."""
    return str(COMPOSE_FILE)


@pytest.fixture(scope="session")
def docker_setup() -> list[str]:
    """pytest-docker: the database alone, started and healthy before the first test."""
    return [f"up -d --wait {SERVICE}"]


@pytest.fixture(scope="session")
def docker_cleanup() -> list[str]:
    """pytest-docker: the container and its volume go when the run ends."""
    return ["down -v"]
