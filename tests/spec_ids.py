"""The rule IDs of SPEC.md, read from the file itself: the one source of truth."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SPEC = ROOT / "SPEC.md"

#: A rule is defined where its ID opens a list item in bold: "- **REC-5** ...".
DEFINITION = re.compile(r"^- \*\*(?P<id>[A-Z]+-\d+)\*\* ", re.MULTILINE)
#: A rule is cited anywhere its ID appears as a word.
CITATION = re.compile(r"\b(?P<id>(?:REC|ENC|EMIT|FIFO|ZMQ|COL|PG|VER|CLI)-\d+)\b")


def defined_rules() -> list[str]:
    """Every rule ID SPEC.md defines, in document order."""
    return [m["id"] for m in DEFINITION.finditer(SPEC.read_text(encoding="utf-8"))]
