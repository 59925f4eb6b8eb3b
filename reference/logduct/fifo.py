"""The FIFO transport: every detail of Linux named pipes lives here, and nowhere else.

Theory of operation. Two kernel guarantees carry the protocol (SPEC.md section 4): a ``write()`` of
at most ``PIPE_BUF`` bytes is atomic, never interleaved with another writer's; and with
``O_NONBLOCK`` it either writes everything or fails with ``EAGAIN``, writing nothing. So a writer
sends each line in one write and, when a write fails, knows that nothing of it went out.

The reader opens the FIFO read-write (FIFO-7): it is then a writer too, so it never reads
end-of-file when emitters come and go, and never spins on it. Unread bytes live in the kernel's
pipe buffer for as long as any process holds the FIFO open, which is why a writer keeps its
descriptor across a reader's restart (FIFO-6) instead of reopening.
"""

from __future__ import annotations

import errno
import fcntl
import os
import select
import stat
import sys
from pathlib import Path

from .errors import ConfigurationError, LocalError, ProtocolError
from .framing import LineFramer
from .source import Arrivals

#: FIFO-2: Linux's atomic write size.
PIPE_BUF: int = select.PIPE_BUF
#: FIFO-3: POSIX's minimum _POSIX_PIPE_BUF, the portable profile.
PORTABLE_PIPE_BUF = 512
#: FIFO-1: owner read and write only.
DEFAULT_MODE = 0o600
#: How much a reader asks for at once. What was read and not yet committed is lost to a SIGKILL
#: (FIFO-8), so a read is kept to about a thousand typical records.
READ_SIZE = 256 * 1024
_PIPE_MAX_SIZE = Path("/proc/sys/fs/pipe-max-size")


class PartialWrite(LocalError):
    """The kernel wrote part of a line: its PIPE_BUF promise broken (FIFO-2), never seen on Linux."""


def ensure_fifo(path: str | os.PathLike[str], mode: int = DEFAULT_MODE) -> None:
    """Create the FIFO at ``path`` if absent; refuse anything else that is there (FIFO-1)."""
    if mode & 0o007:
        raise ConfigurationError("FIFO-1", f"mode {mode:#o} gives others access to {path}; refused")
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        os.mkfifo(path, mode)
        os.chmod(path, mode)  # mkfifo's mode is cut by the umask; the configured mode is meant
        return
    if not stat.S_ISFIFO(info.st_mode):
        raise ConfigurationError("FIFO-1", f"{path} exists and is not a FIFO (refused; nothing changed)")
    if info.st_mode & stat.S_IWOTH:
        print(f"logduct: warning: FIFO-1: {path} is writable by any user", file=sys.stderr)
    if info.st_uid != os.geteuid():
        print(f"logduct: warning: FIFO-1: {path} belongs to user {info.st_uid}, not to this collector "
              f"({os.geteuid()}); its owner decides who may write to it", file=sys.stderr)


class FifoReader:
    """The collector's end of a FIFO: non-blocking, read-write, with the largest pipe allowed."""

    def __init__(self, path: str | os.PathLike[str], mode: int = DEFAULT_MODE) -> None:
        ensure_fifo(path, mode)
        self.path = os.fspath(path)
        # FIFO-7: read-write, so that the last writer leaving is not end-of-file.
        self._fd = os.open(self.path, os.O_RDWR | os.O_NONBLOCK | os.O_CLOEXEC)
        self.pipe_size = raise_pipe_size(self._fd)

    def fileno(self) -> int:
        return self._fd

    def read(self) -> bytes:
        """What the pipe holds, up to READ_SIZE bytes; b"" when it is empty for now."""
        try:
            return os.read(self._fd, READ_SIZE)
        except BlockingIOError:
            return b""

    def close(self) -> None:
        os.close(self._fd)


class FifoSource:
    """A collector's FIFO as a ``Source``: each read framed into lines (ENC-2, ENC-3)."""

    transport = "fifo"

    def __init__(self, path: str | os.PathLike[str], mode: int = DEFAULT_MODE) -> None:
        self._reader = FifoReader(path, mode)
        self.name = self._reader.path
        self._framer = LineFramer()

    def describe(self) -> str:
        return f"FIFO {self.name} (pipe {self._reader.pipe_size:,} bytes)"

    def poll_target(self) -> int:
        return self._reader.fileno()

    def receive(self) -> list[Arrivals]:
        # One read a turn: what a SIGKILL can cost is what was read and not yet committed (FIFO-8).
        return [Arrivals(self.name, framed.lines, refused=framed.refused)
                for framed in self._framer.feed(self._reader.read())]

    def stop_reading(self) -> list[Arrivals]:
        # COL-4: what is still in the pipe stays there for the next collector (FIFO-6).
        self._reader.close()
        unfinished = self._framer.end()  # a writer's line cut off by the stop: ENC-2
        return [] if unfinished is None else [Arrivals(self.name, (), refused=[unfinished])]

    def close(self) -> None:
        pass  # closed by stop_reading


def raise_pipe_size(fd: int) -> int:
    """Grow the pipe to the system's limit where allowed (FIFO-7); return the size in force."""
    try:
        wanted = int(_PIPE_MAX_SIZE.read_text())
        fcntl.fcntl(fd, fcntl.F_SETPIPE_SZ, wanted)
    except (OSError, ValueError):
        pass  # another process's share of pipe memory, or no /proc: the default size still works
    return fcntl.fcntl(fd, fcntl.F_GETPIPE_SZ)


class FifoWriter:
    """The emitter's end of a FIFO. ``try_write`` sends one whole line or nothing (FIFO-2)."""

    def __init__(self, path: str | os.PathLike[str], pipe_buf: int = PIPE_BUF) -> None:
        self.path = os.fspath(path)
        self.pipe_buf = pipe_buf
        self._fd: int | None = None
        self._full = False  # the last write found the pipe full: the kernel can say when it has room

    def check_size(self, line: bytes) -> None:
        """Raise unless ``line`` fits in one atomic write (FIFO-2, FIFO-3; the emitter's side: a
        collector cannot tell a split line, and frames whatever comes, ENC-3)."""
        if len(line) > self.pipe_buf:
            raise ProtocolError("FIFO-2", f"record is {len(line):,} bytes; PIPE_BUF is {self.pipe_buf:,} "
                                "(refused, nothing written)")

    def try_write(self, line: bytes) -> bool:
        """Write ``line`` whole and return True, or write nothing and return False (try again later).

        False means: no reader has the FIFO open, or the FIFO does not exist yet (FIFO-4); the reader
        went away (EPIPE) or the pipe is full (EAGAIN) (FIFO-5).
        """
        self._full = False
        if self._fd is None and not self._open():
            return False
        assert self._fd is not None
        try:
            written = os.write(self._fd, line)
        except BlockingIOError:
            self._full = True
            return False
        except BrokenPipeError:
            # FIFO-6: keep the descriptor, so that what is in the pipe outlives the reader; but if
            # the path now names another FIFO, this one will never be read again.
            if not self._still_at_path():
                self.close()
            return False
        if written != len(line):  # the kernel's PIPE_BUF promise, checked rather than assumed
            raise PartialWrite("FIFO-2", f"partial write of {written} of {len(line)} bytes to {self.path}")
        return True

    def wait_for_room(self, timeout_s: float) -> bool:
        """After ``try_write`` found the pipe full: wait until it has room for a line (the kernel
        says so once PIPE_BUF bytes are free), at most ``timeout_s``. False, without waiting, when
        the last write failed for another reason, which no descriptor can signal: the caller then
        tries again later. A reader draining the pipe wakes the writer at once, where a fixed pause
        would leave the pipe empty and the reader idle (issue 13)."""
        if not self._full or self._fd is None:
            return False
        poller = select.poll()
        poller.register(self._fd, select.POLLOUT)
        poller.poll(timeout_s * 1000)
        return True

    def _open(self) -> bool:
        try:
            self._fd = os.open(self.path, os.O_WRONLY | os.O_NONBLOCK | os.O_CLOEXEC)
        except OSError as error:
            if error.errno in (errno.ENXIO, errno.ENOENT):  # FIFO-4: no reader, or no FIFO yet
                return False
            raise
        if not stat.S_ISFIFO(os.fstat(self._fd).st_mode):
            self.close()
            raise ConfigurationError("FIFO-1", f"{self.path} is not a FIFO")
        return True

    def _still_at_path(self) -> bool:
        assert self._fd is not None
        try:
            here, there = os.fstat(self._fd), os.stat(self.path)
        except OSError:
            return False
        return (here.st_dev, here.st_ino) == (there.st_dev, there.st_ino)

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
