"""What the checks share: the suite's raw peers, and the implementation's processes, started the way
SPEC.md section 9 says and looked at from the outside: the bytes on the wire, the rows in the table."""

from __future__ import annotations

import errno
import os
import re
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import psycopg
import pytest

from logduct_conformance.oracle import Record, canonical_difference, read_line
from logduct_conformance.peers import RawFifoReader, no_leftover_peers  # noqa: F401 (an autouse fixture)
from logduct_conformance.plugin import Implementation
from logduct_conformance.processes import (
    Process,
    count_rows,
    fifo_has_reader,
    no_leftover_processes,  # noqa: F401 (an autouse fixture)
    stored_records,
    wait_for,
)

#: Generated inputs per check: each example starts processes, so the ci profile keeps them few.
EXAMPLES = 40 if os.environ.get("HYPOTHESIS_PROFILE") == "thorough" else 4
#: COL-8: "a collector stores at least 100 and at most 1,000 rejections per input and per second".
REJECTIONS_PER_SECOND = 100
#: COL-7: a rejection line of the standard-output sink; any other stderr line is informational.
_REJECTION_LINE = re.compile(r"rejected from .*?: ([A-Z]+-[0-9]+): ")


class CollectorUnderTest:
    """The implementation's collector on a FIFO, into the suite's PostgreSQL or onto its stdout."""

    def __init__(self, implementation: Implementation, workdir: Path, dsn: str | None) -> None:
        self.implementation = implementation
        self.workdir = workdir
        self.dsn = dsn
        self.fifo = workdir / "logs.fifo"
        self.processes: list[Process] = []

    def start(self, *transport: str) -> Process:
        args = transport or ("--fifo", str(self.fifo))
        sink = ("--dsn", self.dsn) if self.dsn else ("--stdout",)
        process = Process(self.implementation.collect(*args, *sink), self.workdir, f"collector-{len(self.processes)}")
        self.processes.append(process)
        if not transport:
            wait_for(lambda: fifo_has_reader(self.fifo) or process.popen.poll() is not None,
                     "the collector to open its FIFO")
            assert process.popen.poll() is None, f"the collector exited at start: {process.stderr}"
        return process

    @property
    def current(self) -> Process:
        return self.processes[-1]

    def write(self, data: bytes) -> None:
        """Raw bytes into the FIFO, each line in one write as a conforming emitter would."""
        fd = os.open(self.fifo, os.O_WRONLY)
        try:
            for line in data.splitlines(keepends=True):
                os.write(fd, line)
        finally:
            os.close(fd)

    def write_paced(self, lines: Sequence[tuple[bytes, bool]]) -> None:
        """Write ``lines``, each (bytes, whether the collector must reject them), with at most
        REJECTIONS_PER_SECOND rejections a second: COL-8 lets a collector keep no more of an input's,
        and a check that counts rejections must not meet that bound. Round after round: the round's
        rejections awaited, then a second let pass, so that the next round's fall in a later second
        on any clock; a busy machine can only lengthen the pause. A round whose rejections never
        come (a collector that drops lines in silence) is left for the check to name."""
        rounds: list[tuple[bytes, int]] = []
        pieces: list[bytes] = []
        bad = 0
        for data, rejected in lines:
            if rejected and bad == REJECTIONS_PER_SECOND:
                rounds.append((b"".join(pieces), bad))
                pieces, bad = [], 0
            pieces.append(data)
            bad += rejected
        rounds.append((b"".join(pieces), bad))
        expected = len(self.rejections())
        written = self.accounted_for()
        for n, (data, bad) in enumerate(rounds):
            if not self._write_if_read(data):
                return  # the collector has ended: the check names the line it died of
            expected += bad
            written += data.count(b"\n")
            if n == len(rounds) - 1:
                break
            try:
                wait_for(self._rejected_or_ended(expected, written), f"the rejections of round {n + 1} of writes")
            except TimeoutError:
                pass
            time.sleep(1.0)

    def _write_if_read(self, data: bytes) -> bool:
        """``write``, unless no one reads the FIFO any more (its collector died): then False, at once,
        where a blocking open would wait for ever for a reader."""
        try:
            fd = os.open(self.fifo, os.O_WRONLY | os.O_NONBLOCK)
        except OSError as error:
            if error.errno == errno.ENXIO:  # no reader
                return False
            raise
        os.set_blocking(fd, True)
        try:
            for line in data.splitlines(keepends=True):
                os.write(fd, line)
        except BrokenPipeError:
            return False
        finally:
            os.close(fd)
        return True

    def _rejected_or_ended(self, n: int, lines: int) -> Callable[[], bool]:
        """Done once ``n`` rejections are in, or once every one of ``lines`` is stored or rejected (a
        collector that stores what it should reject: waiting on would only run out the clock), or
        once the collector has ended."""
        return lambda: (len(self.rejections()) >= n or self.accounted_for() >= lines
                        or self.current.popen.poll() is not None)

    def accounted_for(self) -> int:
        """Lines the collector has stored or rejected so far: rows of logs and logs_rejected, or lines on
        stdout and COL-7's lines on stderr. A count only: what they hold is for the checks to judge."""
        if self.dsn:
            return count_rows(self.dsn) + count_rows(self.dsn, "logs_rejected")
        return sum(len(complete_lines(p.stdout)) for p in self.processes) + len(self.rejections())

    def accepted(self) -> list[Record]:
        """What the collector stored: rows of logs, or the lines it printed, each of which must be the
        canonical line of a valid record, byte for byte (COL-7, ENC-5)."""
        if self.dsn:
            return stored_records(self.dsn)
        return [printed_record(line) for p in self.processes for line in complete_lines(p.stdout)]

    def rejections(self) -> list[tuple[str, bytes | None]]:
        """(rule, raw) of each rejection, in no promised order: rows of logs_rejected (the rows of one
        commit share received_at, and nothing else orders them), or COL-7's lines on stderr, which
        carry no raw bytes."""
        if self.dsn:
            with psycopg.connect(self.dsn) as conn:
                try:
                    return [(rule, bytes(raw)) for rule, raw in conn.execute("SELECT rule, raw FROM logs_rejected")]
                except psycopg.errors.UndefinedTable:
                    return []
        found = [_REJECTION_LINE.search(line) for p in self.processes for line in p.stderr.splitlines()]
        return [(match.group(1), None) for match in found if match]

    def rejected_rules(self) -> list[str]:
        """The rule of each rejection, sorted: no order of rejections is promised."""
        return sorted(rule for rule, _ in self.rejections())

    def wait_accepted(self, n: int, timeout_s: float = 30) -> list[Record]:
        wait_for(lambda: len(self.accepted()) >= n, f"{n} records stored", timeout_s)
        return self.accepted()

    def settle(self, n: int, timeout_s: float = 30) -> None:
        """Wait until ``n`` records are stored, or until the deadline: what is missing then is for the
        check to name under its rule, not for a timeout to report."""
        try:
            self.wait_accepted(n, timeout_s)
        except TimeoutError:
            pass

    def stop_all(self) -> None:
        for process in self.processes:
            process.kill()


def mentions_count(report: str, n: int) -> bool:
    """Whether ``report`` holds the number ``n`` on its own, as 1234 or 1,234 (COL-5 leaves the form open)."""
    # Not part of a longer number: no digit, "d," or "d." just before it, no digit or ",d" just after.
    return any(re.search(rf"(?<![\d.])(?<!\d,){re.escape(spelt)}(?!\d|,\d)", report) for spelt in (str(n), f"{n:,}"))


def complete_lines(output: bytes) -> list[bytes]:
    """The lines of ``output`` with their LF; a last line still being written is not one yet."""
    return [line + b"\n" for line in output.split(b"\n")[:-1]]


def printed_record(line: bytes) -> Record:
    """The record a standard-output sink printed as ``line``: COL-7 makes it the canonical line."""
    wrong = canonical_difference(line)
    assert wrong is None, f"COL-7: the collector printed a line that is {wrong}"
    return read_line(line)


@pytest.fixture
def collector(implementation: Implementation, tmp_path: Path, request: pytest.FixtureRequest
              ) -> Iterator[CollectorUnderTest]:
    """The implementation's collector, into the suite's own PostgreSQL if it has one, else stdout
    (checks that use it need the feature "sink", one of the two)."""
    dsn = request.getfixturevalue("pg_dsn") if "postgres" in implementation.features else None
    under_test = CollectorUnderTest(implementation, tmp_path, dsn)
    yield under_test
    under_test.stop_all()


@pytest.fixture
def raw_reader(tmp_path: Path) -> Iterator[RawFifoReader]:
    """The suite's reader on a fresh FIFO, open before the emitter starts."""
    reader = RawFifoReader(tmp_path / "logs.fifo")
    yield reader
    reader.close()
