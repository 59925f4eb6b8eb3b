"""The peers' throughput, measured as logduct's end to end is: the same records from the same
number of feeder processes, into the same ``logs`` table, from "go" until the last row is committed.

A peer's figures count only if its rows are right: every record stored once, each column as sent,
``data`` the same JSON value, ``time`` the same instant. CPU per record is the peer's, the feeders'
(encoding included, as logduct's emitters include it) and PostgreSQL's server processes'.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable

from .measures import DEADLINE_S, Bench, Figures, cpu_seconds
from .peers import PEERS, Peer, PeerProcess
from .processes import BenchError, Worker, start_all
from .records import LAST_EVENT, records

#: A peer that stores no new row for this long is stuck (syslog-ng retries a failed batch 60 s apart).
STALL_S = 30
COLUMNS = "time, application_name, environment_name, log_event, trace_id, file_path, host_ip, data"


def peer_end_to_end(bench: Bench, peer: Peer) -> Figures:
    """``peer`` fed by the bench's feeders; its records/s and CPU per record, once its rows are checked."""
    bench.fresh_tables()
    feeders = bench.sizes.emitters
    per_feeder = bench.sizes.records // feeders
    total = per_feeder * feeders
    process = PeerProcess(peer, bench.dsn, bench.scratch / peer.name)
    try:
        database_before = backend_cpu(bench)
        peer_cpu = cpu_seconds(process.pid)
        workers = [Worker(f"{peer.feed}-feeder", process.where, per_feeder, i * per_feeder) for i in range(feeders)]
        try:
            began = start_all(workers)
            elapsed = wait_for_all_rows(bench, feeders, total, process) - began
            peer_cpu = cpu_seconds(process.pid) - peer_cpu
            database_after = backend_cpu(bench)
            database_cpu = sum(cpu - database_before.get(pid, 0.0) for pid, cpu in database_after.items())
            results = [w.result(DEADLINE_S) for w in workers]
        finally:
            for w in workers:
                w.stop()
    finally:
        process.stop()
    problems = wrong_rows(bench, per_feeder, feeders)
    if problems:
        raise BenchError(f"{peer.label}: {len(problems):,} problems in its rows, first: {'; '.join(problems[:3])}")
    figures = {f"{peer.name}_end_to_end": total / elapsed,
               f"{peer.name}_cpu_us_peer": peer_cpu / total * 1e6,
               f"{peer.name}_cpu_us_feeders": sum(r["cpu"] for r in results) / total * 1e6}
    if database_after:  # a database on another machine: its CPU time cannot be read here
        figures[f"{peer.name}_cpu_us_postgres"] = database_cpu / total * 1e6
    return figures


def backend_cpu(bench: Bench) -> dict[str, float]:
    """CPU seconds so far of each server process serving another session. A peer may connect after
    the clock starts, or reconnect: a process not seen before counts from zero."""
    found: dict[str, float] = {}
    for pid in bench.backend_pids():
        try:
            found[str(pid)] = cpu_seconds(pid)
        except OSError:  # ended between the query and the read
            pass
    return found


def wait_for_all_rows(bench: Bench, feeders: int, total: int, process: PeerProcess) -> float:
    """Until ``total`` rows are committed; the time then (perf_counter). A peer's workers commit in
    parallel, so each feeder's last row stored does not mean all of its rows are: count them too,
    once the last rows are in (counting every poll would load the database being measured)."""
    progress_at, progress_rows = time.monotonic(), -1
    while True:
        if bench.count(f"log_event = '{LAST_EVENT}'") >= feeders and bench.count() >= total:
            return time.perf_counter()
        if process.process.poll() is not None:
            raise BenchError(f"{process.peer.label} exited with status {process.process.returncode}:\n"
                             f"{process.output()[-2000:]}")
        if time.monotonic() - progress_at > STALL_S:
            rows = bench.count()
            if rows == progress_rows:
                raise BenchError(f"{process.peer.label} stored no row for {STALL_S} s: {rows:,} of {total:,}:\n"
                                 f"{process.output()[-2000:]}")
            progress_at, progress_rows = time.monotonic(), rows
        time.sleep(0.01)


def wrong_rows(bench: Bench, per_feeder: int, feeders: int) -> list[str]:
    """What is wrong with the stored rows: a record missing, stored twice, or a column not as sent."""
    expected = {r.trace_id: r for i in range(feeders) for r in records(per_feeder, i * per_feeder)}
    seen: Counter[str] = Counter()
    problems: list[str] = []
    with bench.conn.cursor() as cursor:
        for row in cursor.stream(f"SELECT {COLUMNS} FROM logs"):
            trace_id = row[4]
            sent = expected.get(str(trace_id))
            seen[str(trace_id)] += 1
            if sent is None:
                problems.append(f"a row of no record sent: {row!r}")
                continue
            wanted = (sent.time, sent.application_name, sent.environment_name, sent.log_event, sent.trace_id,
                      sent.file_path, sent.host_ip, sent.data)
            if tuple(row) != wanted:
                problems.append(f"record {trace_id} stored as {row!r}, sent as {wanted!r}")
    problems += [f"record {t} stored {n} times" for t, n in seen.items() if n > 1]
    missing = len(expected) - len(seen.keys() & expected.keys())
    if missing:
        problems.append(f"{missing:,} records not stored")
    return problems


def _measure(peer: Peer) -> Callable[[Bench], Figures]:
    def measure(bench: Bench) -> Figures:
        return peer_end_to_end(bench, peer)
    measure.__doc__ = f"{peer.label}, end to end."
    return measure


#: Added to the bench's measures by --peers, each peer found on this machine.
PEER_MEASURES: dict[str, tuple[Peer, Callable[[Bench], Figures]]] = {
    peer.label: (peer, _measure(peer)) for peer in PEERS}
