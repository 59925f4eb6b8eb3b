"""A transport the collector has never heard of runs through it unchanged (source.py's promise).

``PipeSource`` below is a whole transport in a few lines: NDJSON over an anonymous pipe, framed by
the same LineFramer as a FIFO, each read acknowledged through a callback. The collector runs it with
no edit, beside nothing else, into the real stdout sink; that is what "adding a transport is one
module and one registration line" rests on (docs/architecture.md).
"""

from __future__ import annotations

import dataclasses
import io
import os
import re
import select
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from reference_records import record

from logduct.batching import Batch, Commit, Done, Written
from logduct.collector import Collector
from logduct.delivery import Delivery
from logduct.framing import LineFramer
from logduct.record import decode, encode
from logduct.sink import StdoutSink
from logduct.source import Arrivals
from logduct_conformance.processes import wait_for

#: COL-7's rejection line, as SPEC.md gives it (with the source captured too).
COL_7 = re.compile(r"rejected from (.*?): ([A-Z]+-[0-9]+): ")


class PipeSource:
    """NDJSON on a pipe; every read's lines share one acknowledgement, as a ZeroMQ message's do."""

    transport = "pipe"

    def __init__(self, fd: int, on_acknowledged: Callable[[int], None]) -> None:
        self.name = f"pipe:{fd}"
        self._fd = fd
        self._framer = LineFramer()
        self._on_acknowledged = on_acknowledged
        self._reads = 0

    def describe(self) -> str:
        return f"a pipe, fd {self._fd}"

    def poll_target(self) -> int:
        return self._fd

    def receive(self) -> list[Arrivals]:
        chunk = os.read(self._fd, 1 << 16)
        self._reads += 1
        read = self._reads
        groups = self._framer.feed(chunk)
        return [Arrivals(self.name, framed.lines, refused=framed.refused,
                         acknowledge=lambda: self._on_acknowledged(read)) for framed in groups]

    def stop_reading(self) -> list[Arrivals]:
        rest = self._framer.end()
        return [] if rest is None else [Arrivals(self.name, (), refused=[rest])]

    def close(self) -> None:
        os.close(self._fd)


class CommitLog:
    """The stdout sink, noting each commit, so that acknowledgements can be checked against them."""

    def __init__(self, events: list[str]) -> None:
        self.out = io.BytesIO()
        self.errors = io.StringIO()
        self._sink = StdoutSink(self.out, self.errors)
        self._events = events
        self.give_up: Callable[[], bool] = lambda: False

    def write(self, batch: Batch) -> Written:
        written = self._sink.write(batch)
        self._events.append(f"commit {len(batch)}")
        return written

    def prepare(self, batch: Batch) -> None:
        pass

    def begin(self, batch: Batch) -> Commit:
        return Done(self.write(batch))

    def close(self) -> None:
        self._sink.close()


@contextmanager
def collecting(events: list[str]) -> Iterator[tuple[int, CommitLog, Collector]]:
    """A collector on a PipeSource in a thread; yields the pipe's write end, the sink, the collector."""
    read_end, write_end = os.pipe()
    sink = CommitLog(events)
    collector = Collector([PipeSource(read_end, lambda n: events.append(f"ack {n}"))], sink)
    thread = threading.Thread(target=collector.run)
    thread.start()
    try:
        yield write_end, sink, collector
    finally:
        collector.request_stop()
        thread.join()
        os.close(write_end)


def test_a_new_transport_runs_through_the_collector_unchanged() -> None:
    """Valid lines come out canonical, an invalid one is rejected under its rule, and an unfinished
    line at the stop is ENC-2: the same verdicts as over a FIFO, from a source defined here."""
    events: list[str] = []
    valid = [record(n) for n in range(3)]
    with collecting(events) as (pipe, sink, collector):
        os.write(pipe, encode(valid[0]) + b"{not json\n" + encode(valid[1]) + encode(valid[2]) + b'{"half')
        wait_for(lambda: sink.out.getvalue().count(b"\n") == 3, "three records written")
    assert [decode(line) for line in sink.out.getvalue().splitlines()] == valid
    assert collector.counters.received == 5
    assert dict(collector.counters.rejected) == {"ENC-2": 2}
    # COL-7: one line per rejection, in the form the spec gives, naming the source and the rule.
    lines = sink.errors.getvalue().splitlines()
    assert [COL_7.search(line).groups() for line in lines] == [  # type: ignore[union-attr]
        (collector.sources[0].name, "ENC-2")] * 2, lines
    assert "not one JSON text" in lines[0] and "line without its LF" in lines[1]


def test_acknowledgements_follow_the_commit_of_what_they_cover() -> None:
    """ZMQ-4 through the Source protocol: no acknowledgement before the commit of its lines."""
    events: list[str] = []
    with collecting(events) as (pipe, sink, _):
        for n in range(3):
            os.write(pipe, encode(record(n)))
            wait_for(lambda n=n: f"ack {n + 1}" in events, f"read {n + 1} acknowledged")  # type: ignore[misc]
    for ack in (e for e in events if e.startswith("ack")):
        assert any(e.startswith("commit") for e in events[:events.index(ack)]), events
    assert sink.out.getvalue().count(b"\n") == 3


def test_transport_refusals_carry_their_rule() -> None:
    """A Refused from a transport reaches the quarantine under its own rule, with its bytes."""
    events: list[str] = []
    with collecting(events) as (pipe, sink, collector):
        os.write(pipe, b"x" * 70_000 + b"\n" + encode(record(1)))
        wait_for(lambda: sink.out.getvalue().count(b"\n") == 1, "the record after an overlong line")
    assert dict(collector.counters.rejected) == {"ENC-3": 1}
    assert "ENC-3: line longer than 65,536 bytes, LF included; first 65,536 kept" in sink.errors.getvalue()


class HeldCommits:
    """The stdout sink behind commits that stay in flight until the test lets one go, by writing a
    byte to ``release``: what PostgreSQL's answer to a COPY is to the collector (sink.py, ``begin``)."""

    def __init__(self, events: list[str]) -> None:
        self._sink = StdoutSink(io.BytesIO(), io.StringIO())
        self._events = events
        self.give_up: Callable[[], bool] = lambda: False
        self.held, self.release = os.pipe()

    def write(self, batch: Batch) -> Written:
        return self.begin(batch).result()

    def prepare(self, batch: Batch) -> None:
        self._events.append(f"prepare {len(batch)}")

    def begin(self, batch: Batch) -> Commit:
        self._events.append(f"begin {len(batch)}")
        return _HeldCommit(self, batch)

    def commit(self, batch: Batch) -> Written:
        os.read(self.held, 1)  # waits for the test's word
        self._events.append(f"commit {len(batch)}")
        return self._sink.write(batch)

    def close(self) -> None:
        os.close(self.held)
        os.close(self.release)


class _HeldCommit:
    def __init__(self, sink: HeldCommits, batch: Batch) -> None:
        self._sink = sink
        self._batch = batch

    def fileno(self) -> int:
        return self._sink.held

    def done(self) -> bool:
        return bool(select.select([self._sink.held], [], [], 0)[0])

    def result(self) -> Written:
        return self._sink.commit(self._batch)


@contextmanager
def held_collecting(source_type: type[PipeSource], events: list[str],
                    batch_limit: int = 2) -> Iterator[tuple[int, HeldCommits, Collector]]:
    """A collector on ``source_type`` into HeldCommits, in a thread."""
    sink = HeldCommits(events)
    read_end, write_end = os.pipe()
    collector = Collector([source_type(read_end, lambda n: events.append(f"ack {n}"))], sink, batch_limit=batch_limit)
    thread = threading.Thread(target=collector.run)
    thread.start()
    try:
        yield write_end, sink, collector
    finally:
        os.write(sink.release, b"!" * 16)  # whatever is left to commit
        collector.request_stop()
        thread.join()
        os.close(write_end)


def test_an_acknowledgement_waits_for_the_commit_in_flight() -> None:
    """ZMQ-4 with commits under way while the collector reads on: a read whose line completed a
    batch is acknowledged once that batch's commit is done, not when it is begun."""
    events: list[str] = []
    with held_collecting(PipeSource, events, batch_limit=1) as (write_end, sink, _):
        os.write(write_end, encode(record(1)))
        wait_for(lambda: "begin 1" in events, "the commit begun")
        os.write(sink.release, b"!")
        wait_for(lambda: "ack 1" in events, "the read acknowledged")
        assert events == ["prepare 1", "begin 1", "commit 1", "ack 1"]


class KeyedPipeSource(PipeSource):
    """PipeSource with a delivery key on every line, as ZeroMQ's records have (ZMQ-3): a crash
    that takes them uncommitted costs nothing, since their sender sends them again (ZMQ-5)."""

    def __init__(self, fd: int, on_acknowledged: Callable[[int], None]) -> None:
        super().__init__(fd, on_acknowledged)
        self._session = uuid.uuid4()
        self._seq = 0

    def receive(self) -> list[Arrivals]:
        keyed = []
        for arrivals in super().receive():
            keys = [Delivery(self._session, self._seq + n) for n in range(1, len(arrivals.lines) + 1)]
            self._seq += len(keys)
            keyed.append(dataclasses.replace(arrivals, deliveries=keys))
        return keyed


def test_while_a_commit_is_under_way_a_batch_of_keyed_records_fills_on() -> None:
    """Group commit (batching.py): with a commit in flight, records that are sent again if lost are
    not held back at the batch limit; they wait in the next batch, which begins once that commit is done."""
    events: list[str] = []
    with held_collecting(KeyedPipeSource, events) as (write_end, sink, collector):
        os.write(write_end, b"".join(encode(record(n)) for n in range(2)))
        wait_for(lambda: "begin 2" in events, "the first batch begun")
        os.write(write_end, b"".join(encode(record(n)) for n in range(2, 7)))
        wait_for(lambda: collector.uncommitted() == 7, "the next five read while the first commits")
        # The five may already be prepared: their batch is due once COL-3's interval has passed,
        # which a busy machine can make happen before this line. It is not begun.
        assert [event for event in events if event != "prepare 5"] == ["prepare 2", "begin 2"]
        os.write(sink.release, b"!")
        wait_for(lambda: "begin 5" in events, "the grown batch begun")
        assert [event for event in events if event != "prepare 5"] == ["prepare 2", "begin 2", "commit 2", "ack 1",
                                                                      "begin 5"]
        assert events.index("prepare 5") < events.index("begin 5")


def test_while_a_commit_is_under_way_a_batch_of_fifo_lines_stops_at_the_limit() -> None:
    """FIFO-8: lines without a delivery key are lost if a crash takes them uncommitted, so a batch
    of them never grows past the limit: the collector waits for the commit in flight instead, having
    prepared the full batch for its sink meanwhile."""
    events: list[str] = []
    with held_collecting(PipeSource, events) as (write_end, sink, collector):
        os.write(write_end, b"".join(encode(record(n)) for n in range(2)))
        wait_for(lambda: "begin 2" in events, "the first batch begun")
        os.write(write_end, b"".join(encode(record(n)) for n in range(2, 7)))
        wait_for(lambda: events.count("prepare 2") == 2, "the second batch prepared while the first commits")
        assert events == ["prepare 2", "begin 2", "prepare 2"]
        assert collector.uncommitted() == 4  # the batch in flight and the one prepared; the read's other 3 lines wait
        for commits in range(1, 4):
            os.write(sink.release, b"!")
            wait_for(lambda n=commits: events.count("commit 2") == n, f"commit {commits}")
        wait_for(lambda: events.count("begin 2") == 3 and "begin 1" in events, "the last line's batch begun")
        assert all(event in ("prepare 1", "prepare 2", "begin 1", "begin 2", "commit 2", "ack 1", "ack 2")
                   for event in events)
