"""The logduct command, run as a process."""

from __future__ import annotations

import importlib.metadata
import subprocess
from pathlib import Path

from logduct_conformance import load_vectors
from logduct_conformance.oracle import matches_canonical
from logduct_conformance.processes import REFERENCE


def logduct(*args: str, stdin: bytes = b"") -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([*REFERENCE, *args], input=stdin, capture_output=True,
                          timeout=60, check=False)


def test_check_prints_canonical_lines_and_names_each_refused_line() -> None:
    """`logduct check`: valid lines come out canonical, invalid ones are named by line and rule."""
    vectors = load_vectors()
    valid = [v for v in vectors if v.verdict == "accept"]
    invalid = [v for v in vectors if v.verdict == "reject" and v.rules[0] != "ENC-3"]
    lines = [valid[0], invalid[0], valid[1], invalid[1]]
    done = logduct("check", stdin=b"".join(v.line for v in lines))
    assert done.returncode == 1
    assert done.stdout == valid[0].canonical + valid[1].canonical
    errors = done.stderr.decode().splitlines()
    assert [e.split(":")[0:3] for e in errors] == [["logduct", " line 2", f" {invalid[0].rules[0]}"],
                                                    ["logduct", " line 4", f" {invalid[1].rules[0]}"]]


def test_check_exits_zero_when_every_line_is_valid() -> None:
    """`logduct check` exits 0 and prints nothing on stderr for valid input."""
    valid = [v for v in load_vectors() if v.verdict == "accept"]
    done = logduct("check", stdin=b"".join(v.line for v in valid))
    assert (done.returncode, done.stderr) == (0, b"")
    printed = done.stdout.splitlines(keepends=True)
    assert len(printed) == len(valid)
    for line, vector in zip(printed, valid, strict=True):  # ENC-5 item 7 leaves float spellings open
        assert matches_canonical(line, vector.canonical or b""), vector.name


def test_a_malformed_or_unreachable_dsn_is_one_line_and_exit_status_2(tmp_path: Path) -> None:
    """COL-6, COL-9: a DSN that cannot be used at start is the operator's to fix: one line, status 2,
    no traceback, no password."""
    for dsn in ("not a dsn", "postgresql://me:s3cret@127.0.0.1:1/db?connect_timeout=5"):
        done = logduct("collect", "--fifo", str(tmp_path / "f.fifo"), "--dsn", dsn)
        errors = done.stderr.decode()
        assert done.returncode == 2, errors
        assert errors.count("\n") == 1 and errors.startswith("logduct: cannot reach PostgreSQL")
        assert "Traceback" not in errors and "s3cret" not in errors


def test_version_prints_the_installed_package_version() -> None:
    done = logduct("--version")
    assert (done.returncode, done.stdout.decode()) == (0, f"logduct {importlib.metadata.version('logduct')}\n")
