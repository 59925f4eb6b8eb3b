"""The benchmark's processes: logduct's emitters, raw transport peers, and the seeds' patterns.

    python -m bench.workers KIND ARG...

Every worker prepares its records first, prints ``ready``, waits for a line on stdin, then runs
and prints one JSON object of figures. The parent starts the clock when it says go, so that
preparing the records is never counted, and all workers of a run start together.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import sys
import time
from collections.abc import Callable
from datetime import datetime, timezone

import psycopg
import zmq

from logduct.fifo import PIPE_BUF
from logduct.fifo_emitter import FifoEmitter
from logduct.record import encode
from logduct.sending import Emitter, Overflow
from logduct.zmq_emitter import ZmqEmitter

from .orphans import die_with_parent
from .processes import PARENT_ENV
from .records import lines, record, records

Worker = Callable[..., dict[str, float]]
WORKERS: dict[str, Worker] = {}


def worker(function: Worker) -> Worker:
    WORKERS[function.__name__.replace("_", "-")] = function
    return function


def _ready() -> float:
    """Say ready, wait for go; the CPU time used so far, not to be counted."""
    print("ready", flush=True)
    sys.stdin.readline()
    return _cpu_s()


@worker
def logduct(transport: str, where: str, count: str, first: str) -> dict[str, float]:
    """An application sending records through logduct's FIFO or ZeroMQ emitter, encoding included;
    done when every record is handed over (FIFO) or acknowledged (ZeroMQ)."""
    batch = records(int(count), int(first))
    emitter: Emitter = (FifoEmitter(where, overflow=Overflow.BLOCK) if transport == "fifo"
                        else ZmqEmitter(where, overflow=Overflow.BLOCK))
    cpu = _ready()
    began = time.perf_counter()
    for r in batch:
        emitter.send(r)
    lost = emitter.close(timeout_s=None)
    resent = emitter.stats().resent
    return {"seconds": time.perf_counter() - began, "lost": lost, "cpu": _cpu_s() - cpu, "resent": resent}


@worker
def paced(transport: str, where: str, rate: str, seconds: str) -> dict[str, float]:
    """Records stamped with the time they are sent, at a fixed rate: for latency to the committed row."""
    # BLOCK, not the application's DROP_NEWEST: on a busy machine a late record must show as latency,
    # not vanish from the measurement.
    emitter = (FifoEmitter(where, overflow=Overflow.BLOCK) if transport == "fifo"
               else ZmqEmitter(where, overflow=Overflow.BLOCK))
    per_tick, tick_s = max(1, int(rate) // 1000), max(1, int(rate) // 1000) / int(rate)
    total = int(float(seconds) * int(rate))
    _ready()
    began = time.perf_counter()
    sent = dropped = 0
    while sent < total:
        now = datetime.now(timezone.utc)
        for _ in range(min(per_tick, total - sent)):
            sent += 1
            dropped += not emitter.send(record(sent, when=now, last=sent == total))
        pause = began + sent / int(rate) - time.perf_counter()
        if pause > 0:
            time.sleep(pause if pause < tick_s * 2 else tick_s)
    lost = emitter.close(timeout_s=None)
    return {"seconds": time.perf_counter() - began, "lost": lost + dropped}


@worker
def raw_fifo_writer(path: str, count: str) -> dict[str, float]:
    """The most a FIFO carries: one blocking write() per pre-encoded line, nothing else."""
    batch = lines(int(count))
    fd = os.open(path, os.O_WRONLY)
    _ready()
    began = time.perf_counter()
    for line in batch:
        os.write(fd, line)
    os.close(fd)
    return {"seconds": time.perf_counter() - began}


@worker
def raw_dealer(endpoint: str, count: str) -> dict[str, float]:
    """The most DEALER -> ROUTER carries: one pre-encoded line a message, no acknowledgement."""
    return _send_loop(endpoint, lines(int(count)), {zmq.SNDHWM: 0})


@worker
def drain_fifo(path: str) -> dict[str, float]:
    """A reader that keeps a FIFO empty, for emitters measured on their own."""
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    fd = os.open(path, os.O_RDWR)  # O_RDWR: no EOF between writers
    _ready()
    while True:
        os.read(fd, 1 << 18)


@worker
def seed_fifo_emitter(path: str, count: str, first: str) -> dict[str, float]:
    """The FIFO seed's emitter: open the FIFO, write one record, close it, for every record."""
    batch = lines(int(count), int(first))
    _ready()
    began = time.perf_counter()
    for line in batch:
        with open(path, "wb") as fifo:
            fifo.write(line)
    return {"seconds": time.perf_counter() - began}


@worker
def seed_fifo_collector(path: str, dsn: str) -> dict[str, float]:
    """The FIFO seed's collector: read lines, INSERT each in its own transaction; reopen at EOF."""
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    insert = ("INSERT INTO logs (time, application_name, environment_name, log_event, trace_id, file_path,"
              " host_ip, data) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)")
    with psycopg.connect(dsn, autocommit=True) as conn:
        _ready()
        while True:
            with open(path, "rb") as fifo:
                for line in fifo:
                    r = json.loads(line)
                    conn.execute(insert, (r["time"], r["application_name"], r["environment_name"], r["log_event"],
                                          r["trace_id"], r["file_path"], r["host_ip"], json.dumps(r["data"])))


@worker
def seed_dealer(endpoint: str, count: str) -> dict[str, float]:
    """The ZeroMQ seed's app: a DEALER with its own identity in a send loop ("100,000 logs in 1.3 s")."""
    return _send_loop(endpoint, lines(int(count)), {zmq.IDENTITY: f"app-myApp-{os.getpid()}".encode()})


def _send_loop(endpoint: str, batch: list[bytes], options: dict[int, int | bytes]) -> dict[str, float]:
    """Send each line as one message from a DEALER; the seconds the loop took."""
    with zmq.Context() as context, context.socket(zmq.DEALER) as socket:
        for option, value in {zmq.LINGER: -1, **options}.items():
            socket.setsockopt(option, value)
        socket.connect(endpoint)
        _ready()
        began = time.perf_counter()
        for line in batch:
            socket.send(line)
        sent = time.perf_counter() - began
    return {"seconds": sent}


@worker
def tcp_feeder(address: str, count: str, first: str) -> dict[str, float]:
    """An application sending records to a peer over TCP, one canonical JSON line each, encoding
    included as logduct's emitters include it; the bytes go out in sends of up to 64 KiB."""
    host, port = address.rsplit(":", 1)
    batch = records(int(count), int(first))
    with socket.create_connection((host, int(port))) as connection:
        cpu = _ready()
        began = time.perf_counter()
        pending: list[bytes] = []
        size = 0
        for r in batch:
            line = encode(r)
            pending.append(line)
            size += len(line)
            if size >= 1 << 16:
                connection.sendall(b"".join(pending))
                pending, size = [], 0
        connection.sendall(b"".join(pending))
        connection.shutdown(socket.SHUT_WR)
    return {"seconds": time.perf_counter() - began, "lost": 0, "cpu": _cpu_s() - cpu}


@worker
def fifo_feeder(path: str, count: str, first: str) -> dict[str, float]:
    """An application writing records into a FIFO another program reads (syslog-ng's pipe()): whole
    lines only, up to PIPE_BUF bytes a write(), so that two writers' lines never interleave."""
    batch = records(int(count), int(first))
    fd = os.open(path, os.O_WRONLY)  # blocks until the reader has the FIFO open
    cpu = _ready()
    began = time.perf_counter()
    pending = b""
    for r in batch:
        line = encode(r)
        if len(pending) + len(line) > PIPE_BUF:
            os.write(fd, pending)  # blocking, a pipe write of at most PIPE_BUF is whole
            pending = b""
        pending += line
    os.write(fd, pending)
    os.close(fd)
    return {"seconds": time.perf_counter() - began, "lost": 0, "cpu": _cpu_s() - cpu}


def _cpu_s() -> float:
    """CPU time this process has used, user and system."""
    times = os.times()
    return times.user + times.system


def main() -> None:
    if os.environ.get(PARENT_ENV):  # killed by the kernel if the bench dies first
        die_with_parent(int(os.environ[PARENT_ENV]))
    kind, *args = sys.argv[1:]
    print(json.dumps(WORKERS[kind](*args)), flush=True)
    # The figures are out. The interpreter's teardown is no part of any measure, yet it costs each
    # worker 20 to 40 ms of CPU, and fifty emitters finishing at different times would spend it
    # beside the ones still sending: 50 x 2,000 records ran at 44-53k records/s with it, 72-75k
    # without (issue 10). Nothing is left to flush or close.
    os._exit(0)


if __name__ == "__main__":
    main()
