"""The coverage matrix: for every rule of SPEC.md, the checks that check it, and the known-bad programs
that prove those checks can fail. ``python -m logduct_conformance.coverage`` prints it as Markdown;
conformance/README.md carries it, and a test keeps the two the same.

Checks are found by their ``@pytest.mark.rules`` marks; known-bad programs by the rules their
manifest entry expects them to fail (conformance/known-bad/manifest.json, in a checkout only).
"""

from __future__ import annotations

import importlib
import json
import pkgutil
import re
from collections import defaultdict
from pathlib import Path

from . import checks
from .plugin import not_checkable, spec_rule_texts, spec_rules

#: A rule's strength, from the first requirement keyword of its text (RFC 2119).
_KEYWORD = re.compile(r"\b(MUST NOT|MUST|SHOULD NOT|SHOULD|MAY)\b")


def checks_by_rule() -> dict[str, list[str]]:
    """Rule ID -> the checks (``module::function``) marked with it."""
    found: dict[str, list[str]] = defaultdict(list)
    for module_info in pkgutil.iter_modules(checks.__path__):
        if not module_info.name.startswith("test_"):
            continue
        module = importlib.import_module(f"{checks.__name__}.{module_info.name}")
        for name, function in sorted(vars(module).items()):
            for mark in getattr(function, "pytestmark", []) if name.startswith("test_") else []:
                if mark.name == "rules":
                    for rule in mark.args:
                        found[rule].append(f"{module_info.name}::{name}")
    return found


def known_bad_by_rule(manifest: Path) -> dict[str, list[str]]:
    """Rule ID -> the known-bad programs expected to fail it."""
    found: dict[str, list[str]] = defaultdict(list)
    for bad in json.loads(manifest.read_text(encoding="utf-8"))["implementations"]:
        for rule in bad["expect"]:
            found[rule].append(bad["name"])
    return found


def strength(text: str) -> str:
    match = _KEYWORD.search(text)
    return match.group() if match else "definition"


def markdown(manifest: Path) -> str:
    """The matrix as a Markdown table, one row per rule of SPEC.md, in its order."""
    by_check, by_bad, unobservable, texts = checks_by_rule(), known_bad_by_rule(manifest), not_checkable(), \
        spec_rule_texts()
    lines = ["| rule | kind | checks | proved by known-bad |", "|---|---|---|---|"]
    for rule in spec_rules():
        if rule in unobservable:
            checked, proved = "not checkable (SPEC.md's appendix says why)", ""
        else:
            checked = "<br>".join(f"`{check}`" for check in by_check.get(rule, [])) or "**none**"
            proved = ", ".join(f"`{bad}`" for bad in by_bad.get(rule, [])) or "**none yet**"
        lines.append(f"| {rule} | {strength(texts[rule])} | {checked} | {proved} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(markdown(Path(__file__).resolve().parents[1] / "known-bad" / "manifest.json"), end="")
