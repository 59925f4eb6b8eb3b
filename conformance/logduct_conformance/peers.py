"""The suite's own peers: they send exactly the bytes a check writes and report exactly what comes back,
so that a check sees the wire, not an implementation's word for it."""

from __future__ import annotations

import fcntl
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar

import pytest
import zmq

from logduct.delivery import parse_ack, parse_message
from logduct.fifo import FifoReader
from logduct.framing import LineFramer

from .processes import wait_for


class _Peer:
    """A ZeroMQ peer of the suite's, with its own context. Every one is closed after its test even when
    the test fails midway (``no_leftover_peers``): an open socket would hang the run for ever in
    zmq_ctx_term, turning a red verdict into none."""

    open_peers: ClassVar[list[_Peer]] = []

    def __init__(self, kind: int) -> None:
        self.context: zmq.Context[zmq.Socket[bytes]] = zmq.Context()
        self.socket = self.context.socket(kind)
        self.socket.setsockopt(zmq.LINGER, 0)
        _Peer.open_peers.append(self)

    def close(self) -> None:
        if not self.context.closed:
            self.context.destroy(linger=0)


@pytest.fixture(autouse=True)
def no_leftover_peers() -> Iterator[None]:
    """Autouse where imported: every peer a test opened is closed after it, pass or fail."""
    yield
    while _Peer.open_peers:
        _Peer.open_peers.pop().close()


class RawDealer(_Peer):
    """The suite's own DEALER: sends exactly the frames a test writes, and reads acknowledgements."""

    def __init__(self, endpoint: str) -> None:
        super().__init__(zmq.DEALER)
        self.socket.connect(endpoint)

    def send(self, frames: list[bytes]) -> None:
        self.socket.send_multipart(frames)

    def acks(self, n: int, timeout_s: float = 10) -> list[tuple[uuid.UUID, int, int]]:
        got: list[tuple[uuid.UUID, int, int]] = []
        poller = zmq.Poller()
        poller.register(self.socket, zmq.POLLIN)

        def enough() -> bool:
            if poller.poll(50):
                got.append(parse_ack(self.socket.recv_multipart()))
            return len(got) >= n

        wait_for(enough, f"{n} acknowledgements", timeout_s=timeout_s)
        return got


class RawRouter(_Peer):
    """The suite's own ROUTER: receives an emitter's messages as frames, and acknowledges only when told."""

    def __init__(self, endpoint: str) -> None:
        super().__init__(zmq.ROUTER)
        self.socket.bind(endpoint)
        self.poller = zmq.Poller()
        self.poller.register(self.socket, zmq.POLLIN)

    def receive(self, timeout_s: float = 10) -> tuple[bytes, list[bytes]]:
        """The next message: (routing identity, frames)."""
        if not self.poller.poll(int(timeout_s * 1000)):
            raise TimeoutError(f"no message in {timeout_s} s")
        identity, *frames = self.socket.recv_multipart()
        return identity, frames

    def acknowledge(self, identity: bytes, frames: list[bytes]) -> None:
        """ZMQ-4: the acknowledgement of a well-formed message."""
        self.socket.send_multipart([identity, *parse_message(frames).ack()])


class RawFifoReader:
    """The suite's own reader of a FIFO: what an emitter wrote, byte for byte, line by line."""

    def __init__(self, path: Path, pipe_size: int | None = None) -> None:
        self.reader = FifoReader(path)
        if pipe_size is not None:  # a small pipe fills, and a full pipe is where bad writes show
            fcntl.fcntl(self.reader.fileno(), fcntl.F_SETPIPE_SZ, pipe_size)
        self.framer = LineFramer(1 << 20)  # longer than any limit: an oversize line is seen whole
        self.lines: list[bytes] = []

    def drain(self, at_most: int | None = None) -> list[bytes]:
        """Read what the pipe holds (``at_most`` bytes, if given) and frame it."""
        while chunk := (self.reader.read() if at_most is None else _read_some(self.reader.fileno(), at_most)):
            self.lines += [line for framed in self.framer.feed(chunk) for line in framed.lines]
            if at_most is not None:
                break
        return self.lines

    def wait_lines(self, n: int, timeout_s: float = 30) -> list[bytes]:
        wait_for(lambda: len(self.drain()) >= n, f"{n} lines on the FIFO (have {len(self.lines)})", timeout_s)
        return self.lines

    def close(self) -> None:
        self.reader.close()


def _read_some(fd: int, size: int) -> bytes:
    try:
        return os.read(fd, size)
    except BlockingIOError:
        return b""
