"""Delivery over ZeroMQ without sockets: messages, acknowledgements, the window, de-duplication."""

from __future__ import annotations

import struct
import uuid

import pytest
from hypothesis import given
from hypothesis import strategies as st

from logduct.delivery import TAG, Delivery, SeenDeliveries, Window, encode_message, parse_ack, parse_message
from logduct.errors import ProtocolError

SESSION = uuid.UUID(int=42)


def test_message_round_trips_and_its_ack_names_it() -> None:
    """ZMQ-3, ZMQ-4: a message parses back to its records and numbers; its ack carries both."""
    frames = encode_message(SESSION, 7, [b'{"a":1}', b'{"b":2}\n'])
    message = parse_message(frames)
    assert (message.session, message.first_seq, message.records) == (SESSION, 7, [b'{"a":1}', b'{"b":2}'])
    assert message.deliveries() == [Delivery(SESSION, 7), Delivery(SESSION, 8)]
    assert parse_ack(message.ack()) == (SESSION, 7, 2)


@pytest.mark.parametrize(("frames", "rule"), [
    ([], "ZMQ-11"),
    ([b"hello"], "ZMQ-11"),
    ([TAG, SESSION.bytes, struct.pack(">Q", 1)], "ZMQ-11"),
    ([TAG, b"short", struct.pack(">Q", 1), b"{}"], "ZMQ-11"),
    ([TAG, SESSION.bytes, b"\x01", b"{}"], "ZMQ-11"),
    ([TAG, SESSION.bytes, struct.pack(">Q", 0), b"{}"], "ZMQ-11"),
    ([b"LD2", SESSION.bytes, struct.pack(">Q", 1), b"{}"], "VER-2"),
])
def test_malformed_messages_are_refused_under_their_rule(frames: list[bytes], rule: str) -> None:
    """ZMQ-11: a message not of the ZMQ-3 form is refused whole; an unknown version says so (VER-2)."""
    with pytest.raises(ProtocolError) as caught:
        parse_message(frames)
    assert caught.value.rule == rule


def test_window_keeps_messages_until_acknowledged() -> None:
    """ZMQ-5: sequence numbers run on across messages; an ack settles exactly its message."""
    window = Window(ack_timeout_s=2.0, session=SESSION)
    first = window.open([b"a", b"b"], now=0.0)
    second = window.open([b"c"], now=0.0)
    assert (first, second, window.records_in_flight) == (1, 3, 3)
    assert window.acknowledge(parse_message(window.frames(second) or []).ack()) == 1
    assert window.frames(second) is None and window.records_in_flight == 2


def test_window_ignores_stale_and_foreign_acks() -> None:
    """An ack of another session, an unknown message or a wrong count settles nothing."""
    window = Window(ack_timeout_s=2.0, session=SESSION)
    window.open([b"a", b"b"], now=0.0)
    assert window.acknowledge([TAG, uuid.UUID(int=1).bytes, struct.pack(">Q", 1), struct.pack(">Q", 2)]) == 0
    assert window.acknowledge([TAG, SESSION.bytes, struct.pack(">Q", 1), struct.pack(">Q", 1)]) == 0
    assert window.acknowledge([TAG, SESSION.bytes, struct.pack(">Q", 9), struct.pack(">Q", 2)]) == 0
    assert window.records_in_flight == 2


def test_window_resends_late_messages_and_everything_after_a_reconnection() -> None:
    """ZMQ-5: a message is due after ack_timeout_s, or at once when the connection was re-made."""
    window = Window(ack_timeout_s=2.0, session=SESSION)
    window.open([b"a"], now=0.0)
    window.open([b"b"], now=1.5)
    assert window.due(now=1.9) == []
    assert window.due(now=2.0) == [1]
    assert window.due(now=2.1) == []  # its clock restarted
    assert window.due(now=2.2, everything=True) == [1, 2]
    assert window.retransmitted == 3


@given(st.lists(st.integers(1, 60), max_size=300))
def test_seen_deliveries_says_new_exactly_once_per_key(seqs: list[int]) -> None:
    """ZMQ-6: however deliveries repeat and reorder, each key is new once, and memory stays small."""
    seen = SeenDeliveries()
    sessions = [uuid.UUID(int=1), uuid.UUID(int=2)]
    firsts: set[Delivery] = set()
    for i, seq in enumerate(seqs):
        delivery = Delivery(sessions[i % 2], seq)
        assert seen.add(delivery) is (delivery not in firsts)
        firsts.add(delivery)
    in_order = SeenDeliveries()
    for seq in range(1, 10_001):
        in_order.add(Delivery(SESSION, seq))
    assert in_order._above[SESSION] == set() and in_order._watermark[SESSION] == 10_000
