"""Which PostgreSQL a command talks to, and how to name it without its password (COL-6).

``collect``, ``query`` and ``tail`` take the first of:

1. ``--dsn DSN``;
2. ``$LOGDUCT_DSN``;
3. libpq's own environment, as psql reads it, when one of ``LIBPQ_VARIABLES`` is set: the DSN is
   then empty and libpq itself reads PGHOST, PGPORT, PGDATABASE, PGUSER, PGPASSWORD, PGSERVICE and
   the rest (a variable that only tunes a connection, such as PGSSLMODE, chooses no server);
4. logduct's embedded PostgreSQL (embedded.py), started for as long as the command runs.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

import psycopg

from .embedded import embedded_dsn
from .sink import safe_dsn

DSN_ENV = "LOGDUCT_DSN"
#: The libpq variables that say which server, database, user or service to use: any one of them set
#: means the user has a PostgreSQL in mind, as psql would.
LIBPQ_VARIABLES = ("PGHOST", "PGHOSTADDR", "PGPORT", "PGDATABASE", "PGUSER", "PGPASSWORD", "PGSERVICE")


@dataclass(frozen=True)
class Choice:
    """A DSN (None: the embedded server) and where it came from, fit to print."""

    dsn: str | None
    described: str


def choose(dsn: str | None, environ: Mapping[str, str]) -> Choice:
    """The database of the order above; no I/O, so that the order is tested on its own."""
    if dsn:
        return Choice(dsn, f"PostgreSQL {_shown(dsn)}")
    if environ.get(DSN_ENV):
        return Choice(environ[DSN_ENV], f"PostgreSQL {_shown(environ[DSN_ENV])} (from ${DSN_ENV})")
    named = [name for name in LIBPQ_VARIABLES if environ.get(name)]
    if named:
        shown = " ".join(f"{name}={'***' if name == 'PGPASSWORD' else environ[name]}" for name in named)
        return Choice("", f"PostgreSQL from libpq's environment ({shown})")
    return Choice(None, "the embedded PostgreSQL")


def _shown(dsn: str) -> str:
    try:
        return safe_dsn(dsn)
    except psycopg.ProgrammingError:  # libpq cannot read it: connecting will say why, without the DSN
        return "(a DSN libpq cannot read)"


@contextlib.contextmanager
def connected_dsn(dsn: str | None) -> Iterator[tuple[str, str]]:
    """(the DSN to connect with, its description) for as long as the command runs."""
    choice = choose(dsn, os.environ)
    if choice.dsn is not None:
        yield choice.dsn, choice.described
        return
    with embedded_dsn() as embedded:
        print(f"logduct: embedded PostgreSQL: psql '{embedded}'", file=sys.stderr, flush=True)
        yield embedded, choice.described
