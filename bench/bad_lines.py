"""What one bad line costs: 200 good records with four bad lines among them, sent to each contender.

The bad lines are those a real application or a half-written line produces: a line cut short
(invalid JSON), a string with bytes that are no UTF-8, a record without ``time``, one without
``host_ip``. For each contender this finds the good rows lost, how long until the last good row was
stored, and where each bad line went: quarantined with its rule (``logs_rejected``), stored mangled
(which columns differ from what was meant), or not stored and nothing said.

A contender may stall: syslog-ng retries a failed batch 60 s later, three times. The measure waits
at most ``GIVE_UP_S`` for the good rows, then reports what was stored by then, not what might come.
"""

from __future__ import annotations

import json
import os
import socket
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from logduct.record import Record, encode
from logduct.zmq_emitter import ZmqEmitter

from .measures import Bench, collector
from .peer_measures import COLUMNS
from .peers import Peer, PeerProcess
from .records import record

GOOD = 200
#: How long after the lines are sent the good rows may take before the contender counts as stalled.
GIVE_UP_S = 20.0
#: After the last good row, how long to keep watching for bad lines to land somewhere.
SETTLE_S = 1.0


def _without(line: bytes, key: str) -> bytes:
    fields = json.loads(line)
    del fields[key]
    return json.dumps(fields, ensure_ascii=False, separators=(",", ":")).encode() + b"\n"


#: Each bad line, made from a record of its own (its trace_id finds it wherever it went).
BAD_LINES: dict[str, Callable[[bytes], bytes]] = {
    "invalid JSON": lambda line: line.rstrip(b"\n")[:-1] + b"\n",  # cut short: the last } is missing
    "invalid UTF-8": lambda line: line.replace(b"Corey", b"\xff\xfe"),
    "no time": lambda line: _without(line, "time"),
    "no host_ip": lambda line: _without(line, "host_ip"),
}


@dataclass
class Outcome:
    """What one contender made of the good and the bad lines."""

    contender: str
    good_stored: int = 0
    good_wrong: int = 0  # stored, but not as sent
    seconds_to_last_good: float | None = None  # None: not all stored within GIVE_UP_S
    seconds_to_last_stored: float | None = None  # when the last good row that was stored came; None: none came
    bad: dict[str, str] = field(default_factory=dict)  # bad line -> where it went
    said: list[str] = field(default_factory=list)  # the contender's own error messages, the first few

    @property
    def good_lost(self) -> int:
        return GOOD - self.good_stored

    def as_json(self) -> dict[str, Any]:
        return {"contender": self.contender, "good_sent": GOOD, "good_stored": self.good_stored,
                "good_lost": self.good_lost, "good_wrong": self.good_wrong,
                "seconds_to_last_good": self.seconds_to_last_good,
                "seconds_to_last_stored": self.seconds_to_last_stored, "gave_up_after_s": GIVE_UP_S, "bad": self.bad,
                "said": self.said}


def traffic() -> tuple[list[Record], dict[str, Record], list[bytes]]:
    """The good records, the records each bad line was made from, and every line in sending order:
    a bad line after every 40 good ones."""
    good = [record(i, last=i == GOOD - 1) for i in range(GOOD)]
    sources = {name: record(1_000_000 + k) for k, name in enumerate(BAD_LINES)}
    lines = [encode(r) for r in good]
    for k, (name, spoil) in reversed(list(enumerate(BAD_LINES.items()))):
        lines.insert(40 * (k + 1), spoil(encode(sources[name])))
    return good, sources, lines


def measure(bench: Bench, contender: str, send: Callable[[list[bytes]], None], quarantines: bool) -> Outcome:
    """Send the traffic with ``send`` to a contender already running; watch the table; judge."""
    good, sources, lines = traffic()
    good_ids = [r.trace_id for r in good]
    outcome = Outcome(contender)
    began = time.perf_counter()
    send(lines)
    last_seen, last_change = 0, began
    while time.perf_counter() - began < GIVE_UP_S:
        stored = bench.count_where("trace_id = ANY(%s)", good_ids)
        if stored != last_seen:
            last_seen, last_change = stored, time.perf_counter()
        rejected = bench.count_where("TRUE", table="logs_rejected") if quarantines else len(BAD_LINES)
        if stored >= GOOD and rejected >= len(BAD_LINES):
            outcome.seconds_to_last_good = last_change - began
            break
        time.sleep(0.02)
    outcome.seconds_to_last_stored = last_change - began if last_seen else None
    if outcome.seconds_to_last_good is not None and not quarantines:
        time.sleep(SETTLE_S)  # a peer's mangled rows may come in a later batch than the last good one
    judge(bench, outcome, good, sources)
    return outcome


def judge(bench: Bench, outcome: Outcome, good: list[Record], sources: dict[str, Record]) -> None:
    rows = {str(row[4]): row for row in bench.conn.execute(f"SELECT {COLUMNS} FROM logs")}
    for r in good:
        if r.trace_id in rows:
            outcome.good_stored += 1
            outcome.good_wrong += rows[r.trace_id] != _as_row(r)
    rejected = bench.conn.execute("SELECT rule, raw FROM logs_rejected").fetchall()
    for name, source in sources.items():
        rules = sorted({str(rule) for rule, raw in rejected
                        if isinstance(raw, bytes) and source.trace_id.encode() in raw})
        if rules:
            outcome.bad[name] = f"quarantined: {', '.join(rules)}"
        elif source.trace_id in rows:
            outcome.bad[name] = "stored, mangled: " + _difference(rows[source.trace_id], _as_row(source))
        elif outcome.seconds_to_last_good is None:
            outcome.bad[name] = f"not stored within {GIVE_UP_S:g} s"
        else:
            outcome.bad[name] = "not stored, nothing in logs_rejected"


def _as_row(r: Record) -> tuple[object, ...]:
    return (r.time, r.application_name, r.environment_name, r.log_event, r.trace_id, r.file_path, r.host_ip, r.data)


def _difference(stored: tuple[object, ...], meant: tuple[object, ...]) -> str:
    """The columns (and members of data) stored otherwise than the source record had them."""
    diffs: list[str] = []
    for name, value, want in zip([c.strip() for c in COLUMNS.split(",")], stored, meant, strict=True):
        if value == want:
            continue
        if isinstance(value, dict) and isinstance(want, dict):
            diffs += [f"{name}.{k} {v!r}" for k, v in value.items() if want.get(k) != v]
            diffs += [f"{name}.{k} missing" for k in want.keys() - value.keys()]
        else:
            diffs.append(f"{name} {value!r}")
    return ", ".join(diffs) or "as meant"


# --- the contenders -------------------------------------------------------------------------------

def logduct_fifo(bench: Bench) -> Outcome:
    bench.fresh_tables()
    with collector(bench, "fifo") as (_, path):
        def send(lines: list[bytes]) -> None:
            fd = os.open(path, os.O_WRONLY)
            try:
                for line in lines:  # one write() a line, as FifoEmitter writes (FIFO-2)
                    os.write(fd, line)
            finally:
                os.close(fd)
        return measure(bench, "logduct FIFO", send, quarantines=True)


def logduct_zmq(bench: Bench) -> Outcome:
    bench.fresh_tables()
    with collector(bench, "zmq") as (_, endpoint):
        emitter = ZmqEmitter(endpoint)

        def send(lines: list[bytes]) -> None:
            for line in lines:  # send_line checks nothing but the size: the bad lines go out too
                emitter.send_line(line)
        try:
            return measure(bench, "logduct ZeroMQ", send, quarantines=True)
        finally:
            emitter.close(timeout_s=5)


def peer(bench: Bench, contender: Peer) -> Outcome:
    bench.fresh_tables()
    with _running(contender, bench) as process:
        def send(lines: list[bytes]) -> None:
            if contender.feed == "tcp":
                with socket.create_connection(("127.0.0.1", process.port)) as connection:
                    connection.sendall(b"".join(lines))
            else:
                fd = os.open(process.where, os.O_WRONLY)
                try:
                    for line in lines:
                        os.write(fd, line)
                finally:
                    os.close(fd)
        outcome = measure(bench, contender.label, send, quarantines=False)
        outcome.said = [line[:300] for line in process.output().splitlines() if "rror" in line][:3]
        return outcome


@contextmanager
def _running(contender: Peer, bench: Bench) -> Iterator[PeerProcess]:
    process = PeerProcess(contender, bench.dsn, bench.scratch / f"{contender.name}-bad-lines")
    try:
        yield process
    finally:
        process.stop()
