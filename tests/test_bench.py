"""bench/ runs: the quick mode, end to end, against a real PostgreSQL. No figure is asserted on:
speed is the benchmark's to report, not a test's to time."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from bench.report import FIGURES, TARGETS

ROOT = Path(__file__).resolve().parent.parent


def test_quick_run_measures_everything_and_writes_json_and_chart(pg_dsn: str, tmp_path: Path) -> None:
    """`python -m bench --quick` runs every measure, stores every record it sends, and writes its figures,
    the targets' verdicts and a PNG chart."""
    run = subprocess.run([sys.executable, "-m", "bench", "--quick", "--dsn", pg_dsn, "--out", str(tmp_path)],
                         cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr
    results = json.loads((tmp_path / "quick.json").read_text())
    figures = results["figures"]
    assert set(FIGURES) == set(figures)  # the database is local here: its CPU figures too
    assert all(value > 0 for key, value in figures.items() if not key.endswith("_percent"))
    assert all(value >= 0 for key, value in figures.items() if key.endswith("_percent"))
    assert [t["target"] for t in results["targets"]] == [t.label for t in TARGETS]
    assert all(isinstance(t["met"], bool) for t in results["targets"])
    assert results["machine"]["postgresql"] and results["machine"]["cores"]
    assert (tmp_path / "quick.png").read_bytes().startswith(b"\x89PNG")
    assert "FIFO end to end / COPY limit" in run.stdout
