"""Bytes in, complete lines out, across read boundaries; ENC-2 and ENC-3 decided here. No I/O.

Theory of operation: a stream transport hands over bytes in chunks that know nothing of lines
(one read may end in the middle of a record, or hold a thousand). ``LineFramer.feed`` keeps the
unfinished tail and returns the complete lines, without their LF (``record.decode`` takes them so,
and a copy per record is saved). A line that grows past ``max_line_bytes`` without an LF breaks
ENC-3 and is not buffered further: its first ``max_line_bytes`` bytes come out once as a
``Refused`` naming ENC-3, and the rest is skipped up to the next LF, so one bad writer can cost the
collector no more than the limit in memory. Bytes left without an LF when the stream ends are not
a line (ENC-2) and come out the same way.

ENC-3's limit and its verdict live here and nowhere else: ``record.decode`` asks ``check_length``
for lines that arrive whole (a ZeroMQ record frame, ``logduct check``'s input).
"""

from __future__ import annotations

from typing import NamedTuple

from .errors import ProtocolError, Refused

#: ENC-3: the longest line, LF included, on any transport.
MAX_LINE_BYTES = 65_536


def check_length(line: bytes) -> None:
    """ENC-3 for a line given whole, its final LF optional: raise ProtocolError if it is too long."""
    size = len(line) if line.endswith(b"\n") else len(line) + 1
    if size > MAX_LINE_BYTES:
        raise _overlong(f"line is {size:,} bytes; the most is {MAX_LINE_BYTES:,}")


def _overlong(reason: str) -> ProtocolError:
    return ProtocolError("ENC-3", reason)


class Framed(NamedTuple):
    """Complete lines, then the refusals that followed them in the stream."""

    lines: list[bytes]
    refused: list[Refused]


class LineFramer:
    """Splits a byte stream into lines of at most ``max_line_bytes``, LF included (ENC-2, ENC-3)."""

    def __init__(self, max_line_bytes: int = MAX_LINE_BYTES) -> None:
        self.max_line_bytes = max_line_bytes
        self._tail = b""
        self._skipping = False  # inside an overlong line, dropping bytes up to its LF

    def feed(self, chunk: bytes) -> list[Framed]:
        """What ``chunk`` completes, in stream order: nearly always one Framed of lines alone."""
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
        if all(len(piece) <= longest for piece in pieces):  # the common case: no copy of the list
            out = [Framed(pieces, [])]
        else:
            out = [Framed([], [])]
            for piece in pieces:
                if len(piece) > longest:
                    out[-1].refused.append(self._refuse(piece))
                elif out[-1].refused:  # a line after a refusal starts the next Framed: order is kept
                    out.append(Framed([piece], []))
                else:
                    out[-1].lines.append(piece)
        # The unfinished line already holds the limit; with its LF still to come it is over.
        if len(tail) >= self.max_line_bytes:
            out[-1].refused.append(self._refuse(tail))
            self._skipping = True
            tail = b""
        self._tail = tail
        return [framed for framed in out if framed.lines or framed.refused]

    def end(self) -> Refused | None:
        """The stream is over: bytes left without an LF are not a line (ENC-2)."""
        tail, self._tail, self._skipping = self._tail, b"", False
        if not tail:
            return None
        return Refused(ProtocolError("ENC-2", "line without its LF when the stream ended"), tail)

    def _refuse(self, line: bytes) -> Refused:
        # The same words however the stream was cut: the whole length is not known when a read ends first.
        kept = line[:self.max_line_bytes]
        return Refused(_overlong(f"line longer than {self.max_line_bytes:,} bytes, LF included; "
                                 f"first {len(kept):,} kept"), kept)
