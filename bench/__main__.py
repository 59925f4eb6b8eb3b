"""Benchmarks of logduct against the limits of this machine and the seeds' patterns.

    python -m bench            full run: 200,000 records a throughput figure, 3 rounds, ~10 min
    python -m bench --quick    CI-sized: 20,000 records, 1 round, ~1 min
    python -m bench --hogs 2   the same beside two CPU-bound processes: a busy machine's figures
    python -m bench --peers    also rsyslog and syslog-ng where installed, and what one bad line costs

Every figure comes from one run against one PostgreSQL (embedded, or --dsn: its logs and
logs_rejected tables are dropped and made anew), and the targets are ratios between figures of
that run. Prints a table; writes DIR/MODE.json and DIR/MODE.png (default DIR: docs/bench).
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from contextlib import ExitStack
from importlib.metadata import version
from pathlib import Path
from typing import Any

import psycopg
import zmq

from logduct.embedded import embedded_dsn
from logduct.fifo import PIPE_BUF
from logduct.sink import safe_dsn

from . import bad_lines, report
from .measures import FULL, MEASURES, QUICK, Bench, Figures, read_text
from .peer_measures import PEER_MEASURES
from .peers import Peer
from .processes import BenchError, end_children, spawn

DEFAULT_OUT = Path(__file__).resolve().parent.parent / "docs" / "bench"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="CI-sized run")
    parser.add_argument("--rounds", type=int,
                        help="runs of every measure; the median counts (default: full 3, quick 1)")
    parser.add_argument("--only", action="append", choices=list(MEASURES), metavar="MEASURE",
                        help=f"run this measure only (repeatable): {', '.join(MEASURES)}")
    parser.add_argument("--peers", action="store_true",
                        help="also run rsyslog and syslog-ng, where installed (README, Speed), in the same rounds, "
                             "and what one bad line costs each contender; the results are written as MODE-peers")
    parser.add_argument("--records", type=int, metavar="N",
                        help="records per throughput measure (default: full 200,000, quick 20,000)")
    parser.add_argument("--dsn", help="PostgreSQL to use (default: an embedded one); its logs tables are dropped")
    parser.add_argument("--hogs", type=int, default=0, metavar="N",
                        help="run beside N CPU-bound processes ('while 1: pass'), as on a busy machine; the "
                             "results are written as MODE-hogsN")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT,
                        help=f"where to write JSON and PNG (default {DEFAULT_OUT})")
    args = parser.parse_args(argv)
    mode = ("quick" if args.quick else "full") + "-peers" * args.peers + (f"-hogs{args.hogs}" if args.hogs else "")
    rounds = args.rounds or (1 if args.quick else 3)
    sizes = QUICK if args.quick else FULL
    if args.records:
        sizes = dataclasses.replace(sizes, records=args.records)
    measures = {name: MEASURES[name] for name in args.only or MEASURES}
    peers, notes = find_peers() if args.peers else ([], [])
    for note in notes:
        print(note, file=sys.stderr)
    measures.update({peer.label: measure for peer, measure in peers})
    # SIGTERM unwinds like Ctrl-C: every finally block and the ExitStack below stop what they started.
    signal.signal(signal.SIGTERM, _exit_on_signal)
    outcomes: list[dict[str, Any]] = []  # of the bad-line measure
    with ExitStack() as stack:
        scratch = Path(tempfile.mkdtemp(prefix="logduct-bench-"))
        stack.callback(shutil.rmtree, scratch, ignore_errors=True)
        dsn = args.dsn or stack.enter_context(embedded_dsn(scratch / "postgres"))
        conn = stack.enter_context(psycopg.connect(dsn, autocommit=True))
        stack.callback(end_children)  # first of all on the way out: no child outlives a run
        bench = Bench(dsn=dsn, conn=conn, scratch=scratch, sizes=sizes)
        machine = describe_machine(conn, "embedded PostgreSQL" if args.dsn is None else safe_dsn(dsn))
        machine["cpu_hogs"] = args.hogs
        machine["peers"] = {peer.program: peer.version() for peer, _ in peers}
        if args.hogs:
            machine["summary"] += f"; beside {args.hogs} CPU-bound processes"
        for _ in range(args.hogs):  # started after the database, so that they load every measure alike
            hog = spawn([sys.executable, "-c", "while 1: pass"])
            stack.callback(hog.wait)
            stack.callback(hog.kill)
        print(f"logduct bench ({mode}, {rounds} round{'s' * (rounds > 1)}) on {machine['summary']}", file=sys.stderr)
        runs: list[dict[str, float]] = []
        progress = Progress(len(measures) * rounds + (len(BAD_LINE_CONTENDERS) + len(peers)) * args.peers)
        for _ in range(rounds):  # rounds interleaved, so that a slow spell of the machine hits every figure
            run: dict[str, float] = {}
            for name, measure in measures.items():
                progress.step(name)
                try:
                    run.update(measure(bench))
                except BenchError as failure:
                    if name in MEASURES:
                        raise
                    notes.append(f"{name}: failed in this round: {failure}")  # a peer's failure is a finding
                    print(f"\n{notes[-1]}", file=sys.stderr)
            runs.append(run)
        if args.peers:
            contenders: list[tuple[str, Callable[[Bench], bad_lines.Outcome]]] = [
                *BAD_LINE_CONTENDERS.items(),
                *((peer.label, functools.partial(bad_lines.peer, contender=peer)) for peer, _ in peers)]
            for name, bad_line_measure in contenders:  # once, after the rounds: a stalled peer takes 20 s
                progress.step(f"bad lines: {name}")
                try:
                    outcomes.append(bad_line_measure(bench).as_json())
                except BenchError as failure:
                    if name in BAD_LINE_CONTENDERS:  # logduct failing this is a bug, not a finding
                        raise
                    notes.append(f"bad lines, {name}: failed: {failure}")
                    print(f"\n{notes[-1]}", file=sys.stderr)
        progress.done()
        conn.execute("DROP TABLE IF EXISTS logs, logs_rejected")
    figures = {key: statistics.median(run[key] for run in runs if key in run) for run in runs for key in run}
    print(report.table(figures))
    if args.peers:
        print("\n" + report.peers_table(figures))
        print("\nWhat one bad line costs (200 good records, 4 bad lines among them):")
        print(report.bad_lines_table(outcomes))
    for note in notes:
        print(f"\n{note}")
    if args.hogs:
        print(f"\n(beside {args.hogs} CPU-bound processes)")
    args.out.mkdir(parents=True, exist_ok=True)
    report.write_json(args.out / f"{mode}.json", machine, mode, runs, figures,
                      {"records": sizes.records, "notes": notes, "bad_lines": outcomes,
                       "fifo_over_fastest_peer": report.fifo_lead(figures)} if args.peers else None)
    report.write_chart(args.out / f"{mode}.png", figures, f"logduct bench ({mode}, median of {rounds}): "
                       f"{machine['summary']}")
    print(f"\nwritten: {args.out / f'{mode}.json'}, {args.out / f'{mode}.png'}")
    return 0


def find_peers() -> tuple[list[tuple[Peer, Callable[[Bench], Figures]]], list[str]]:
    """The peers installed here, each with its measure; and a sentence for each one that is not."""
    found, notes = [], []
    for peer, measure in PEER_MEASURES.values():
        program, why = peer.located()
        if program is None:
            notes.append(why)
        else:
            found.append((peer, measure))
    return found, notes


def _exit_on_signal(signum: int, _frame: object) -> None:
    raise SystemExit(128 + signum)


#: logduct's contenders in the bad-line measure; each peer found is added.
BAD_LINE_CONTENDERS: dict[str, Callable[[Bench], bad_lines.Outcome]] = {
    "logduct FIFO": bad_lines.logduct_fifo, "logduct ZeroMQ": bad_lines.logduct_zmq}


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
        "date": time.strftime("%Y-%m-%d"), "commit": _commit(),
    }
    facts["summary"] = (f"{cpu}, {facts['cores']} cores, {facts['memory_gib']} GiB; Python {facts['python']}, "
                        f"PostgreSQL {server.split()[0]}, libzmq {facts['libzmq']}")
    return facts


def _commit() -> str:
    """The commit the run measured, "+changes" if the work tree differed from it; "" outside git."""
    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=Path(__file__).parent, capture_output=True, text=True).stdout.strip()
    try:
        head = git("rev-parse", "--short", "HEAD")
        return head + ("+changes" if head and git("status", "--porcelain", "--untracked-files=no") else "")
    except OSError:
        return ""


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
