"""The SQL files of sql/: the schema, and the named statements of examples.sql and queries.sql.

A named statement starts at a line ``-- name: NAME``; the comment lines right after it describe it,
and the statement runs to the next name. One parser serves ``logduct query``, the tests and the
benchmarks, so that they all run the very text a reader sees in sql/.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources

_NAME_LINE = re.compile(r"^-- name: *(?P<name>[a-z0-9_]+) *$", re.MULTILINE)


@dataclass(frozen=True, kw_only=True)
class NamedStatement:
    name: str
    description: str
    sql: str


def read(filename: str) -> str:
    """The text of ``sql/<filename>``, from the installed package."""
    return resources.files("logduct.sql").joinpath(filename).read_text(encoding="utf-8")


def schema() -> str:
    """The schema: every statement idempotent, run at every collector start (PG-5)."""
    return read("schema.sql")


def named_statements(filename: str) -> dict[str, NamedStatement]:
    """The named statements of ``sql/<filename>``, in file order."""
    text = read(filename)
    names = list(_NAME_LINE.finditer(text))
    statements: dict[str, NamedStatement] = {}
    for match, after in zip(names, [*names[1:], None], strict=True):
        body = text[match.end():after.start() if after else len(text)].strip()
        lines = body.splitlines()
        description = [line.removeprefix("--").strip() for line in lines if line.startswith("--")]
        statement = "\n".join(line for line in lines if not line.startswith("--")).strip()
        statements[match["name"]] = NamedStatement(name=match["name"], description=" ".join(description),
                                                   sql=statement)
    return statements
