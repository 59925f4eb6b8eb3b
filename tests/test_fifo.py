"""The FIFO transport and emitter on real FIFOs, in one process (SPEC.md sections 3 and 4)."""

from __future__ import annotations

import os
import stat
import threading
from pathlib import Path

import pytest

from logduct.errors import ConfigurationError, ProtocolError
from logduct.fifo import PIPE_BUF, FifoReader, FifoWriter, ensure_fifo
from logduct.fifo_emitter import FifoEmitter
from logduct.sending import Overflow
from logduct_conformance.peers import RawFifoReader
from logduct_conformance.processes import wait_for


@pytest.fixture
def fifo(tmp_path: Path) -> Path:
    return tmp_path / "logs.fifo"


def test_fifo_is_created_owner_only_whatever_the_umask(fifo: Path) -> None:
    """FIFO-1: created with mode 0600 even under a permissive umask."""
    old = os.umask(0)
    try:
        ensure_fifo(fifo)
    finally:
        os.umask(old)
    assert stat.S_ISFIFO(fifo.stat().st_mode) and stat.S_IMODE(fifo.stat().st_mode) == 0o600


def test_path_that_is_not_a_fifo_is_refused_and_left_alone(tmp_path: Path) -> None:
    """FIFO-1: a regular file at the path stops the collector; the file is untouched."""
    regular = tmp_path / "notes.txt"
    regular.write_text("keep me")
    with pytest.raises(ConfigurationError, match="FIFO-1"):
        FifoReader(regular)
    assert regular.read_text() == "keep me"


def test_mode_that_opens_the_fifo_to_others_is_refused(fifo: Path) -> None:
    """FIFO-1: never with permissions for others."""
    with pytest.raises(ConfigurationError, match="FIFO-1"):
        ensure_fifo(fifo, 0o622)


def test_reader_grows_the_pipe(fifo: Path) -> None:
    """FIFO-7: the collector's pipe is larger than Linux's default 64 KiB where allowed."""
    reader = FifoReader(fifo)
    assert reader.pipe_size > 65536
    reader.close()


def test_writer_waits_when_there_is_no_fifo_or_no_reader(fifo: Path) -> None:
    """FIFO-4: no FIFO yet (ENOENT) or no reader (ENXIO): nothing written, try again later."""
    writer = FifoWriter(fifo)
    assert writer.try_write(b"{}\n") is False
    ensure_fifo(fifo)
    assert writer.try_write(b"{}\n") is False


def test_writer_facing_a_full_pipe_waits_for_the_reader_to_make_room(fifo: Path) -> None:
    """FIFO-5: a full pipe is waited on until the reader makes room, however long the cap: the
    kernel says when. A write stalled otherwise (no reader, FIFO-4) has nothing to wait on."""
    writer = FifoWriter(fifo)
    assert writer.try_write(b"{}\n") is False
    assert writer.wait_for_room(3600) is False
    reader = FifoReader(fifo)
    line = b"x" * (PIPE_BUF - 1) + b"\n"
    while writer.try_write(line):
        pass
    woken = threading.Event()
    waiter = threading.Thread(target=lambda: woken.set() if writer.wait_for_room(3600) else None, daemon=True)
    waiter.start()
    while reader.read():  # the whole pipe, drained
        pass
    waiter.join(60)  # an hour's pause would be the bug; a minute allows for any busy machine
    assert woken.is_set()
    assert writer.try_write(line) is True
    reader.close()
    assert writer.try_write(line) is False  # EPIPE: the reader is gone, and poll would answer at once
    assert writer.wait_for_room(3600) is False
    writer.close()


def test_oversize_line_is_refused_before_any_write(fifo: Path) -> None:
    """FIFO-2: PIPE_BUF bytes pass the check; PIPE_BUF+1 are refused with the sizes named."""
    writer = FifoWriter(fifo)
    writer.check_size(b"x" * PIPE_BUF)
    with pytest.raises(ProtocolError) as caught:
        writer.check_size(b"x" * (PIPE_BUF + 1))
    assert str(caught.value) == "FIFO-2: record is 4,097 bytes; PIPE_BUF is 4,096 (refused, nothing written)"


def test_pipe_contents_survive_a_reader_restart_while_the_writer_holds_on(fifo: Path) -> None:
    """FIFO-5, FIFO-6: after EPIPE the writer keeps its descriptor; a new reader gets the old bytes."""
    first = FifoReader(fifo)
    writer = FifoWriter(fifo)
    assert writer.try_write(b"kept-1\n") and writer.try_write(b"kept-2\n")
    first.close()  # the collector dies with two lines unread
    assert writer.try_write(b"refused\n") is False  # EPIPE: nothing written
    second = RawFifoReader(fifo)
    assert writer.try_write(b"after\n")
    assert second.wait_lines(3, timeout_s=10) == [b"kept-1", b"kept-2", b"after"]
    second.close()
    writer.close()


def test_writer_follows_a_fifo_replaced_at_its_path(fifo: Path) -> None:
    """FIFO-5: when the path names a new FIFO, the writer leaves the old, unread one for it."""
    old = FifoReader(fifo)
    writer = FifoWriter(fifo)
    assert writer.try_write(b"to-old\n")
    old.close()
    fifo.unlink()
    new = RawFifoReader(fifo)
    assert writer.try_write(b"lost-to-epipe\n") is False  # the old pipe has no reader
    assert writer.try_write(b"to-new\n")
    assert new.wait_lines(1, timeout_s=10) == [b"to-new"]
    new.close()
    writer.close()


def test_emitter_queues_without_reader_and_delivers_in_order_when_one_comes(fifo: Path) -> None:
    """FIFO-4, EMIT-4: sends return at once with no reader; a later reader gets all, in order."""
    emitter = FifoEmitter(fifo)
    lines = [b'{"n":%d}\n' % i for i in range(500)]
    assert all(emitter.send_line(line) for line in lines)
    assert emitter.stats().queued == 500
    reader = RawFifoReader(fifo)
    assert reader.wait_lines(500, timeout_s=10) == [line[:-1] for line in lines]
    assert emitter.close(timeout_s=10) == 0
    assert emitter.stats().sent == 500
    reader.close()


def test_full_queue_drops_the_newest_and_counts_it(fifo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """EMIT-3: with DROP_NEWEST a full queue refuses the new record, counts it, and says so at close."""
    emitter = FifoEmitter(fifo, queue_limit=10)
    results = [emitter.send_line(b"{}\n") for _ in range(15)]
    assert results == [True] * 10 + [False] * 5
    assert emitter.stats().dropped == 5
    assert emitter.close(timeout_s=0) == 10
    assert "5 records dropped (queue full) and 10 not handed over" in capsys.readouterr().err


def test_full_queue_blocks_with_the_block_policy_until_a_reader_drains_it(fifo: Path) -> None:
    """EMIT-3: with BLOCK, a send waits for room instead of dropping; nothing is lost."""
    emitter = FifoEmitter(fifo, queue_limit=10, overflow=Overflow.BLOCK)
    sent = threading.Event()

    def send_twenty() -> None:
        for i in range(20):
            emitter.send_line(b'{"n":%d}\n' % i)
        sent.set()

    threading.Thread(target=send_twenty, daemon=True).start()
    wait_for(lambda: emitter.stats().queued == 10, "the queue to fill")
    assert not sent.is_set()
    reader = RawFifoReader(fifo)
    assert reader.wait_lines(20, timeout_s=10) == [b'{"n":%d}' % i for i in range(20)]
    assert sent.wait(10) and emitter.stats().dropped == 0
    emitter.close()
    reader.close()
