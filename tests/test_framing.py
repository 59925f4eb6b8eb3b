"""The line framer: complete lines out of any chunking of the byte stream; ENC-2 and ENC-3 decided there."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from logduct.errors import ProtocolError
from logduct.framing import MAX_LINE_BYTES, LineFramer, check_length

Out = list[bytes | tuple[str, bytes]]  # a line, or (rule, what the quarantine keeps)


def frame(chunks: list[bytes], limit: int = 16) -> tuple[Out, tuple[str, bytes] | None]:
    framer = LineFramer(limit)
    out: Out = []
    for chunk in chunks:
        for framed in framer.feed(chunk):
            out += framed.lines
            out += [(refused.error.rule, refused.raw) for refused in framed.refused]
    end = framer.end()
    return out, None if end is None else (end.error.rule, end.raw)


def split_everywhere(data: bytes) -> list[list[bytes]]:
    """The data whole, split at every boundary in two, and one byte at a time."""
    splits = [[data]] + [[data[:i], data[i:]] for i in range(1, len(data))]
    return [*splits, [data[i:i + 1] for i in range(len(data))]]


def test_lines_come_out_whole_however_the_stream_is_cut() -> None:
    """Every split of the stream yields the same lines, without their LF."""
    data = b"one\ntwo\n\nthree\n"
    for chunks in split_everywhere(data):
        assert frame(chunks) == ([b"one", b"two", b"", b"three"], None), chunks


def test_unfinished_line_is_held_then_refused_at_end() -> None:
    """ENC-2: bytes after the last LF wait for more; when the stream ends they are not a line."""
    for chunks in split_everywhere(b"one\ntw"):
        assert frame(chunks) == ([b"one"], ("ENC-2", b"tw")), chunks


def test_line_at_the_limit_passes_and_one_byte_more_does_not() -> None:
    """ENC-3: 16 bytes with the LF pass a 16-byte limit; 17 are refused, the first 16 kept, in
    stream order."""
    at_limit = b"x" * 15 + b"\n"
    over = b"y" * 16 + b"\n"
    for chunks in split_everywhere(at_limit + over + b"ok\n"):
        assert frame(chunks) == ([b"x" * 15, ("ENC-3", b"y" * 16), b"ok"], None), chunks


def test_overlong_line_is_refused_once_and_never_buffered_whole() -> None:
    """ENC-3: a 10,000-byte line yields one refusal, and nothing of it is held afterwards."""
    framer = LineFramer(16)
    refused = []
    for _ in range(1000):
        for framed in framer.feed(b"z" * 10):
            assert not framed.lines
            refused += framed.refused
    [framed] = framer.feed(b"z\nnext\n")
    assert framed.lines == [b"next"]
    assert [(r.error.rule, r.raw) for r in refused + framed.refused] == [("ENC-3", b"z" * 16)]
    assert "ENC-3" in str(refused[0].error)
    assert framer.end() is None  # the skipped bytes were never kept


def test_check_length_is_enc3_for_lines_given_whole() -> None:
    """ENC-3 for a line that arrives whole: 65,536 bytes with the LF (counted if absent) pass."""
    check_length(b"x" * (MAX_LINE_BYTES - 1) + b"\n")
    check_length(b"x" * (MAX_LINE_BYTES - 1))
    for too_long in (b"x" * MAX_LINE_BYTES + b"\n", b"x" * MAX_LINE_BYTES):
        with pytest.raises(ProtocolError) as caught:
            check_length(too_long)
        assert caught.value.rule == "ENC-3"


@given(st.lists(st.binary(max_size=20).filter(lambda b: b"\n" not in b), max_size=20), st.data())
def test_framing_is_independent_of_chunking(lines: list[bytes], data: st.DataObject) -> None:
    """Any lines, cut into any chunks, come out as the lines in order, the long ones refused (ENC-3)."""
    stream = b"".join(line + b"\n" for line in lines)
    cuts = sorted(data.draw(st.lists(st.integers(0, len(stream)), max_size=10)))
    chunks = [stream[a:b] for a, b in zip([0, *cuts], [*cuts, len(stream)], strict=True)]
    expected = [line if len(line) < 16 else ("ENC-3", line[:16]) for line in lines]
    assert frame(chunks) == (expected, None)
