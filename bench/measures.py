"""Each measurement of ``python -m bench``: one function, one PostgreSQL, the same records.

Every function starts from empty tables and returns ``Figures``: named values in their units. A
throughput is records/s from the moment every process was told to go until the last row was
committed (or, for the transports alone, read); nothing is counted that was prepared before.
"""

from __future__ import annotations

import logging
import os
import re
import statistics
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import psycopg
import zmq

from logduct import sqlfiles
from logduct.collector import BATCH_LIMIT
from logduct.fifo import READ_SIZE
from logduct.fifo_emitter import FifoEmitter
from logduct.logging_handler import LogductHandler
from logduct.sending import Overflow

from .processes import BenchError, CollectorProcess, Worker, start_all, wait_for
from .records import LAST_EVENT, copy_rows
from .schema_cost import ingest

Connection = psycopg.Connection[tuple[object, ...]]
Figures = dict[str, float]
T = TypeVar("T")


@dataclass(frozen=True)
class Sizes:
    records: int  # per throughput measurement, spread over the emitters
    emitters: int  # emitter processes end to end (and writers for the raw transports)
    seed_records: int  # through the seeds' row-by-row pattern, ~100 times slower
    seed_zmq_records: int  # the ZeroMQ seed's send loop
    calls: int  # log calls per emitter-cost run
    latency_rate: int  # records/s offered when measuring latency
    latency_seconds: float
    many_emitters: int  # ZeroMQ emitter processes into one collector at once
    many_records: int  # records each of them sends


QUICK = Sizes(records=20_000, emitters=2, seed_records=2_000, seed_zmq_records=20_000, calls=20_000,
              latency_rate=10_000, latency_seconds=2, many_emitters=50, many_records=400)
FULL = Sizes(records=200_000, emitters=2, seed_records=10_000, seed_zmq_records=100_000, calls=100_000,
             latency_rate=10_000, latency_seconds=10, many_emitters=50, many_records=2_000)
#: The longest any one measurement may take before the run is declared stuck.
DEADLINE_S = 600


@dataclass
class Bench:
    """What every measurement shares: the database and a scratch directory."""

    dsn: str
    conn: Connection
    scratch: Path
    sizes: Sizes

    def fresh_tables(self) -> None:
        self.conn.execute("DROP TABLE IF EXISTS logs, logs_rejected")
        self.conn.execute(sqlfiles.schema())

    def fifo(self, name: str) -> str:
        path = self.scratch / name
        if path.exists():
            path.unlink()
        os.mkfifo(path, 0o600)
        return str(path)

    def count(self, where: str = "TRUE") -> int:
        return _one(self.conn, f"SELECT count(*) FROM logs WHERE {where}", int)

    def count_where(self, where: str, *params: object, table: str = "logs") -> int:
        """Rows of ``table`` matching ``where``, each %s in it a value from ``params``."""
        row = self.conn.execute(f"SELECT count(*) FROM {table} WHERE {where}", params).fetchone()
        return int(row[0]) if row and isinstance(row[0], int) else 0

    def wait_for_last_rows(self, emitters: int) -> float:
        """Until each emitter's last record is committed (and with it all before it); the time then."""
        wait_for(lambda: self.count(f"log_event = '{LAST_EVENT}'") >= emitters, DEADLINE_S,
                 "every emitter's last record to be committed", interval_s=0.01)
        return time.perf_counter()

    def backend_pids(self) -> list[int]:
        """The other sessions' server processes, if they run on this machine (their CPU time can be read)."""
        rows = self.conn.execute("SELECT pid FROM pg_stat_activity WHERE backend_type = 'client backend'"
                                 " AND pid <> pg_backend_pid()").fetchall()
        pids = [pid for pid, in rows if isinstance(pid, int)]
        return [pid for pid in pids if read_text(f"/proc/{pid}/comm").startswith("postgres")]


def _one(conn: Connection, query: str, kind: type[T]) -> T:
    """The single value ``query`` returns, checked to be a ``kind``."""
    row = conn.execute(query).fetchone()
    value = None if row is None else row[0]
    if not isinstance(value, kind):
        raise BenchError(f"{query!r} returned {value!r}")
    return value


def read_text(path: str) -> str:
    """The text of a /proc file, or nothing where there is none."""
    try:
        return Path(path).read_text()
    except OSError:
        return ""


def cpu_seconds(pid: int) -> float:
    """User and system CPU time of a process so far, from /proc (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# --- the limits ---------------------------------------------------------------------------------

#: The COPY limit's rows per commit: the most the collector holds uncommitted, its batch being
#: filled and its batch in flight. Its own batches are half this, so that a SIGKILL costs no more;
#: the limit keeps the larger commits, which PostgreSQL takes faster, so that it stays an upper bound.
COPY_LIMIT_BATCH = 2 * BATCH_LIMIT


def copy_limit(bench: Bench) -> Figures:
    """Binary COPY of ready rows into logs with the schema's indexes, a commit waited for after each
    batch: one process doing nothing but what the collector's sink does."""
    rate = ingest(bench.conn, [sqlfiles.schema()], copy_rows(bench.sizes.records), COPY_LIMIT_BATCH)
    return {"copy_limit": rate}


def raw_fifo(bench: Bench) -> Figures:
    """One write() per pre-encoded line from each writer process, a reader counting LFs."""
    path = bench.fifo("raw.fifo")
    fd = os.open(path, os.O_RDWR)  # a reader before the writers' blocking opens
    per_writer = bench.sizes.records // bench.sizes.emitters
    writers = [Worker("raw-fifo-writer", path, per_writer) for _ in range(bench.sizes.emitters)]
    try:
        began = start_all(writers)
        lines = 0
        while lines < per_writer * len(writers):
            lines += os.read(fd, READ_SIZE).count(b"\n")
        elapsed = time.perf_counter() - began
        for w in writers:
            w.result(DEADLINE_S)
    finally:
        os.close(fd)
        for w in writers:
            w.stop()
    return {"raw_fifo": lines / elapsed}


def raw_zmq(bench: Bench) -> Figures:
    """One pre-encoded line per message from each DEALER process to one ROUTER, no acknowledgement."""
    return {"raw_zmq": _router_receive_rate("raw-dealer", bench.sizes.emitters, bench.sizes.records)}


def _router_receive_rate(kind: str, senders: int, records: int) -> float:
    per_sender = records // senders
    with zmq.Context() as context, context.socket(zmq.ROUTER) as router:
        router.setsockopt(zmq.RCVHWM, 0)
        port = router.bind_to_random_port("tcp://127.0.0.1")
        workers = [Worker(kind, f"tcp://127.0.0.1:{port}", per_sender) for _ in range(senders)]
        try:
            began = start_all(workers)
            for _ in range(per_sender * senders):
                router.recv_multipart(copy=False)
            elapsed = time.perf_counter() - began
            for w in workers:
                w.result(DEADLINE_S)
        finally:
            for w in workers:
                w.stop()
    return per_sender * senders / elapsed


# --- logduct end to end ---------------------------------------------------------------------------

@contextmanager
def collector(bench: Bench, transport: str) -> Iterator[tuple[CollectorProcess, str]]:
    """``logduct collect`` on a new FIFO or a free loopback port, storing into the bench database."""
    if transport == "fifo":
        where = str(bench.scratch / "logduct.fifo")
        args = ["--fifo", where]
    else:
        with zmq.Context() as context, context.socket(zmq.ROUTER) as probe:  # a port free right now
            where = f"tcp://127.0.0.1:{probe.bind_to_random_port('tcp://127.0.0.1')}"
        args = ["--zmq", where]
    process = CollectorProcess([*args, "--dsn", bench.dsn], bench.scratch / "collector.log")
    try:
        yield process, where
    except BaseException:  # a failure, or SIGTERM or Ctrl-C: stop it, and let that exception be the one told
        process.stop()
        raise
    log = process.stop()
    if process.process.returncode != 0:
        raise BenchError(f"collector exited with status {process.process.returncode}:\n{log}")


def end_to_end(bench: Bench, transport: str, emitters: int | None = None, per_emitter: int | None = None,
               name: str | None = None) -> Figures:
    """N emitter processes -> collector -> committed rows; with the collector's peak RSS, the CPU
    time each part spent per record, and over ZeroMQ the copies the collector received (ZMQ-6)."""
    bench.fresh_tables()
    emitters = emitters or bench.sizes.emitters
    per_emitter = per_emitter or bench.sizes.records // emitters
    name = name or transport
    total = per_emitter * emitters
    with collector(bench, transport) as (process, where):
        backends = bench.backend_pids()
        collector_cpu = cpu_seconds(process.process.pid)
        database_cpu = sum(map(cpu_seconds, backends))
        workers = [Worker("logduct", transport, where, per_emitter, i * per_emitter) for i in range(emitters)]
        try:
            began = start_all(workers)
            elapsed = bench.wait_for_last_rows(len(workers)) - began
            collector_cpu = cpu_seconds(process.process.pid) - collector_cpu
            database_cpu = sum(map(cpu_seconds, backends)) - database_cpu
            rss = process.peak_rss_bytes()
            results = [w.result(DEADLINE_S) for w in workers]
        finally:
            for w in workers:
                w.stop()
    stored = bench.count()
    if stored != total or any(r["lost"] for r in results):
        raise BenchError(f"{name} end to end: {stored:,} of {total:,} records stored")
    figures = {f"{name}_end_to_end": total / elapsed, f"{name}_collector_rss_mb": rss / 1e6,
               f"{name}_cpu_us_collector": collector_cpu / total * 1e6,
               f"{name}_cpu_us_emitters": sum(r["cpu"] for r in results) / total * 1e6}
    if backends:
        figures[f"{name}_cpu_us_postgres"] = database_cpu / total * 1e6
    if transport == "zmq":
        figures[f"{name}_duplicates_percent"] = 100 * _duplicates_received(process.stop()) / total
    return figures


def _duplicates_received(collector_log: str) -> int:
    """The copies a collector received and did not store again, from its closing counters (COL-5)."""
    found = re.search(r"duplicates ([\d,]+)", collector_log)
    return int(found[1].replace(",", "")) if found else 0


def fifo_end_to_end(bench: Bench) -> Figures:
    return end_to_end(bench, "fifo")


def zmq_end_to_end(bench: Bench) -> Figures:
    return end_to_end(bench, "zmq")


def latency(bench: Bench, transport: str) -> Figures:
    """Emit -> committed row at a fixed offered rate: each record carries the time it was sent, each
    row the time PostgreSQL wrote it (a column the bench adds, filled by clock_timestamp())."""
    bench.fresh_tables()
    bench.conn.execute("ALTER TABLE logs ADD COLUMN bench_written timestamptz DEFAULT clock_timestamp()")
    sizes = bench.sizes
    with collector(bench, transport) as (_, where):
        emitter = Worker("paced", transport, where, sizes.latency_rate, sizes.latency_seconds)
        try:
            start_all([emitter])
            bench.wait_for_last_rows(1)
            lost = emitter.result(DEADLINE_S)["lost"]
        finally:
            emitter.stop()
    p50, p99 = _one(bench.conn, "SELECT percentile_cont(ARRAY[0.5, 0.99]) WITHIN GROUP"
                    " (ORDER BY extract(epoch FROM bench_written - time) * 1000) FROM logs", list)
    stored = bench.count()
    expected = int(sizes.latency_rate * sizes.latency_seconds)
    if lost or stored != expected:
        raise BenchError(f"{transport} latency run: {stored:,} of {expected:,} records stored")
    return {f"{transport}_latency_p50_ms": float(p50), f"{transport}_latency_p99_ms": float(p99)}


def zmq_many_emitters(bench: Bench) -> Figures:
    """Many ZeroMQ emitter processes at once into one collector: the load where a fixed timeout
    turned into a storm of copies (ZMQ-13 to ZMQ-15)."""
    return end_to_end(bench, "zmq", bench.sizes.many_emitters, bench.sizes.many_records, "zmq_many")


def fifo_latency(bench: Bench) -> Figures:
    return latency(bench, "fifo")


def zmq_latency(bench: Bench) -> Figures:
    return latency(bench, "zmq")


# --- the seeds' patterns ----------------------------------------------------------------------------

def seed_fifo(bench: Bench) -> Figures:
    """The FIFO seed: emitters open, write and close the FIFO per record; a collector INSERTs each row.
    Records/s until the last row stored, and the share of records never stored."""
    bench.fresh_tables()
    path = bench.fifo("seed.fifo")
    per_emitter = bench.sizes.seed_records // bench.sizes.emitters
    total = per_emitter * bench.sizes.emitters
    seed_collector = Worker("seed-fifo-collector", path, bench.dsn)
    emitters = [Worker("seed-fifo-emitter", path, per_emitter, i * per_emitter)
                for i in range(bench.sizes.emitters)]
    try:
        start_all([seed_collector])
        began = start_all(emitters)
        last_change, stored = time.perf_counter(), 0
        while time.perf_counter() - last_change < 1.0:  # until no row came for a second
            now = bench.count()
            if now != stored:
                last_change, stored = time.perf_counter(), now
            if stored >= total:
                break
            time.sleep(0.02)
        for w in emitters:
            w.result(DEADLINE_S)
    finally:
        for w in [*emitters, seed_collector]:
            w.stop()
    if stored == 0:
        raise BenchError("the seed's FIFO pattern stored nothing")
    return {"seed_fifo": stored / (last_change - began), "seed_fifo_lost_percent": 100 * (total - stored) / total}


def seed_zmq(bench: Bench) -> Figures:
    """The ZeroMQ seed: one DEALER's send loop to a ROUTER that only receives; nothing is stored."""
    return {"seed_zmq": _router_receive_rate("seed-dealer", 1, bench.sizes.seed_zmq_records)}


# --- cost per log call --------------------------------------------------------------------------------

def emitter_cost(bench: Bench) -> Figures:
    """Microseconds of CPU per ``log.info`` through LogductHandler, and through the stdlib FileHandler
    writing the usual text line; interleaved rounds, the median of each."""
    path = bench.fifo("handler.fifo")
    drain = Worker("drain-fifo", path)
    start_all([drain])
    # BLOCK, not the default DROP_NEWEST: on a busy machine the reader lags, and a record dropped
    # would end the measure; a call that waits for room costs wall time, not the CPU time counted.
    emitter = FifoEmitter(path, overflow=Overflow.BLOCK)
    logductlog = _logger("bench.logduct", LogductHandler(emitter, application_name="WebApp",
                                                         environment_name="production"))
    file_handler = logging.FileHandler(bench.scratch / "file-handler.log")
    file_handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    filelog = _logger("bench.file", file_handler)
    runs: dict[str, list[float]] = {"handler_us_logduct": [], "handler_us_file": []}
    try:
        for _ in range(5):
            runs["handler_us_logduct"].append(_per_call_us(logductlog.info, bench.sizes.calls // 5))
            runs["handler_us_file"].append(_per_call_us(filelog.info, bench.sizes.calls // 5))
        if emitter.stats().dropped:  # a dropped record costs less than a sent one: the figure would flatter
            raise BenchError(f"the FIFO emitter dropped {emitter.stats().dropped:,} records while measured")
    finally:
        for log in (logductlog, filelog):
            for handler in log.handlers:
                handler.close()
                log.removeHandler(handler)
        drain.stop()
    return {name: statistics.median(values) for name, values in runs.items()}


def _logger(name: str, handler: logging.Handler) -> logging.Logger:
    log = logging.getLogger(name)
    log.propagate = False
    log.setLevel(logging.INFO)
    log.addHandler(handler)
    return log


def _per_call_us(info: Callable[..., None], calls: int) -> float:
    extra = {"user": "Shawn Corey Carter", "age": 48, "email": "someemail@email.com"}
    # CPU time of this process, every thread of it (an emitter's own thread too), not wall time: a call
    # costs microseconds, and on a busy machine the wall clock counts whatever else ran meanwhile.
    began = time.process_time()
    for _ in range(calls):
        info("login", extra=extra)
    return (time.process_time() - began) / calls * 1e6


#: In the order they run; each a step of the progress bar.
MEASURES: dict[str, Callable[[Bench], Figures]] = {
    "COPY limit": copy_limit,
    "raw FIFO": raw_fifo,
    "raw ZeroMQ": raw_zmq,
    "logduct FIFO end to end": fifo_end_to_end,
    "logduct ZeroMQ end to end": zmq_end_to_end,
    "logduct ZeroMQ, many emitters": zmq_many_emitters,
    "seed FIFO (row by row)": seed_fifo,
    "seed ZeroMQ (send loop)": seed_zmq,
    "emitter cost per call": emitter_cost,
    "FIFO latency": fifo_latency,
    "ZeroMQ latency": zmq_latency,
}
