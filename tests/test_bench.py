"""bench/ runs: the quick mode, end to end, against a real PostgreSQL. No figure is asserted on:
speed is the benchmark's to report, not a test's to time."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from bench.peers import PEERS, RSYSLOG, SYSLOG_NG_PIPE, database_settings, render
from bench.report import FIGURES, PEER_FIGURES, TARGETS

ROOT = Path(__file__).resolve().parent.parent
#: python -m bench, under bench.orphans: a test run killed outright takes the bench with it, and the
#: bench its own children.
BENCH = [sys.executable, "-m", "bench.orphans", str(os.getpid()), sys.executable, "-m", "bench"]


def test_quick_run_measures_everything_and_writes_json_and_chart(pg_dsn: str, tmp_path: Path) -> None:
    """`python -m bench --quick` runs every measure, stores every record it sends, and writes its figures,
    the targets' verdicts and a PNG chart."""
    run = subprocess.run([*BENCH, "--quick", "--dsn", pg_dsn, "--out", str(tmp_path)],
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


def _without_peers() -> dict[str, str]:
    """The environment with a PATH on which neither rsyslogd nor syslog-ng is found, as on a machine
    where they were never installed (CI's)."""
    path = os.pathsep.join([str(Path(sys.executable).parent), "/usr/bin", "/bin"])
    assert shutil.which("rsyslogd", path=path) is None and shutil.which("syslog-ng", path=path) is None
    return {**os.environ, "PATH": path}


def test_peers_run_without_peers_says_so_and_measures_the_rest(pg_dsn: str, tmp_path: Path) -> None:
    """`--peers` where neither peer is installed names each missing program, measures logduct and the COPY
    limit all the same, and runs what one bad line costs logduct: every good row stored, every bad line
    quarantined with its rule."""
    run = subprocess.run([*BENCH, "--quick", "--peers", "--records", "2000",
                          "--only", "COPY limit", "--only", "logduct FIFO end to end",
                          "--dsn", pg_dsn, "--out", str(tmp_path)],
                         cwd=ROOT, capture_output=True, text=True, timeout=600, env=_without_peers())
    assert run.returncode == 0, run.stderr
    for peer in PEERS:
        assert f"{peer.label}: not measured, no {peer.program} on PATH" in run.stderr
    results = json.loads((tmp_path / "quick-peers.json").read_text())
    assert {"copy_limit", "fifo_end_to_end"} <= set(results["figures"])
    assert not set(PEER_FIGURES) & set(results["figures"])
    assert len(results["notes"]) == len(PEERS)
    outcomes = {o["contender"]: o for o in results["bad_lines"]}
    assert set(outcomes) == {"logduct FIFO", "logduct ZeroMQ"}
    for outcome in outcomes.values():
        assert outcome["good_lost"] == 0 and outcome["good_wrong"] == 0
        assert outcome["bad"] == {"invalid JSON": "quarantined: ENC-2", "invalid UTF-8": "quarantined: ENC-1",
                                  "no time": "quarantined: REC-2", "no host_ip": "quarantined: REC-2"}
    assert "What one bad line costs" in run.stdout and "logduct FIFO" in run.stdout


def _children(pid: int) -> dict[int, str]:
    """The processes whose parent is ``pid``, with their command lines, from /proc."""
    found = {}
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            fields = dict(line.split(":\t", 1) for line in status.read_text().splitlines() if ":\t" in line)
            cmdline = (status.parent / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:  # ended while we looked
            continue
        if fields.get("PPid", "").strip() == str(pid):
            found[int(status.parent.name)] = cmdline
    return found


def _alive(pid: int) -> bool:
    """Running: there and not a zombie (an orphan's zombie waits for PID 1 to reap it, and runs nothing)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def _wait(condition: Callable[[], object], what: str, timeout_s: float = 120) -> None:
    """Until ``condition``; a deadline only so that a broken run fails rather than hangs."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, f"still waiting for {what} after {timeout_s:g} s"
        time.sleep(0.01)


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGKILL], ids=["SIGTERM", "killed-by-timeout"])
def test_a_bench_cut_short_leaves_no_collector_behind(pg_dsn: str, tmp_path: Path, stop: signal.Signals) -> None:
    """A bench run stopped while its collector runs, by SIGTERM or by the SIGKILL that subprocess.run's
    timeout (and pytest-timeout's) sends, leaves none of its children running: not `logduct collect`,
    not an emitter. Four collectors were once found with parent PID 1 after this file's test timed out."""
    bench = subprocess.Popen([*BENCH, "--quick", "--records", "200000",
                              "--only", "logduct FIFO end to end", "--dsn", pg_dsn, "--out", str(tmp_path)],
                             cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        children: dict[int, str] = {}

        def collector_started() -> bool:
            children.update(_children(bench.pid))
            return any("logduct collect" in cmdline for cmdline in children.values())
        _wait(collector_started, "the bench's collector to start")
        bench.send_signal(stop)
        bench.wait(120)
        children.update(_children(bench.pid))  # any started since: the bench is gone, none will be now
        _wait(lambda: not any(map(_alive, children)), "the bench's children to end")
    finally:
        if bench.poll() is None:
            bench.kill()
            bench.wait()
    if stop == signal.SIGTERM:
        assert bench.returncode == 128 + signal.SIGTERM


def test_a_program_the_bench_starts_dies_with_it() -> None:
    """Any program started through bench.processes.spawn, a peer such as rsyslogd as much as a collector,
    is killed by the kernel when the bench process is: here `sleep`, under a parent that is SIGKILLed."""
    parent = subprocess.Popen([sys.executable, "-c", "import subprocess, sys, time\n"
                               "from bench.processes import spawn\n"
                               "print(spawn(['sleep', '600']).pid, flush=True)\n"
                               "time.sleep(600)\n"], cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        assert parent.stdout is not None
        child = int(parent.stdout.readline())
        _wait(lambda: "sleep" in Path(f"/proc/{child}/cmdline").read_bytes().decode(errors="replace"),
              "the launcher to become sleep")
        assert _alive(child)
        parent.kill()
        parent.wait()
        _wait(lambda: not _alive(child), "sleep to be killed with its parent")
    finally:
        if parent.poll() is None:
            parent.kill()
            parent.wait()


def test_peer_configurations_render_whole_and_pass_the_peers_own_check_where_installed(tmp_path: Path) -> None:
    """Every placeholder of bench/peers/*.conf is filled, the password is quoted as both languages
    quote strings, the file is its owner's alone; where a peer is installed, its own configuration
    check accepts the result (the rest of the test runs everywhere)."""
    values = database_settings('host=/run/pg port=5433 dbname=logs user=ingest password=\'p"w\\\\x\'')
    assert values == {"DB_HOST": "/run/pg", "DB_PORT": "5433", "DB_NAME": "logs", "DB_USER": "ingest",
                      "DB_PASSWORD": 'p"w\\x'}
    extra = {"WORK_DIR": str(tmp_path), "PORT": "5514", "WORKERS": "2",
             "SOURCE": f'pipe("{tmp_path / "in.fifo"}" flags(no-parse));'}
    for peer, template in ((RSYSLOG, "rsyslog.conf"), (SYSLOG_NG_PIPE, "syslog-ng.conf")):
        config = tmp_path / template
        render(template, {**values, **extra}, config)
        text = config.read_text()
        assert not re.search(r"@[A-Z_]+@", text)
        assert '"p\\"w\\\\x"' in text
        assert config.stat().st_mode & 0o777 == 0o600
        program, modules = peer.located()
        if program is None:
            continue
        check = ([str(program), "-N1", "-f", str(config), "-M", modules] if peer is RSYSLOG else
                 [str(program), "--syntax-only", "-f", str(config), "--module-path", modules])
        result = subprocess.run(check, capture_output=True, text=True, timeout=60)
        assert result.returncode == 0, result.stdout + result.stderr


def test_a_peer_without_its_database_module_is_named_with_the_package_that_has_it(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An rsyslogd on PATH whose module directory lacks ompgsql.so is not run: the run says which module
    is missing and which Debian package brings it."""
    program = tmp_path / "usr" / "sbin" / "rsyslogd"
    program.parent.mkdir(parents=True)
    program.write_text("#!/bin/sh\nexit 1\n")
    program.chmod(0o755)
    modules = tmp_path / "usr" / "lib" / "x86_64-linux-gnu" / "rsyslog"
    modules.mkdir(parents=True)
    for present in ("imptcp.so", "mmjsonparse.so"):
        (modules / present).touch()
    monkeypatch.setenv("PATH", str(program.parent))
    found, why = RSYSLOG.located()
    assert found is None
    assert why == (f"{RSYSLOG.label}: not measured, {program} found but not ompgsql.so in {modules}"
                   " (ompgsql.so is in rsyslog-pgsql)")
