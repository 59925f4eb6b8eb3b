"""Bytes in, complete lines out, across read boundaries. No I/O.

Theory of operation: a stream transport hands over bytes in chunks that know nothing of lines
(one read may end in the middle of a record, or hold a thousand). ``LineFramer.feed`` keeps the
unfinished tail and returns the complete lines, without their LF (``record.decode`` takes them so,
and a copy per record is saved). A line that grows past
``max_line_bytes`` without an LF (ENC-3) is not buffered further: its first ``max_line_bytes``
bytes come out once as an ``OverlongLine``, and the rest is skipped up to the next LF, so one bad
writer can cost the collector no more than the limit in memory.
"""

from __future__ import annotations

from dataclasses import dataclass

from .record import MAX_RECORD_BYTES


@dataclass(frozen=True, slots=True)
class OverlongLine:
    """The first ``max_line_bytes`` of a line that broke ENC-3; the rest was skipped."""

    prefix: bytes


@dataclass(frozen=True, slots=True)
class PartialLine:
    """Bytes left without an LF when the stream ended (ENC-2: not a whole line)."""

    data: bytes


Framed = bytes | OverlongLine


class LineFramer:
    """Splits a byte stream into lines of at most ``max_line_bytes``, LF included (ENC-2, ENC-3)."""

    def __init__(self, max_line_bytes: int = MAX_RECORD_BYTES) -> None:
        self.max_line_bytes = max_line_bytes
        self._tail = b""
        self._skipping = False  # inside an overlong line, dropping bytes up to its LF

    def feed(self, chunk: bytes) -> list[Framed]:
        """The lines that ``chunk`` completes, in order."""
        if self._skipping:
            end = chunk.find(b"\n")
            if end < 0:
                return []
            self._skipping = False
            chunk = chunk[end + 1:]
        data = self._tail + chunk if self._tail else chunk
        pieces = data.split(b"\n")
        tail = pieces.pop()
        longest = self.max_line_bytes - 1  # the LF counts toward the limit
        out: list[Framed] = [piece if len(piece) <= longest else OverlongLine(piece[:self.max_line_bytes])
                             for piece in pieces]
        # The unfinished line already holds the limit; with its LF still to come it is over.
        if len(tail) >= self.max_line_bytes:
            out.append(OverlongLine(tail[:self.max_line_bytes]))
            self._skipping = True
            tail = b""
        self._tail = tail
        return out

    def end(self) -> PartialLine | None:
        """The stream is over: what is left without an LF, if anything."""
        tail, self._tail, self._skipping = self._tail, b"", False
        return PartialLine(tail) if tail else None

    @property
    def buffered(self) -> int:
        """Bytes held for an unfinished line."""
        return len(self._tail)
