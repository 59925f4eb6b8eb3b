"""logduct_conformance: checks an implementation of the logduct protocol against SPEC.md.

Ships the machine-readable contract (``record.schema.json``, ``vectors/``), Hypothesis strategies
for records, and the PostgreSQL fixtures the checks run on.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib import resources
from typing import Any

__all__ = ["Vector", "load_schema", "load_vectors"]


@dataclass(frozen=True, kw_only=True)
class Vector:
    """One test vector: the exact bytes of a line and what an implementation must do with them."""

    name: str
    line: bytes
    verdict: str  # "accept" or "reject"
    rules: tuple[str, ...]  # for "reject", exactly the one rule broken
    canonical: bytes | None  # for "accept": the canonical line (ENC-5)
    description: str


def load_schema() -> dict[str, Any]:
    """The JSON Schema (2020-12) of a record."""
    schema: dict[str, Any] = json.loads(_files().joinpath("record.schema.json").read_text(encoding="utf-8"))
    return schema


def load_vectors() -> list[Vector]:
    """Every vector of vectors/manifest.json, in manifest order."""
    folder = _files().joinpath("vectors")
    manifest = json.loads(folder.joinpath("manifest.json").read_text(encoding="utf-8"))
    return [
        Vector(
            name=entry["name"],
            line=folder.joinpath(entry["input"]).read_bytes(),
            verdict=entry["verdict"],
            rules=tuple(entry["rules"]) if entry["verdict"] == "accept" else (entry["rule"],),
            canonical=folder.joinpath(entry["canonical"]).read_bytes() if "canonical" in entry else None,
            description=entry.get("description") or entry["fault"],
        )
        for entry in manifest["vectors"]
    ]


def _files() -> Any:
    return resources.files("logduct_conformance")
