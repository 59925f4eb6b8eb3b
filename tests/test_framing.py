"""The line framer: complete lines out of any chunking of the byte stream (ENC-2, ENC-3)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from logduct.framing import LineFramer, OverlongLine, PartialLine


def frame(chunks: list[bytes], limit: int = 16) -> tuple[list[bytes | OverlongLine], PartialLine | None]:
    framer = LineFramer(limit)
    out: list[bytes | OverlongLine] = []
    for chunk in chunks:
        out += framer.feed(chunk)
    return out, framer.end()


def split_everywhere(data: bytes) -> list[list[bytes]]:
    """The data whole, split at every boundary in two, and one byte at a time."""
    splits = [[data]] + [[data[:i], data[i:]] for i in range(1, len(data))]
    return [*splits, [data[i:i + 1] for i in range(len(data))]]


def test_lines_come_out_whole_however_the_stream_is_cut() -> None:
    """Every split of the stream yields the same lines, without their LF."""
    data = b"one\ntwo\n\nthree\n"
    for chunks in split_everywhere(data):
        assert frame(chunks) == ([b"one", b"two", b"", b"three"], None), chunks


def test_unfinished_line_is_held_then_reported_at_end() -> None:
    """Bytes after the last LF wait for more; at the end they are a PartialLine."""
    for chunks in split_everywhere(b"one\ntw"):
        assert frame(chunks) == ([b"one"], PartialLine(b"tw")), chunks


def test_line_at_the_limit_passes_and_one_byte_more_does_not() -> None:
    """ENC-3: 16 bytes with the LF pass a 16-byte limit; 17 give an OverlongLine."""
    at_limit = b"x" * 15 + b"\n"
    over = b"y" * 16 + b"\n"
    for chunks in split_everywhere(at_limit + over + b"ok\n"):
        assert frame(chunks) == ([b"x" * 15, OverlongLine(b"y" * 16), b"ok"], None), chunks


def test_overlong_line_is_reported_once_and_never_buffered_whole() -> None:
    """ENC-3: a 10,000-byte line costs at most the limit in memory and yields one OverlongLine."""
    framer = LineFramer(16)
    out: list[bytes | OverlongLine] = []
    for _ in range(1000):
        out += framer.feed(b"z" * 10)
        assert framer.buffered < 16
    out += framer.feed(b"z\nnext\n")
    assert out == [OverlongLine(b"z" * 16), b"next"]


@given(st.lists(st.binary(max_size=20).filter(lambda b: b"\n" not in b), max_size=20), st.data())
def test_framing_is_independent_of_chunking(lines: list[bytes], data: st.DataObject) -> None:
    """Any lines, cut into any chunks, come out as the lines (long ones as OverlongLine)."""
    stream = b"".join(line + b"\n" for line in lines)
    cuts = sorted(data.draw(st.lists(st.integers(0, len(stream)), max_size=10)))
    chunks = [stream[a:b] for a, b in zip([0, *cuts], [*cuts, len(stream)], strict=True)]
    expected = [line if len(line) < 16 else OverlongLine(line[:16]) for line in lines]
    assert frame(chunks) == (expected, None)
