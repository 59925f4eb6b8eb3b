"""``logduct demo``: the first seed's three-terminal story in one command, and its ending checked.

A throwaway PostgreSQL, a collector and two applications, app-myApp-123 and app-myApp-456, logging
over ZeroMQ, each a real process. While they log, the collector is killed with SIGKILL and started
again; the applications go on logging through the crash. At the end every record each application
sent is looked for in ``logs``: the demo says how many were lost and how many stored twice (none),
then runs the seed's queries.
"""

from __future__ import annotations

import json
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import IO

import psycopg

from . import sqlfiles
from .embedded import embedded_dsn
from .tables import format_table

APPS = ("app-myApp-123", "app-myApp-456")
Say = Callable[[str], None]
#: The seed's query literals, so that its queries find something.
_SEED_TRACE_ID = "bfb95991-ae1b-4f7b-bc11-024dc53b964f"
_SEED_HOST = "172.18.0.3"
_COMMAND = [sys.executable, "-m", "logduct"]


def run(*, seconds: float = 4.0, rate: int = 500, out: IO[str] = sys.stdout) -> int:
    """Run the demo; each phase lasts about ``seconds``; each app logs ``rate`` records a second."""
    def say(text: str = "") -> None:
        print(text, file=out, flush=True)

    workdir = Path(tempfile.mkdtemp(prefix="logduct-demo-"))
    try:
        with embedded_dsn(workdir / "postgres") as dsn:
            endpoint = _endpoint()
            say(f"PostgreSQL (throwaway) at {dsn}")
            collector = _collector(endpoint, dsn, workdir, 1)
            say(f"Collector started: ROUTER bound at {endpoint}  (pid {collector.pid})")
            apps = {name: _App(name, endpoint, rate, workdir) for name in APPS}
            for app in apps.values():
                say(f"ApplicationTask {app.name} started: DEALER connected, {rate} records a second  "
                    f"(pid {app.process.pid})")
            _watch(dsn, seconds, say)

            say(f"\nCrashing the collector: kill -9 {collector.pid}")
            collector.kill()
            collector.wait()
            waited_from = {name: app.sent for name, app in apps.items()}
            time.sleep(seconds / 2)  # the story: the apps log on while nobody collects
            say("  while it was down the apps logged on: " + ", ".join(
                f"{name} {app.sent - waited_from[name]:,} records" for name, app in apps.items()))
            collector = _collector(endpoint, dsn, workdir, 2)
            say(f"Collector started again (pid {collector.pid}); what was not acknowledged is sent again:")
            _watch(dsn, seconds, say)

            say("\nStopping the apps: each exits once every record it sent is acknowledged.")
            statuses = {name: app.finish() for name, app in apps.items()}
            collector.send_signal(signal.SIGTERM)
            collector.wait(30)
            lost = _verdict(dsn, apps, statuses, say)
            for name, statement in sqlfiles.named_statements("queries.sql").items():
                _show_query(dsn, name, statement.sql, say)
            return 0 if lost == 0 and all(status == 0 for status in statuses.values()) else 1
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


class _App:
    """An application logging ``rate`` records a second through ``logduct emit --zmq``."""

    def __init__(self, name: str, endpoint: str, rate: int, workdir: Path) -> None:
        self.name = name
        self.rate = rate
        self.sent = 0
        self._stop = threading.Event()
        self._stderr = open(workdir / f"{name}.stderr", "wb")  # noqa: SIM115 (closed in finish)
        self.process = subprocess.Popen([*_COMMAND, "emit", "--zmq", endpoint, "--identity", name],
                                        stdin=subprocess.PIPE, stderr=self._stderr)
        self._thread = threading.Thread(target=self._log, daemon=True)
        self._thread.start()

    def _log(self) -> None:
        assert self.process.stdin is not None
        began = time.monotonic()
        while not self._stop.is_set():
            due = int((time.monotonic() - began) * self.rate)
            lines = [self._line(n) for n in range(self.sent + 1, due + 1)]
            if lines:
                self.process.stdin.write(b"".join(lines))
                self.process.stdin.flush()
                self.sent += len(lines)
            time.sleep(0.01)  # the application's own pace, not a wait for anything
        self.process.stdin.close()

    def _line(self, n: int) -> bytes:
        """The seed's 'request #N', with now and then what the seed's queries look for."""
        error = n % 100 == 0
        data: dict[str, object] = {"request": n}
        if error:
            data["traceback"] = f"Traceback (most recent call last):\n  ...\nKeyError: 'request {n}'"
        record = {"time": datetime.now(timezone.utc).isoformat(), "application_name": self.name,
                  "environment_name": "demo", "log_event": "login_error" if error else "request",
                  "trace_id": _SEED_TRACE_ID if n == 1 else f"{self.name}-{n}",
                  "file_path": "loggingApp.py", "host_ip": _SEED_HOST if self.name == APPS[0] else "127.0.0.1",
                  "data": data}
        return json.dumps(record).encode() + b"\n"

    def finish(self) -> int:
        self._stop.set()
        self._thread.join()
        status = self.process.wait(60)
        self._stderr.close()
        return status


def _endpoint() -> str:
    """The seed's port 5570 on loopback if it is free, else any free port."""
    for port in (5570, 0):
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return f"tcp://127.0.0.1:{probe.getsockname()[1]}"
    raise RuntimeError("no free TCP port on 127.0.0.1")


def _collector(endpoint: str, dsn: str, workdir: Path, n: int) -> subprocess.Popen[bytes]:
    err = open(workdir / f"collector-{n}.stderr", "wb")  # noqa: SIM115 (the child holds it)
    process = subprocess.Popen([*_COMMAND, "collect", "--zmq", endpoint, "--dsn", dsn], stderr=err)
    deadline = time.monotonic() + 30
    while b"collecting from" not in (workdir / f"collector-{n}.stderr").read_bytes():
        if process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError((workdir / f"collector-{n}.stderr").read_text())
        time.sleep(0.05)
    return process


def _watch(dsn: str, seconds: float, say: Say) -> None:
    """What arrives, per application, twice a second for ``seconds``."""
    until = time.monotonic() + seconds
    with psycopg.connect(dsn, autocommit=True) as conn:
        while time.monotonic() < until:
            time.sleep(0.5)
            rows = conn.execute("SELECT application_name, count(*), max((data->>'request')::bigint) FROM logs"
                                " GROUP BY application_name ORDER BY application_name").fetchall()
            say("  " + " | ".join(f"Collector has \"request #{last}\" from \"{name}\" ({count:,} stored)"
                                  for name, count, last in rows))


def _verdict(dsn: str, apps: dict[str, _App], statuses: dict[str, int], say: Say) -> int:
    lost_in_all = 0
    with psycopg.connect(dsn) as conn:
        say("\nWhat each application sent, and what is in logs:")
        for name, app in apps.items():
            stored, distinct = conn.execute(
                "SELECT count(*), count(DISTINCT data->>'request') FROM logs WHERE application_name = %s",
                (name,)).fetchone() or (0, 0)
            lost = app.sent - distinct
            lost_in_all += lost
            say(f"  {name}: sent {app.sent:,}, stored {stored:,}: {lost:,} lost, {stored - distinct:,} stored "
                f"twice (emitter exit status {statuses[name]})")
    say("Nothing lost, nothing stored twice, through a SIGKILL of the collector." if lost_in_all == 0 else
        f"{lost_in_all:,} records lost.")
    return lost_in_all


def _show_query(dsn: str, name: str, statement: str, say: Say) -> None:
    with psycopg.connect(dsn) as conn:
        cursor = conn.execute(statement)
        headers = [column.name for column in cursor.description or []]
        rows = cursor.fetchall()
    say(f"\n-- {name}\n{statement}")
    say(format_table(headers, rows[:5], max_width=40, total=len(rows)).rstrip())
