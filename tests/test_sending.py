"""The send queue both emitters share: order (EMIT-4), bound and overflow policy (EMIT-3, ZMQ-7)."""

from __future__ import annotations

import threading

import pytest

from logduct.sending import Overflow, SendQueue


def test_lines_keep_their_order_and_a_hand_over_only_happens_with_nothing_queued() -> None:
    """EMIT-4: once a line waits, later ones queue behind it even if the transport would take them."""
    taken: list[bytes] = []
    queue = SendQueue(10, Overflow.DROP_NEWEST)
    assert queue.put(b"1", hand_over=lambda line: False)  # the transport refused: queued
    assert queue.put(b"2", hand_over=lambda line: taken.append(line) is None)  # must not jump the queue
    assert taken == [] and list(queue.lines) == [b"1", b"2"]
    queue.lines.clear()
    assert queue.put(b"3", hand_over=lambda line: taken.append(line) is None)
    assert taken == [b"3"] and not queue.lines


def test_drop_newest_refuses_and_counts_past_the_bound() -> None:
    """EMIT-3: a full queue refuses the new line, never an old one, and counts it."""
    queue = SendQueue(2, Overflow.DROP_NEWEST)
    assert [queue.put(line) for line in (b"a", b"b", b"c", b"d")] == [True, True, False, False]
    assert list(queue.lines) == [b"a", b"b"] and queue.dropped == 2


def test_the_bound_counts_what_the_transport_holds_unsettled() -> None:
    """ZMQ-7: sent-but-unacknowledged lines count against the same bound as queued ones."""
    in_flight = 3
    queue = SendQueue(4, Overflow.DROP_NEWEST, unsettled=lambda: in_flight)
    assert queue.put(b"a") and not queue.put(b"b")
    assert queue.outstanding() == 4
    assert not queue.wait_until_settled(timeout_s=0)


def test_block_waits_for_room_and_gives_up_at_its_deadline() -> None:
    """EMIT-3's BLOCK policy: the sender waits until a line settles, or raises at the deadline."""
    queue = SendQueue(1, Overflow.BLOCK)
    queue.put(b"a")
    with pytest.raises(TimeoutError):
        queue.put(b"b", deadline=0.0)  # already past: no wait at all

    def settle() -> None:
        with queue.changed:
            queue.lines.popleft()
            queue.changed.notify_all()

    threading.Timer(0.05, settle).start()
    assert queue.put(b"b")  # no deadline: waits as long as it takes
    assert list(queue.lines) == [b"b"]


def test_on_first_starts_the_writer_once_per_backlog() -> None:
    """The transport's writer is woken when a line waits behind none, not for every line."""
    woken: list[int] = []
    queue = SendQueue(10, Overflow.DROP_NEWEST, on_first=lambda: woken.append(len(queue.lines)))
    for line in (b"a", b"b", b"c"):
        queue.put(line)
    assert woken == [1]


def test_close_gives_up_what_is_outstanding_and_refuses_more() -> None:
    queue = SendQueue(10, Overflow.DROP_NEWEST, unsettled=lambda: 2)
    queue.put(b"a")
    assert queue.close() == 3
    with pytest.raises(ValueError):
        queue.put(b"b")
