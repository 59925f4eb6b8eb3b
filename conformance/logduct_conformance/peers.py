"""The suite's own peers: they send exactly the bytes a check writes and report exactly what comes back,
so that a check sees the wire, not an implementation's word for it.

Every ZeroMQ socket the suite opens is a peer's, and is closed with LINGER 0 whatever becomes of the
check that opened it: a socket left open, or closed with messages still queued for a peer that is
gone, would hang the run for ever in zmq_ctx_term, turning a red verdict into none. Three things see
to it: each peer's context gives its sockets LINGER 0 before they exist; a peer is a context
manager; and ``no_leftover_peers`` closes, after each test, every peer the test left open.
"""

from __future__ import annotations

import fcntl
import os
import stat
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType
from typing import ClassVar

import pytest
import zmq

from .oracle import Ack, ack_of, read_ack, read_message
from .processes import wait_for


class _Peer:
    """A ZeroMQ peer of the suite's, with its own context."""

    open_peers: ClassVar[list[_Peer]] = []

    def __init__(self, kind: int) -> None:
        self.context: zmq.Context[zmq.Socket[bytes]] = zmq.Context()
        _Peer.open_peers.append(self)  # before anything can fail: whatever happens next, it is closed
        self.context.setsockopt(zmq.LINGER, 0)  # a default for every socket made here, set before any is
        self.socket = self.context.socket(kind)
        self.socket.setsockopt(zmq.LINGER, 0)

    def close(self) -> None:
        """Close the socket without waiting for what it still holds, then the context; again is harmless."""
        if self in _Peer.open_peers:
            _Peer.open_peers.remove(self)
        if not self.context.closed:
            self.context.destroy(linger=0)

    def __enter__(self) -> _Peer:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.close()


def close_all_peers() -> None:
    """Close every peer still open."""
    while _Peer.open_peers:
        _Peer.open_peers.pop().close()


@pytest.fixture(autouse=True)
def no_leftover_peers() -> Iterator[None]:
    """Autouse where imported: every peer a test opened is closed after it, pass or fail."""
    try:
        yield
    finally:
        close_all_peers()


class RawDealer(_Peer):
    """The suite's own DEALER: sends exactly the frames a test writes, and reads acknowledgements."""

    def __init__(self, endpoint: str) -> None:
        super().__init__(zmq.DEALER)
        self.socket.connect(endpoint)

    def __enter__(self) -> RawDealer:
        return self

    def send(self, frames: list[bytes]) -> None:
        self.socket.send_multipart(frames)

    def acks(self, n: int, timeout_s: float = 10) -> list[Ack]:
        """The next ``n`` acknowledgements, read as ZMQ-4 says (``Refused`` naming ZMQ-4 if one is not)."""
        got: list[Ack] = []
        poller = zmq.Poller()
        poller.register(self.socket, zmq.POLLIN)

        def enough() -> bool:
            if poller.poll(50):
                got.append(read_ack(self.socket.recv_multipart()))
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

    def __enter__(self) -> RawRouter:
        return self

    def receive(self, timeout_s: float = 10) -> tuple[bytes, list[bytes]]:
        """The next message: (routing identity, frames)."""
        if not self.poller.poll(int(timeout_s * 1000)):
            raise TimeoutError(f"no message in {timeout_s} s")
        identity, *frames = self.socket.recv_multipart()
        return identity, frames

    def acknowledge(self, identity: bytes, frames: list[bytes]) -> None:
        """ZMQ-4: the acknowledgement of a well-formed message."""
        self.socket.send_multipart([identity, *ack_of(read_message(frames))])


class _Fifo:
    """A FIFO held open for reading the way a collector holds it (FIFO-7): read-write, so that writers
    coming and going never make it read end-of-file; non-blocking; its pipe as large as allowed."""

    def __init__(self, path: Path) -> None:
        if not path.exists():
            os.mkfifo(path, 0o600)
        if not stat.S_ISFIFO(path.stat().st_mode):
            raise ValueError(f"{path} is not a FIFO")
        self._fd = os.open(path, os.O_RDWR | os.O_NONBLOCK | os.O_CLOEXEC)
        try:
            fcntl.fcntl(self._fd, fcntl.F_SETPIPE_SZ, int(Path("/proc/sys/fs/pipe-max-size").read_text()))
        except (OSError, ValueError):
            pass  # the default size works too; a larger pipe only keeps emitters from waiting

    def fileno(self) -> int:
        return self._fd

    def read(self, size: int = 1 << 18) -> bytes:
        """What the pipe holds, up to ``size`` bytes; b"" when it is empty for now."""
        try:
            return os.read(self._fd, size)
        except BlockingIOError:
            return b""

    def close(self) -> None:
        os.close(self._fd)


class RawFifoReader:
    """The suite's own reader of a FIFO: what an emitter wrote, byte for byte, line by line. A line is
    kept whatever its length: an oversize line is seen whole, not cut at any limit."""

    def __init__(self, path: Path, pipe_size: int | None = None) -> None:
        self.reader = _Fifo(path)
        if pipe_size is not None:  # a small pipe fills, and a full pipe is where bad writes show
            fcntl.fcntl(self.reader.fileno(), fcntl.F_SETPIPE_SZ, pipe_size)
        self._unfinished = b""
        self.lines: list[bytes] = []  # without their LF

    def drain(self, at_most: int | None = None) -> list[bytes]:
        """Read what the pipe holds (``at_most`` bytes, if given) and cut it into lines."""
        while chunk := self.reader.read() if at_most is None else self.reader.read(at_most):
            *complete, self._unfinished = (self._unfinished + chunk).split(b"\n")
            self.lines += complete
            if at_most is not None:
                break
        return self.lines

    def wait_lines(self, n: int, timeout_s: float = 30) -> list[bytes]:
        wait_for(lambda: len(self.drain()) >= n, f"{n} lines on the FIFO (have {len(self.lines)})", timeout_s)
        return self.lines

    def close(self) -> None:
        self.reader.close()
