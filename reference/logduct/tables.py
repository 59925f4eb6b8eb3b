"""Query results as psql prints them, for ``logduct query`` and ``logduct demo``."""

from __future__ import annotations

import json


def format_table(headers: list[str], rows: list[tuple[object, ...]], max_width: int = 60,
                 total: int | None = None) -> str:
    """Rows as psql prints them, cells cut at ``max_width`` characters; ``total`` when rows is a part."""
    def cell(value: object) -> str:
        text = "" if value is None else json.dumps(value) if isinstance(value, (dict, list)) else str(value)
        return text if len(text) <= max_width else text[:max_width - 1] + "…"

    cells = [[cell(value) for value in row] for row in rows]
    widths = [max([len(h), *(len(row[i]) for row in cells)]) for i, h in enumerate(headers)]
    lines = [" | ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip(),
             "-+-".join("-" * w for w in widths)]
    lines += [" | ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in cells]
    count = len(rows) if total is None else total
    shown = "" if total is None or total == len(rows) else f"{len(rows)} of "
    lines.append(f"({shown}{count:,} row{'' if count == 1 else 's'})\n")
    return "\n".join(lines)
