"""An emitter on a FIFO, read by the suite itself: the bytes it writes, and when (SPEC.md 2 to 4)."""

from __future__ import annotations

import fcntl
import itertools
import os
import time
from dataclasses import replace
from datetime import timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from logduct_conformance import load_vectors
from logduct_conformance.oracle import (
    PIPE_BUF,
    PORTABLE_PIPE_BUF,
    Record,
    Refused,
    encode,
    matches_canonical,
    read_line,
)
from logduct_conformance.peers import RawFifoReader
from logduct_conformance.plugin import Implementation, RuleVerdicts
from logduct_conformance.processes import Process, unread_bytes, wait_for
from logduct_conformance.strategies import record, records, spellings

from .conftest import EXAMPLES

pytestmark = pytest.mark.needs("emitter", "fifo")


def emit(implementation: Implementation, fifo: Path, data: bytes, name: str, *extra: str) -> Process:
    return Process(implementation.emit("--fifo", str(fifo), *extra), fifo.parent, name, stdin=data)


def _trace_id(line: bytes) -> str | None:
    """The trace_id a line carries, however it is spelt; None if it is no record."""
    try:
        return read_line(line + b"\n").trace_id
    except Refused:
        return None


def _later_first(first: Record, second: Record) -> tuple[Record, Record]:
    """The two records with the first dated later (EMIT-4 must hold whatever the times say): their
    times swapped, or the second moved a microsecond earlier where they are the same."""
    if first.time > second.time:
        return first, second
    if first.time < second.time:
        return replace(first, time=second.time), replace(second, time=first.time)
    tick = timedelta(microseconds=1)
    try:
        earlier = second.time - tick
        earlier.astimezone(timezone.utc)  # REC-7: still an instant of years 1 to 9999 in UTC
    except OverflowError:  # the second is the first instant there is: the first moves instead
        return replace(first, time=first.time + tick), second
    return first, replace(second, time=earlier)


def assert_canonical(line: bytes, expected: Record) -> None:
    """ENC-5: byte for byte the canonical encoding, but for the spelling of non-integer numbers."""
    canonical = encode(expected)
    assert matches_canonical(line + b"\n", canonical), (
        f"not the canonical encoding (ENC-5):\n  got  {line[:300]!r}\n  want {canonical[:300]!r}")


@pytest.mark.rules("ENC-4", "ENC-5", "EMIT-4", "FIFO-2")
@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.data())
def test_emitter_writes_each_record_as_one_canonical_line_in_order(
        implementation: Implementation, tmp_path_factory: pytest.TempPathFactory, by_rule: RuleVerdicts,
        data: st.DataObject) -> None:
    """Records given in any legal spelling: one line each (FIFO-2), in the order given (EMIT-4), every
    one re-encoded, never sent as it was given when that is not canonical (ENC-4), and what was
    encoded is the canonical line of its record (ENC-5). (A failing block records its verdict and the
    examples go on: Hypothesis does not shrink them.)"""
    batch = data.draw(st.lists(records(), min_size=2, max_size=20))  # two at least: an order to keep
    batch = [replace(r, trace_id=f"order-{i}") for i, r in enumerate(batch)]  # so that order can be told
    batch = [r for r in batch if len(encode(r)) <= PIPE_BUF]
    if len(batch) >= 2:  # an emitter that sorts by time shows only where times are out of order
        batch[0], batch[1] = _later_first(batch[0], batch[1])
    folder = tmp_path_factory.mktemp("emit")
    reader = RawFifoReader(folder / "logs.fifo")
    given = [data.draw(spellings(r)) for r in batch]
    emitter = emit(implementation, folder / "logs.fifo", b"".join(given), "emitter")
    assert emitter.wait() == 0, emitter.stderr
    lines = reader.wait_lines(len(batch))
    reader.close()
    with by_rule.check("FIFO-2", "one line per record"):
        assert len(lines) == len(batch), f"{len(lines)} lines for {len(batch)} records"
    # Each line is matched to its record by trace_id, so that each rule is judged whatever the others.
    sent: dict[str | None, tuple[int, Record, bytes]] = {
        r.trace_id: (n, r, spelled[:-1]) for n, (r, spelled) in enumerate(zip(batch, given, strict=True))}
    found = [sent.get(_trace_id(line)) for line in lines]
    with by_rule.check("EMIT-4", "the records in the order given"):
        order = [match[0] for match in found if match is not None]
        assert order == sorted(order), f"records in the order {order}"
    for line, match in zip(lines, found, strict=True):
        if match is None:
            continue  # no record of the batch: FIFO-2's verdict has it
        _, expected, spelled = match
        with by_rule.check("ENC-4", "a record given in another spelling than the canonical one is re-encoded"):
            assert line != spelled or matches_canonical(line + b"\n", encode(expected)), f"as given: {line[:200]!r}"
        if line != spelled:  # a line passed through as given was never encoded: ENC-4's, above
            with by_rule.check("ENC-5", "the line is the canonical encoding of its record"):
                assert_canonical(line, expected)


@pytest.mark.rules("FIFO-2", "EMIT-1", "CLI-2")
def test_record_over_pipe_buf_is_refused_whole_and_its_neighbours_sent(
        implementation: Implementation, raw_reader: RawFifoReader, tmp_path: Path, by_rule: RuleVerdicts) -> None:
    """PIPE_BUF-1 and PIPE_BUF bytes pass; PIPE_BUF+1 is refused (FIFO-2); a refused record is named by
    its line, the exit status non-zero (CLI-2), and nothing of it written (EMIT-1). An emitter that
    writes it whole breaks FIFO-2 alone: it refused nothing, so CLI-2 and EMIT-1 have nothing to judge."""
    lines = [encode(record(n, size=size)) for n, size in enumerate((PIPE_BUF - 1, PIPE_BUF + 1, PIPE_BUF))]
    body = [line[:-1] for line in lines]
    emitter = emit(implementation, tmp_path / "logs.fifo", b"".join(lines), "emitter")
    status = emitter.wait()
    try:
        raw_reader.wait_lines(2)
    except TimeoutError:
        pass  # named below
    received = raw_reader.drain()  # all of it: the emitter has ended
    with by_rule.check("FIFO-2", "PIPE_BUF-1 and PIPE_BUF bytes written, PIPE_BUF+1 not at all"):
        assert received == [body[0], body[2]], f"lines of {[len(line) + 1 for line in received]} bytes written"
    if body[1] not in received:
        with by_rule.check("CLI-2", "the refused record named by its line, the exit status non-zero"):
            assert status != 0, f"exit status 0 with a record refused: {emitter.stderr[-2000:]}"
            assert "line 2" in emitter.stderr or "2:" in emitter.stderr, emitter.stderr
    if status != 0:
        with by_rule.check("EMIT-1", "nothing of the refused record written"):
            assert all(line in (body[0], body[2]) for line in received), "a part of the refused record was written"


@pytest.mark.needs("portable")
@pytest.mark.rules("FIFO-3")
def test_portable_profile_refuses_over_512_bytes(implementation: Implementation, raw_reader: RawFifoReader,
                                                 tmp_path: Path) -> None:
    """With --portable, a 512-byte line passes and a 513-byte one is refused."""
    lines = [encode(record(0, size=PORTABLE_PIPE_BUF)), encode(record(1, size=PORTABLE_PIPE_BUF + 1))]
    emitter = emit(implementation, tmp_path / "logs.fifo", b"".join(lines), "emitter", "--portable")
    assert emitter.wait() != 0
    assert raw_reader.wait_lines(1) == [lines[0][:-1]]


@pytest.mark.rules("FIFO-2")
def test_each_record_is_one_write(implementation: Implementation, tmp_path: Path) -> None:
    """Every read of the whole pipe must end at a line end. A pipe holds whole writes only, so a read as
    large as the pipe's capacity ends where a write ended, however busy the machine: a read ending
    inside a record shows a record written in two writes. (A busy machine may let both halves
    arrive between two reads and hide the fault; it can never make a whole write look split.)"""
    fifo = tmp_path / "logs.fifo"
    reader = RawFifoReader(fifo)
    capacity = fcntl.fcntl(reader.reader.fileno(), fcntl.F_GETPIPE_SZ)
    lines = [encode(record(n, size=250 + (n * 613) % (PIPE_BUF - 250))) for n in range(300)]
    emitter = emit(implementation, fifo, b"".join(lines), "emitter")
    chunks: list[bytes] = []
    deadline = time.monotonic() + 60
    while sum(chunk.count(b"\n") for chunk in chunks) < len(lines) and time.monotonic() < deadline:
        try:  # non-blocking, in a tight loop: the reader is always waiting
            chunk = os.read(reader.reader.fileno(), capacity)
        except BlockingIOError:
            continue
        chunks.append(chunk)
    reader.close()
    assert emitter.wait() == 0, emitter.stderr
    cut = [chunk[-60:] for chunk in chunks if not chunk.endswith(b"\n")]
    assert cut == [], f"{len(cut)} reads ended inside a record: it was written in more than one write()"
    assert b"".join(chunks) == b"".join(lines)


# FIFO-7 binds a collector; here the suite reads the FIFO itself, so the check cannot judge it.
@pytest.mark.rules("FIFO-2", "FIFO-5")
def test_concurrent_emitters_never_interleave_even_when_the_pipe_is_full(
        implementation: Implementation, tmp_path: Path, by_rule: RuleVerdicts) -> None:
    """4 emitters x 300 records of 2 to 4 KiB into a 64 KiB pipe kept nearly full: every line arrives
    whole (FIFO-2); every byte arrives and every emitter ends with status 0, a full pipe costing
    nothing (FIFO-5)."""
    fifo = tmp_path / "logs.fifo"
    reader = RawFifoReader(fifo, pipe_size=65536)
    sent = [[encode(record(n, f"e{e}", size=2048 + (n * 977) % (PIPE_BUF - 2048))) for n in range(300)]
            for e in range(4)]
    emitters = [emit(implementation, fifo, b"".join(lines), f"emitter-{e}") for e, lines in enumerate(sent)]
    # 16 page slots: records of 2 to 4 KiB fill them with well under 64 KiB of data.
    wait_for(lambda: unread_bytes(fifo) > 32_768 or all(p.popen.poll() is not None for p in emitters),
             "the pipe to fill")
    deadline = time.monotonic() + 60
    while len(reader.lines) < 1200 and time.monotonic() < deadline:
        # A page at a time, paced: the writers keep meeting a nearly full pipe, where a write
        # split in two or written in part lets another writer's bytes in between.
        reader.drain(at_most=4096)
        time.sleep(0.001)
    reader.close()
    statuses = [p.wait() for p in emitters]
    with by_rule.check("FIFO-5", "every byte arrived, every emitter ended with status 0"):
        assert statuses == [0, 0, 0, 0], [p.stderr[-500:] for p in emitters]
        assert sum(len(line) + 1 for line in reader.lines) == sum(map(len, itertools.chain(*sent))), "bytes lost"
    with by_rule.check("FIFO-2", "every line whole: no write split, none interleaved"):
        assert sorted(reader.lines) == sorted(line[:-1] for lines in sent for line in lines)


@pytest.mark.rules("FIFO-6")
def test_an_emitter_keeps_the_fifo_open_between_records(implementation: Implementation, raw_reader: RawFifoReader,
                                                        tmp_path: Path) -> None:
    """FIFO-6, a SHOULD: each record on the FIFO, the next not yet given, the emitter still holds the FIFO
    open, so that what waits in the pipe outlives a collector's restart. (Looked at just after a line
    arrived: an emitter that closes after each write may not have closed yet, and pass; one that keeps
    the FIFO open never fails.)"""
    fifo = tmp_path / "logs.fifo"
    process = Process(implementation.emit("--fifo", str(fifo)), tmp_path, "emitter", stdin=None,
                      keep_stdin_open=True)
    for n in range(3):
        process.write_stdin(encode(record(n)))
        raw_reader.wait_lines(n + 1)
        assert _holds_open(process.popen.pid, fifo), f"record {n} written, the emitter no longer holds the FIFO"
    process.close_stdin()
    assert process.wait() == 0, process.stderr


def _holds_open(pid: int, path: Path) -> bool:
    """Whether process ``pid`` or a process under it has ``path`` open (Linux: /proc/PID/fd)."""
    wanted = path.stat()
    pending = [pid]
    while pending:
        current = pending.pop()
        for task in Path(f"/proc/{current}/task").glob("*/children"):
            pending += [int(child) for child in task.read_text().split()]
        for fd in Path(f"/proc/{current}/fd").glob("*"):
            try:
                opened = fd.stat()  # follows the link to the file itself, without opening it
            except OSError:
                continue  # closed since it was listed
            if (opened.st_dev, opened.st_ino) == (wanted.st_dev, wanted.st_ino):
                return True
    return False


@pytest.mark.rules("FIFO-4", "EMIT-2")
def test_emitter_with_no_reader_waits_and_delivers_everything_once_one_comes(
        implementation: Implementation, tmp_path: Path, by_rule: RuleVerdicts) -> None:
    """No FIFO and no reader at first: the emitter waits, and once a reader opens every record arrives
    (FIFO-4), in the order given (EMIT-2: a queue, in order)."""
    fifo = tmp_path / "logs.fifo"
    lines = [encode(record(n))[:-1] for n in range(500)]
    emitter = emit(implementation, fifo, b"".join(line + b"\n" for line in lines), "emitter")
    with by_rule.check("FIFO-4", "the emitter waits for a reader"):
        try:  # a busy machine may hide an emitter that gives up late; it never fails one that waits
            wait_for(lambda: emitter.popen.poll() is not None, "the emitter to give up", timeout_s=1)
        except TimeoutError:
            pass
        else:
            raise AssertionError(f"with no reader the emitter ended, status {emitter.popen.returncode}")
    reader = RawFifoReader(fifo)
    try:
        reader.wait_lines(500)
    except TimeoutError:
        pass  # named below
    received = reader.drain()
    with by_rule.check("FIFO-4", "every record delivered once a reader came"):
        assert sorted(received) == sorted(lines), f"{len(set(lines) - set(received))} of 500 records never came"
    with by_rule.check("EMIT-2", "the records in the order given"):
        order = {line: n for n, line in enumerate(lines)}
        assert [order.get(line) for line in received] == sorted(order.get(line, -1) for line in received)
    with by_rule.check("FIFO-4", "exit status 0"):
        assert emitter.wait() == 0, emitter.stderr
    reader.close()


@pytest.mark.rules("FIFO-2", "EMIT-2")
def test_emitter_sends_each_record_when_given_not_when_a_buffer_fills(
        implementation: Implementation, raw_reader: RawFifoReader, tmp_path: Path) -> None:
    """One small record, stdin left open: it is on the FIFO while the emitter still runs."""
    process = Process(implementation.emit("--fifo", str(tmp_path / "logs.fifo")), tmp_path, "emitter",
                      stdin=None, keep_stdin_open=True)
    line = encode(record(0))
    process.write_stdin(line)
    assert raw_reader.wait_lines(1, timeout_s=5) == [line[:-1]]
    assert process.popen.poll() is None
    process.close_stdin()
    assert process.wait() == 0


@pytest.mark.rules("EMIT-1", "CLI-2")
def test_invalid_records_are_named_and_refused_and_the_valid_ones_sent(
        implementation: Implementation, raw_reader: RawFifoReader, tmp_path: Path) -> None:
    """Each invalid vector is refused with its line number; the valid lines between them are sent."""
    invalid = [v for v in load_vectors() if v.verdict == "reject" and v.rules[0] not in ("ENC-3",)]
    valid = [encode(record(n)) for n in range(len(invalid) + 1)]
    stdin = valid[0] + b"".join(v.line + valid[i + 1] for i, v in enumerate(invalid))
    emitter = emit(implementation, tmp_path / "logs.fifo", stdin, "emitter")
    assert emitter.wait() != 0
    assert raw_reader.wait_lines(len(valid)) == [line[:-1] for line in valid]
    for i in range(len(invalid)):
        assert f"{2 * i + 2}" in emitter.stderr, f"line {2 * i + 2} ({invalid[i].name}) not named"
