"""Benchmarks of logduct against the limits of this machine and the seeds' patterns.

    python -m bench            full run: 200,000 records a throughput figure, 3 rounds, ~10 min
    python -m bench --quick    CI-sized: 20,000 records, 1 round, ~1 min
    python -m bench --hogs 2   the same beside two CPU-bound processes: a busy machine's figures

Every figure comes from one run against one PostgreSQL (embedded, or --dsn: its logs and
logs_rejected tables are dropped and made anew), and the targets are ratios between figures of
that run. Prints a table; writes DIR/MODE.json and DIR/MODE.png (default DIR: docs/bench).
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from importlib.metadata import version
from pathlib import Path
from typing import Any

import psycopg
import zmq

from logduct.embedded import embedded_dsn
from logduct.fifo import PIPE_BUF
from logduct.sink import safe_dsn

from . import report
from .measures import FULL, MEASURES, QUICK, Bench, read_text

DEFAULT_OUT = Path(__file__).resolve().parent.parent / "docs" / "bench"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="CI-sized run")
    parser.add_argument("--rounds", type=int,
                        help="runs of every measure; the median counts (default: full 3, quick 1)")
    parser.add_argument("--only", action="append", choices=list(MEASURES), metavar="MEASURE",
                        help=f"run this measure only (repeatable): {', '.join(MEASURES)}")
    parser.add_argument("--dsn", help="PostgreSQL to use (default: an embedded one); its logs tables are dropped")
    parser.add_argument("--hogs", type=int, default=0, metavar="N",
                        help="run beside N CPU-bound processes ('while 1: pass'), as on a busy machine; the "
                             "results are written as MODE-hogsN")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT,
                        help=f"where to write JSON and PNG (default {DEFAULT_OUT})")
    args = parser.parse_args(argv)
    mode = ("quick" if args.quick else "full") + (f"-hogs{args.hogs}" if args.hogs else "")
    rounds = args.rounds or (1 if args.quick else 3)
    measures = {name: MEASURES[name] for name in args.only or MEASURES}
    with ExitStack() as stack:
        scratch = Path(tempfile.mkdtemp(prefix="logduct-bench-"))
        stack.callback(shutil.rmtree, scratch, ignore_errors=True)
        dsn = args.dsn or stack.enter_context(embedded_dsn(scratch / "postgres"))
        conn = stack.enter_context(psycopg.connect(dsn, autocommit=True))
        bench = Bench(dsn=dsn, conn=conn, scratch=scratch, sizes=QUICK if args.quick else FULL)
        machine = describe_machine(conn, "embedded PostgreSQL" if args.dsn is None else safe_dsn(dsn))
        machine["cpu_hogs"] = args.hogs
        if args.hogs:
            machine["summary"] += f"; beside {args.hogs} CPU-bound processes"
        for _ in range(args.hogs):  # started after the database, so that they load every measure alike
            hog = subprocess.Popen([sys.executable, "-c", "while 1: pass"])
            stack.callback(hog.wait)
            stack.callback(hog.kill)
        print(f"logduct bench ({mode}, {rounds} round{'s' * (rounds > 1)}) on {machine['summary']}", file=sys.stderr)
        runs: list[dict[str, float]] = []
        progress = Progress(len(measures) * rounds)
        for _ in range(rounds):  # rounds interleaved, so that a slow spell of the machine hits every figure
            run: dict[str, float] = {}
            for name, measure in measures.items():
                progress.step(name)
                run.update(measure(bench))
            runs.append(run)
        progress.done()
        conn.execute("DROP TABLE IF EXISTS logs, logs_rejected")
    figures = {key: statistics.median(run[key] for run in runs) for key in runs[0]}
    print(report.table(figures))
    if args.hogs:
        print(f"\n(beside {args.hogs} CPU-bound processes)")
    args.out.mkdir(parents=True, exist_ok=True)
    report.write_json(args.out / f"{mode}.json", machine, mode, runs, figures)
    report.write_chart(args.out / f"{mode}.png", figures, f"logduct bench ({mode}, median of {rounds}): "
                       f"{machine['summary']}")
    print(f"\nwritten: {args.out / f'{mode}.json'}, {args.out / f'{mode}.png'}")
    return 0


def describe_machine(conn: psycopg.Connection[tuple[object, ...]], database: str) -> dict[str, Any]:
    cpu = next((line.split(":", 1)[1].strip() for line in read_text("/proc/cpuinfo").splitlines()
                if line.startswith("model name")), platform.processor() or platform.machine())
    memory_kib = next((int(line.split()[1]) for line in read_text("/proc/meminfo").splitlines()
                       if line.startswith("MemTotal:")), 0)
    server = conn.info.parameter_status("server_version") or "?"
    facts: dict[str, Any] = {
        "cpu": cpu, "cores": os.cpu_count(), "memory_gib": round(memory_kib / 2**20, 1),
        "kernel": platform.release(), "python": platform.python_version(), "postgresql": server,
        "database": database, "libzmq": zmq.zmq_version(), "pyzmq": zmq.__version__,
        "psycopg": version("psycopg"), "pipe_buf": PIPE_BUF,
        "date": time.strftime("%Y-%m-%d"),
    }
    facts["summary"] = (f"{cpu}, {facts['cores']} cores, {facts['memory_gib']} GiB; Python {facts['python']}, "
                        f"PostgreSQL {server.split()[0]}, libzmq {facts['libzmq']}")
    return facts


class Progress:
    """A progress bar on a terminal; one line a step otherwise (CI logs)."""

    def __init__(self, steps: int) -> None:
        self.steps, self.done_steps, self.began = steps, 0, time.monotonic()
        self.tty = sys.stderr.isatty()

    def step(self, name: str) -> None:
        elapsed = time.monotonic() - self.began
        bar = "#" * (20 * self.done_steps // self.steps)
        line = f"[{bar:<20}] {self.done_steps + 1}/{self.steps} {name} ({elapsed:,.0f} s)"
        print(f"\r{line:<80}" if self.tty else line, end="" if self.tty else "\n", file=sys.stderr, flush=True)
        self.done_steps += 1

    def done(self) -> None:
        line = f"done in {time.monotonic() - self.began:,.0f} s"
        print(f"\r{line:<80}" if self.tty else line, file=sys.stderr, flush=True)


if __name__ == "__main__":
    sys.exit(main())
