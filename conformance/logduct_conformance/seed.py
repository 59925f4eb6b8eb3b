"""The seed's queries, which PG-1 says must run unchanged on what a collector stores.

``seed_queries.sql`` is a copy of the repository's sql/queries.sql, kept by the suite so that it
needs nothing of the reference; tests/test_suite_independence.py holds the two the same.
"""

from __future__ import annotations

import re
from importlib import resources

_NAME_LINE = re.compile(r"^-- name: *(?P<name>[a-z0-9_]+) *$", re.MULTILINE)


def seed_queries() -> dict[str, str]:
    """Each query's SQL, by the name its ``-- name: NAME`` line gives it, without its comments."""
    text = resources.files("logduct_conformance").joinpath("seed_queries.sql").read_text(encoding="utf-8")
    names = list(_NAME_LINE.finditer(text))
    ends = [match.start() for match in names[1:]] + [len(text)]
    return {match["name"]: "\n".join(line for line in text[match.end():end].strip().splitlines()
                                     if not line.startswith("--")).strip()
            for match, end in zip(names, ends, strict=True)}
