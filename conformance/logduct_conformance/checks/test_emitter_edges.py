"""An emitter on a FIFO at the edges: a refused line among good ones, a FIFO nobody reads yet, a pipe that
fills and a reader that goes away (SPEC.md sections 3, 4 and 9)."""

from __future__ import annotations

import fcntl
import os
import re
import signal
from pathlib import Path

import pytest

from logduct_conformance import load_vectors
from logduct_conformance.oracle import encode
from logduct_conformance.peers import RawFifoReader
from logduct_conformance.plugin import Implementation, RuleVerdicts
from logduct_conformance.processes import Process, unread_bytes, wait_for
from logduct_conformance.strategies import record

pytestmark = pytest.mark.needs("emitter", "fifo")


def emit(implementation: Implementation, fifo: Path, data: bytes, name: str) -> Process:
    return Process(implementation.emit("--fifo", str(fifo)), fifo.parent, name, stdin=data)


#: How long an emitter is watched for giving up or dying. Long enough that a Python emitter started on a
#: loaded machine has reached its open() and first write (1 s was seen too short at load 17, hiding a
#: fault); a correct emitter costs the run this much, a faulty one less.
WATCH_S = 3.0


def still_running_after(process: Process, seconds: float) -> bool:
    """Watch ``process`` for ``seconds``: False as soon as it exits. A busy machine can only make an
    emitter that would exit take longer to, so the watch can hide a fault, never invent one."""
    try:
        wait_for(lambda: process.popen.poll() is not None, "the emitter to exit", timeout_s=seconds)
    except TimeoutError:
        return True
    return False


#: (vector, its line number, lines in all): one refused line per run, so that all the run's standard
#: error is about it, whether the emitter reports on one line or several.
REFUSALS = [("missing-trace-id", 3, 5), ("not-json", 11, 12)]


@pytest.mark.rules("CLI-2", "EMIT-1")
def test_a_refused_line_is_named_by_number_and_rule_and_the_other_records_are_sent(
        implementation: Implementation, tmp_path: Path, by_rule: RuleVerdicts) -> None:
    """An invalid record among valid ones: standard error names its line number and the rule it breaks,
    the exit status is not 0, nothing of it is written, and every other record is, in order."""
    vectors = {vector.name: vector for vector in load_vectors()}
    for name, number, total in REFUSALS:
        bad = vectors[name]
        lines = [encode(record(n)) for n in range(total)]
        lines[number - 1] = bad.line
        reader = RawFifoReader(tmp_path / f"{name}.fifo")
        emitter = emit(implementation, tmp_path / f"{name}.fifo", b"".join(lines), f"emitter-{name}")
        status = emitter.wait()
        written = reader.drain()  # whatever the emitter wrote is in the pipe once it has exited
        reader.close()
        others = [line[:-1] for i, line in enumerate(lines) if i != number - 1]
        with by_rule.check("CLI-2", f"{name} on line {number}: the exit status"):
            assert status != 0, "exit status 0 though a record was refused"
        with by_rule.check("CLI-2", f"{name} on line {number}: the other records"):
            assert written == others, f"{len(written)} lines written; the {total - 1} others, in order, are owed"
        with by_rule.check("CLI-2", f"{name} on line {number}: its number"):
            assert re.search(rf"(?<![0-9]){number}(?![0-9])", emitter.stderr), (
                f"standard error does not name line {number}: {emitter.stderr[-500:]!r}")
        with by_rule.check("EMIT-1", f"{name} on line {number}: its rule"):
            assert bad.rules[0] in emitter.stderr, (f"standard error does not name {bad.rules[0]}, the rule line "
                                                    f"{number} breaks: {emitter.stderr[-500:]!r}")
        with by_rule.check("EMIT-1", f"{name} on line {number}: nothing of it written"):
            assert bad.line[:-1] not in written


@pytest.mark.rules("FIFO-4")
def test_an_emitter_meeting_a_fifo_no_one_reads_waits_and_then_delivers_everything(
        implementation: Implementation, tmp_path: Path) -> None:
    """The FIFO exists but has no reader (a writer's open meets ENXIO): the emitter neither gives up nor
    drops a record; once a reader opens, every record arrives, in order, and the exit status is 0."""
    fifo = tmp_path / "logs.fifo"
    os.mkfifo(fifo, 0o600)
    lines = [encode(record(n)) for n in range(200)]
    emitter = emit(implementation, fifo, b"".join(lines), "emitter")
    assert still_running_after(emitter, WATCH_S), (
        f"the emitter exited (status {emitter.popen.returncode}) while its FIFO had no reader: it gave up. "
        f"{emitter.stderr[-500:]}")
    reader = RawFifoReader(fifo)
    assert reader.wait_lines(len(lines)) == [line[:-1] for line in lines]
    assert emitter.wait() == 0, emitter.stderr[-1000:]
    reader.close()


@pytest.mark.rules("FIFO-5")
def test_a_full_pipe_and_a_reader_that_goes_away_cost_no_record(implementation: Implementation,
                                                                 tmp_path: Path) -> None:
    """500 records into a 16 KiB pipe: the pipe fills (EAGAIN); the reader reads half a pipeful and goes
    away (EPIPE). The emitter does not die of SIGPIPE, and once a new reader comes, every record has
    arrived once, in order, across the two readers."""
    fifo = tmp_path / "logs.fifo"
    first = RawFifoReader(fifo, pipe_size=16_384)
    capacity = fcntl.fcntl(first.reader.fileno(), fcntl.F_GETPIPE_SZ)
    # The suite's own writer, which never writes: while it holds the FIFO, what is in the pipe stays
    # there with no reader, whatever the emitter does with its descriptor. It is not a reader, so the
    # emitter's writes meet EPIPE all the same.
    keeper = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
    try:
        lines = [encode(record(n, size=256)) for n in range(500)]  # 16 to a page: a pipe fills exactly
        emitter = emit(implementation, fifo, b"".join(lines), "emitter")
        wait_for(lambda: unread_bytes(fifo) > capacity - 256 or emitter.popen.poll() is not None, "the pipe to fill")
        first.drain(at_most=capacity // 2)  # room for more: the emitter writes on, and then meets no reader
        first.close()
        still_running_after(emitter, WATCH_S)  # time to meet the missing reader
        killed_by = -(emitter.popen.returncode or 0)
        assert killed_by <= 0, (f"the emitter was killed by signal {killed_by}"
                                f"{' (SIGPIPE)' if killed_by == signal.SIGPIPE else ''} once its reader had gone")
        second = RawFifoReader(fifo)
        wait_for(lambda: len(first.lines + second.drain()) >= len(lines) or emitter.popen.poll() is not None,
                 "every record, or the emitter's exit")
        got = first.lines + second.drain()  # once the emitter has exited, all it wrote is in the pipe
        second.close()
    finally:
        os.close(keeper)
    want = [line[:-1] for line in lines]
    assert got == want, (f"across the two readers, {len(set(want) - set(got))} of {len(want)} records never came, "
                         f"{len(got) - len(set(got))} came twice, or they came out of order")
    assert emitter.wait() == 0, emitter.stderr[-1000:]
