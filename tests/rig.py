"""The reference as processes, into a test database: what the end-to-end tests start (the ``rig`` fixture)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from logduct_conformance.oracle import Record, encode
from logduct_conformance.processes import REFERENCE, Process, count_rows, fifo_has_reader, wait_for


def ndjson(records: Sequence[Record]) -> bytes:
    """The records' canonical lines, as an emitter reads them on stdin."""
    return b"".join(encode(r) for r in records)


class Rig:
    """Collectors of the reference into one test database, on the FIFO ``fifo``, the ZeroMQ ``endpoint``
    or both, and emitters to start against them."""

    def __init__(self, tmp_path: Path, dsn: str) -> None:
        self.tmp = tmp_path
        self.dsn = dsn
        self.fifo = tmp_path / "logs.fifo"
        self.endpoint = f"ipc://{tmp_path}/collector.ipc"
        self.collectors: list[Process] = []

    @property
    def collector(self) -> Process:
        """The collector started last."""
        return self.collectors[-1]

    def start(self, name: str, *args: str, stdin: bytes | None = None, lines_per_s: float | None = None) -> Process:
        """``logduct ARGS``, its output kept under ``name``."""
        return Process([*REFERENCE, *args], self.tmp, name, stdin=stdin, lines_per_s=lines_per_s)

    def collect_fifo(self, *extra: str) -> Process:
        """A collector on ``fifo``, returned once it holds the FIFO open for reading."""
        return self._collect(["--fifo", str(self.fifo), *extra], lambda _: fifo_has_reader(self.fifo),
                             "the collector to open its FIFO")

    def collect_zmq(self, *extra: str, endpoint: str | None = None) -> Process:
        """A collector on ``endpoint`` (``self.endpoint`` unless given), returned once it has bound."""
        return self._collect(["--zmq", endpoint or self.endpoint, *extra],
                             lambda collector: "collecting from ZeroMQ" in collector.stderr, "the collector to bind")

    def _collect(self, args: list[str], ready: Callable[[Process], bool], what: str) -> Process:
        collector = self.start(f"collector-{len(self.collectors)}", "collect", *args, "--dsn", self.dsn)
        self.collectors.append(collector)
        wait_for(lambda: ready(collector) or collector.popen.poll() is not None, what)
        assert collector.popen.poll() is None, collector.stderr
        return collector

    def emit_fifo(self, records: Sequence[Record] | bytes, name: str, *extra: str) -> Process:
        """An emitter on ``fifo``, given ``records`` (or raw bytes) on stdin."""
        data = records if isinstance(records, bytes) else ndjson(records)
        return self.start(name, "emit", "--fifo", str(self.fifo), *extra, stdin=data)

    def emit_zmq(self, records: Sequence[Record], name: str, *extra: str, lines_per_s: float | None = None,
                 endpoints: Sequence[str] | None = None) -> Process:
        """An emitter on ``endpoints`` (``self.endpoint`` unless given), given ``records`` on stdin, all at
        once or at ``lines_per_s``."""
        where = [arg for endpoint in (endpoints or [self.endpoint]) for arg in ("--zmq", endpoint)]
        return self.start(name, "emit", *where, *extra, stdin=ndjson(records), lines_per_s=lines_per_s)

    def wait_rows(self, n: int, table: str = "logs", timeout_s: float = 60) -> None:
        wait_for(lambda: count_rows(self.dsn, table) >= n, f"{n} rows in {table}", timeout_s=timeout_s)
