"""The batcher: COL-3's size and age bounds, and ZMQ-4's acknowledgements held for their commit. No clock."""

from __future__ import annotations

import uuid
from datetime import datetime, timezone

from logduct.batching import Accepted, Batcher, Rejection
from logduct.delivery import Delivery
from logduct.record import Record

RECORD = Record(time=datetime(2026, 11, 26, tzinfo=timezone.utc), application_name="a", environment_name="e",
                log_event="x", trace_id="t", file_path="f", host_ip="127.0.0.1")
REJECTION = Rejection("fifo", "/f", "ENC-2", "why", b"{")
KEYED = Accepted(RECORD, Delivery(uuid.uuid4(), 1))


def test_a_batch_is_due_when_full() -> None:
    """COL-3: ``limit`` items make a batch due at once, records and rejections alike."""
    batcher = Batcher(limit=3, max_age_s=10.0, byte_limit=1 << 20)
    batcher.add_record(Accepted(RECORD), size=250, now=0.0)
    batcher.add_rejection(REJECTION, now=0.0)
    assert not batcher.full() and not batcher.due(now=0.0)
    batcher.add_record(Accepted(RECORD), size=250, now=0.0)
    assert batcher.full() and batcher.due(now=0.0)
    batch = batcher.take()
    assert (len(batch.records), len(batch.rejections)) == (2, 1)
    assert not batcher.due(now=100.0)  # a new, empty batch is never due


def test_a_batch_is_due_when_it_holds_its_bound_in_bytes() -> None:
    """COL-3: however few the records, a batch of ``byte_limit`` bytes of input is due at once."""
    batcher = Batcher(limit=1_000, max_age_s=10.0, byte_limit=100_000, grown_limit=4_000)
    batcher.add_record(Accepted(RECORD), now=0.0, size=60_000)
    assert not batcher.due(now=0.0)
    batcher.add_rejection(Rejection("fifo", "/f", "ENC-3", "why", b"x" * 40_000), now=0.0)
    assert batcher.full() and batcher.full(committing=True) and batcher.due(now=0.0)
    batcher.take()
    batcher.add_record(KEYED, now=0.0, size=99_999)
    assert not batcher.full(committing=True)  # the count restarts with the batch


def test_while_a_commit_is_under_way_only_a_batch_of_keyed_items_grows() -> None:
    """Group commit: records that are sent again if lost (ZMQ-5) fill on to ``grown_limit`` while the
    batch before them commits; one record without a delivery key (a FIFO line, lost in a crash) holds
    the batch to ``limit``, so that FIFO-8's bound holds."""
    batcher = Batcher(limit=10, max_age_s=10.0, byte_limit=1 << 20, grown_limit=40)
    for _ in range(10):
        batcher.add_record(KEYED, now=0.0, size=250)
    assert batcher.full() and batcher.due(now=0.0)  # nothing committing: due at the limit
    assert not batcher.full(committing=True) and not batcher.due(now=0.0, committing=True)
    for _ in range(29):
        batcher.add_record(KEYED, now=0.0, size=250)
    assert not batcher.full(committing=True)
    batcher.add_record(KEYED, now=0.0, size=250)
    assert batcher.full(committing=True)  # 40: grown as far as it may
    assert len(batcher.take()) == 40
    for _ in range(9):
        batcher.add_record(KEYED, now=0.0, size=250)
    batcher.add_record(Accepted(RECORD), now=0.0, size=250)
    assert batcher.full(committing=True)  # a FIFO line among them: held to the limit
    batcher.take()
    for _ in range(10):
        batcher.add_record(KEYED, now=0.0, size=250)
    assert batcher.due(now=10.0, committing=True)  # COL-3's age bound holds for a growing batch too


def test_a_batch_is_due_when_its_oldest_item_is_old_enough() -> None:
    """COL-3: the age counts from the first item of the batch, not the last."""
    batcher = Batcher(limit=100, max_age_s=0.25, byte_limit=1 << 20)
    assert batcher.seconds_until_due(now=4.0) is None
    batcher.add_record(Accepted(RECORD), size=250, now=4.0)
    batcher.add_record(Accepted(RECORD), size=250, now=4.2)
    assert batcher.seconds_until_due(now=4.125) == 0.125
    assert not batcher.due(now=4.24)
    assert batcher.due(now=4.25)
    assert batcher.seconds_until_due(now=7.0) == 0.0
    batcher.take()
    batcher.add_record(Accepted(RECORD), size=250, now=9.0)
    assert not batcher.due(now=9.125)  # the new batch's clock starts at its own first item


def test_an_acknowledgement_waits_for_the_commit_of_its_batch() -> None:
    """ZMQ-4: held in the batch that holds the message's records; nothing pending means act now."""
    batcher = Batcher(limit=10, max_age_s=1.0, byte_limit=1 << 20)
    acknowledged: list[str] = []
    assert not batcher.hold_until_commit(lambda: acknowledged.append("early"))  # nothing uncommitted
    batcher.add_record(Accepted(RECORD), size=250, now=0.0)
    assert batcher.hold_until_commit(lambda: acknowledged.append("message 1"))
    assert acknowledged == []
    batch = batcher.take()
    assert not batcher.take().after_commit  # the acknowledgement went with its batch
    for acknowledge in batch.after_commit:
        acknowledge()
    assert acknowledged == ["message 1"]
