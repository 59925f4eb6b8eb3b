"""The commit thread (committing.py): batches committed one at a time, in order; what follows a commit
handed back to the collector's thread; nothing acknowledged before its batch is committed (ZMQ-4)."""

from __future__ import annotations

import select
import threading
from collections.abc import Callable, Iterator

import pytest

from logduct.batching import Batch, Rejection, Written
from logduct.committing import Committed, Committer
from logduct.errors import DatabaseUnavailable


class GatedSink:
    """A Sink whose writes wait until the test opens the gate: a database as slow as the test likes."""

    def __init__(self) -> None:
        self.give_up: Callable[[], bool] = lambda: False
        self.gate = threading.Semaphore(0)
        self.written: list[Batch] = []
        self.fault: BaseException | None = None

    def write(self, batch: Batch) -> Written:
        self.gate.acquire()
        if self.fault is not None:
            raise self.fault
        self.written.append(batch)
        return Written(stored=len(batch))

    def close(self) -> None:
        pass


def batch(n: int) -> Batch:
    return Batch(rejections=[Rejection("test", "t", "ENC-2", "x", str(i).encode()) for i in range(n)])


def wait_done(committer: Committer) -> list[Committed]:
    """What has completed, once the committer says something has (its wake descriptor)."""
    assert select.select([committer.wake_fd], [], [], 60)[0], "no commit completed in 60 s"
    return committer.completed()


@pytest.fixture
def sink() -> GatedSink:
    return GatedSink()


@pytest.fixture
def committer(sink: GatedSink) -> Iterator[Committer]:
    committer = Committer(sink)
    yield committer
    for _ in range(10):  # let whatever the test left waiting through, so that close() returns
        sink.gate.release()
    committer.close()


def test_batches_are_committed_in_order_and_handed_back_in_order(sink: GatedSink, committer: Committer) -> None:
    first, second = batch(2), batch(3)
    committer.submit(first)
    sink.gate.release()
    assert [done.batch for done in wait_done(committer)] == [first]
    committer.submit(second)
    sink.gate.release()
    [done] = wait_done(committer)
    assert done.batch is second and done.written == Written(stored=3) and done.gave_up is None
    assert sink.written == [first, second]


def test_a_second_batch_waits_while_the_first_is_committing(sink: GatedSink, committer: Committer) -> None:
    """At most one batch in flight: the collector holds at most two batches uncommitted (FIFO-8)."""
    committer.submit(batch(1))
    submitted = threading.Event()
    threading.Thread(target=lambda: (committer.submit(batch(1)), submitted.set()), daemon=True).start()
    assert not submitted.wait(0.5), "a second batch was taken while the first was being committed"
    sink.gate.release()
    assert submitted.wait(60)
    sink.gate.release()
    assert len(committer.drain()) == 2


def test_an_acknowledgement_held_runs_only_after_its_batch_is_committed(
        sink: GatedSink, committer: Committer) -> None:
    """ZMQ-4: held by the newest unsettled batch; run by the collector's thread from what
    ``completed`` hands back, never by the commit thread."""
    acknowledged: list[str] = []
    assert committer.hold_until_committed(lambda: acknowledged.append("early")) is False  # nothing to wait for
    committer.submit(batch(2))
    assert committer.hold_until_committed(lambda: acknowledged.append("ack"))
    assert committer.unsettled() == 2
    sink.gate.release()
    [done] = wait_done(committer)
    assert acknowledged == []  # the commit thread ran nothing
    for acknowledge in done.batch.after_commit:
        acknowledge()
    assert acknowledged == ["ack"] and committer.unsettled() == 0


def test_a_database_given_up_on_is_reported_with_the_batch(sink: GatedSink, committer: Committer) -> None:
    """COL-9: the sink gave up (told to stop while the database was down): nothing of it was stored."""
    sink.fault = DatabaseUnavailable("COL-9", "still failing")
    committer.submit(doomed := batch(4))
    sink.gate.release()
    [done] = wait_done(committer)
    assert done.batch is doomed and done.written is None and str(done.gave_up) == "COL-9: still failing"


def test_a_fault_of_the_sink_itself_is_raised_on_the_collectors_thread(sink: GatedSink, committer: Committer) -> None:
    """A bug in the sink must not die quietly with its thread: the collector sees it."""
    sink.fault = RuntimeError("a bug")
    committer.submit(batch(1))
    sink.gate.release()
    assert select.select([committer.wake_fd], [], [], 60)[0]
    with pytest.raises(RuntimeError, match="a bug"):
        committer.completed()
