"""Starting, synchronising and stopping the benchmark's processes.

Every child starts through ``spawn``: it is killed by the kernel if the bench dies (``bench.orphans``),
and ``end_children`` kills whatever is left when the bench stops, however it stops.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import IO, Any, cast

_ENV = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(Path(__file__).parent.parent),
                                                                   os.environ.get("PYTHONPATH")]))}
#: Tells a worker which process to die with (bench.orphans).
PARENT_ENV = "LOGDUCT_BENCH_PARENT"
_children: list[subprocess.Popen[Any]] = []


def spawn(args: Sequence[str], *, orphan_guard: bool = True, env: dict[str, str] | None = None,
          **popen: Any) -> subprocess.Popen[Any]:
    """Start a child of the bench, remembered for ``end_children``. With ``orphan_guard`` it runs
    under ``bench.orphans``, which has the kernel kill it when the bench dies; a worker, which does
    that itself, passes False."""
    prefix = [sys.executable, "-m", "bench.orphans", str(os.getpid())] if orphan_guard else []
    child = subprocess.Popen([*prefix, *args], env={**_ENV, **(env or {}), PARENT_ENV: str(os.getpid())}, **popen)
    _children.append(child)
    return child


def end_children() -> None:
    """Kill every child still running and reap it: the last step of every bench run."""
    for child in _children:
        if child.poll() is None:
            child.kill()
    for child in _children:
        child.wait()
    _children.clear()


class BenchError(RuntimeError):
    """A benchmark could not run: a process failed or a deadline passed."""


def wait_for(condition: Callable[[], object], timeout_s: float, what: str, interval_s: float = 0.005) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise BenchError(f"timed out after {timeout_s:g} s waiting for {what}")
        time.sleep(interval_s)


class Worker:
    """One ``bench.workers`` process: started now, ready once its records are prepared."""

    def __init__(self, kind: str, *args: object) -> None:
        self.kind = kind
        self.process = spawn([sys.executable, "-m", "bench.workers", kind, *map(str, args)], orphan_guard=False,
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)

    def wait_ready(self) -> None:
        if self._stdout.readline().strip() != "ready":
            raise BenchError(f"worker {self.kind} failed to start (exit {self.process.wait()})")

    def go(self) -> None:
        self._stdin.write("go\n")
        self._stdin.flush()

    def result(self, timeout_s: float) -> dict[str, float]:
        try:
            out, _ = self.process.communicate(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            raise BenchError(f"worker {self.kind} still running after {timeout_s:g} s") from None
        if self.process.returncode != 0:
            raise BenchError(f"worker {self.kind} exited with status {self.process.returncode}")
        return cast(dict[str, float], json.loads(out))

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    @property
    def _stdin(self) -> IO[str]:
        assert self.process.stdin is not None
        return self.process.stdin

    @property
    def _stdout(self) -> IO[str]:
        assert self.process.stdout is not None
        return self.process.stdout


def start_all(workers: Sequence[Worker]) -> float:
    """Wait until every worker is ready, say go to all; the time of go (perf_counter)."""
    for w in workers:
        w.wait_ready()
    began = time.perf_counter()
    for w in workers:
        w.go()
    return began


class CollectorProcess:
    """``logduct collect`` as a process, its stderr kept in a file."""

    def __init__(self, args: Sequence[str], log: Path, sources: int = 1) -> None:
        self.log = log
        with open(log, "wb") as err:
            self.process = spawn([sys.executable, "-m", "logduct", "collect", *args],
                                 stdout=subprocess.DEVNULL, stderr=err)
        wait_for(lambda: self._text().count("collecting from") >= sources or self.process.poll() is not None,
                 60, "the collector to start")
        if self.process.poll() is not None:
            raise BenchError(f"collector exited with status {self.process.returncode}:\n{self._text()}")

    def peak_rss_bytes(self) -> int:
        """VmHWM: the most resident memory the collector has held so far."""
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
        raise BenchError("no VmHWM in /proc; peak RSS is measured on Linux only")

    def stop(self) -> str:
        """SIGTERM, wait; the collector's stderr."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self._text()

    def _text(self) -> str:
        return self.log.read_text(errors="replace")
