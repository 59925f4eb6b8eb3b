"""Real processes, FIFOs and databases for the checks: start, wait on conditions, look inside.

Every wait has a deadline and polls a condition; none is a fixed sleep. A wait that runs out says
what it was waiting for, with whatever the process printed.
"""

from __future__ import annotations

import errno
import fcntl
import os
import signal
import subprocess
import sys
import termios
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, ClassVar

import psycopg
import pytest
from psycopg.types.json import set_json_loads

from .compare import loads_stored_json, records_equal
from .oracle import Record

#: The reference's command line; another implementation is checked through its own.
REFERENCE = [sys.executable, "-m", "logduct"]


def wait_for(condition: Callable[[], Any], what: str, timeout_s: float = 30.0, every_s: float = 0.02) -> Any:
    """Poll ``condition`` until it returns something true; return that, or fail saying ``what``."""
    deadline = time.monotonic() + timeout_s
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            raise TimeoutError(f"waited {timeout_s} s for {what}")
        time.sleep(every_s)


def fifo_has_reader(path: str | os.PathLike[str]) -> bool:
    """True when a process holds the FIFO open for reading (a writer's open then succeeds)."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_NONBLOCK)
    except OSError as error:
        if error.errno in (errno.ENXIO, errno.ENOENT):
            return False
        raise
    os.close(fd)
    return True


def unread_bytes(fifo: Path) -> int:
    """How many bytes wait in the FIFO's pipe."""
    fd = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
    try:
        buf = bytearray(4)
        fcntl.ioctl(fd, termios.FIONREAD, buf)
        return int.from_bytes(buf, "little")
    finally:
        os.close(fd)


class Process:
    """A command run for a check, its output in files so that a full pipe never stalls it."""

    #: Every process started, so that a test's leftovers can be killed (``kill_started_since``).
    started: ClassVar[list[Process]] = []

    def __init__(self, args: Sequence[str], workdir: Path, name: str, stdin: bytes | None = None,
                 lines_per_s: float | None = None, keep_stdin_open: bool = False) -> None:
        self.args = list(args)
        self.stdout_path = workdir / f"{name}.stdout"
        self.stderr_path = workdir / f"{name}.stderr"
        with open(self.stdout_path, "wb") as out, open(self.stderr_path, "wb") as err:
            piped = stdin is not None or keep_stdin_open
            self.popen = subprocess.Popen(self.args, stdin=subprocess.PIPE if piped else subprocess.DEVNULL,
                                          stdout=out, stderr=err)
        Process.started.append(self)
        if stdin is not None:
            # From a thread: an emitter with no collector yet stops reading once its queue is full.
            threading.Thread(target=self._feed, args=(stdin, lines_per_s), daemon=True).start()

    def _feed(self, data: bytes, lines_per_s: float | None) -> None:
        """Write ``data`` to stdin, all at once or at ``lines_per_s`` lines a second, then close it."""
        assert self.popen.stdin is not None
        lines = data.splitlines(keepends=True) if lines_per_s else [data]
        step = max(1, int((lines_per_s or 1) / 100))  # a write every 10 ms
        began = time.monotonic()
        try:
            for i in range(0, len(lines), step):
                if lines_per_s:
                    ahead = began + i / lines_per_s - time.monotonic()
                    if ahead > 0:
                        time.sleep(ahead)  # pacing the feed, not waiting for a result
                self.popen.stdin.write(b"".join(lines[i:i + step]))
                self.popen.stdin.flush()
            self.popen.stdin.close()
        except BrokenPipeError:
            pass  # the process exited early; its exit status tells the check why

    def write_stdin(self, data: bytes) -> None:
        """For a process started with keep_stdin_open: more input, now."""
        assert self.popen.stdin is not None
        self.popen.stdin.write(data)
        self.popen.stdin.flush()

    def close_stdin(self) -> None:
        assert self.popen.stdin is not None
        self.popen.stdin.close()

    @property
    def stdout(self) -> bytes:
        return self.stdout_path.read_bytes()

    @property
    def stderr(self) -> str:
        return self.stderr_path.read_text(errors="replace")

    def send_signal(self, signum: int) -> None:
        self.popen.send_signal(signum)

    def wait(self, timeout_s: float = 60.0) -> int:
        try:
            return self.popen.wait(timeout_s)
        except subprocess.TimeoutExpired:
            raise TimeoutError(f"{self.args} still running after {timeout_s} s; stderr:\n{self.stderr}") from None

    def stop(self, signum: int = signal.SIGTERM, timeout_s: float = 60.0) -> int:
        if self.popen.poll() is None:
            self.send_signal(signum)
        return self.wait(timeout_s)

    def kill(self) -> None:
        if self.popen.poll() is None:
            self.popen.kill()
            self.popen.wait()


def kill_started_since(count: int) -> None:
    """Kill the processes started after the first ``count``: nothing a test started outlives it."""
    for process in Process.started[count:]:
        process.kill()
    del Process.started[count:]


@pytest.fixture(autouse=True)
def no_leftover_processes() -> Iterator[None]:
    """Autouse where imported: whatever a test started and left running is killed after it."""
    count = len(Process.started)
    yield
    kill_started_since(count)


def stored_records(dsn: str) -> list[Record]:
    """Every row of ``logs``, as Records holding exactly what is stored (data read back as the JSON
    values it stands for)."""
    with psycopg.connect(dsn) as conn:
        set_json_loads(loads_stored_json, conn)
        rows = conn.execute("SELECT time, application_name, environment_name, log_event, trace_id, file_path,"
                            " host_ip, data FROM logs").fetchall()
    return [Record(time=t, application_name=a, environment_name=e, log_event=ev, trace_id=tr, file_path=f,
                   host_ip=ip, data=d) for t, a, e, ev, tr, f, ip, d in rows]


def rejected_rows(dsn: str) -> list[tuple[str, str, str, bytes]]:
    """Every row of ``logs_rejected``: (transport, rule, reason, raw)."""
    with psycopg.connect(dsn) as conn:
        return [(t, r, why, bytes(raw)) for t, r, why, raw in conn.execute(
            "SELECT transport, rule, reason, raw FROM logs_rejected ORDER BY received_at").fetchall()]


def count_rows(dsn: str, table: str = "logs") -> int:
    with psycopg.connect(dsn) as conn:
        try:
            row = conn.execute(psycopg.sql.SQL("SELECT count(*) FROM {}").format(psycopg.sql.Identifier(table)))
            return int(row.fetchone()[0])  # type: ignore[index]
        except psycopg.errors.UndefinedTable:
            return 0


def delivery_report(expected: Sequence[Record], stored: Sequence[Record]) -> tuple[int, int, int]:
    """(missing, duplicated, altered) of ``expected`` in ``stored``, matched by trace_id, which the
    checks make unique per record."""
    by_trace: dict[str, list[Record]] = {}
    for record in stored:
        by_trace.setdefault(record.trace_id, []).append(record)
    missing = duplicated = altered = 0
    for record in expected:
        found = by_trace.get(record.trace_id, [])
        if not found:
            missing += 1
        elif len(found) > 1:
            duplicated += len(found) - 1
        elif not records_equal(record, found[0]):
            altered += 1
    return missing, duplicated, altered
