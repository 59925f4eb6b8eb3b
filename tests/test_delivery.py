"""Delivery over ZeroMQ without sockets: messages, acknowledgements, the window, de-duplication."""

from __future__ import annotations

import struct
import uuid

import pytest
from hypothesis import given
from hypothesis import strategies as st

from logduct.delivery import (
    GROWTH_LIMIT_OF_RTO,
    INITIAL_RTO_S,
    INITIAL_WINDOW_RECORDS,
    MAX_MESSAGE_BYTES,
    MAX_MESSAGE_RECORDS,
    MAX_RTO_S,
    MAX_SEQ,
    MAX_WINDOW_RECORDS,
    MIN_RTO_S,
    TAG,
    Delivery,
    IncomingMessage,
    SeenDeliveries,
    Window,
    encode_message,
    parse_ack,
    parse_message,
)
from logduct.errors import ProtocolError
from logduct.record import MAX_RECORD_BYTES

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
    ([b"LD10", SESSION.bytes, struct.pack(">Q", 1), b"{}"], "VER-2"),
    ([b"LDx", SESSION.bytes, struct.pack(">Q", 1), b"{}"], "ZMQ-11"),  # not a tag: no version in it
    ([b"LD01", SESSION.bytes, struct.pack(">Q", 1), b"{}"], "ZMQ-11"),
    ([b"LD", SESSION.bytes, struct.pack(">Q", 1), b"{}"], "ZMQ-11"),
])
def test_malformed_messages_are_refused_under_their_rule(frames: list[bytes], rule: str) -> None:
    """ZMQ-11: a message not of the ZMQ-3 form is refused whole; an unknown version says so (VER-2)."""
    with pytest.raises(ProtocolError) as caught:
        parse_message(frames)
    assert caught.value.rule == rule


def ack(window: Window, first: int) -> list[bytes]:
    return parse_message(window.frames(first)).ack()


def send_all(window: Window, now: float) -> list[int]:
    """What a sender does at ``now``: every message the window lets out; their first seqs."""
    sent = []
    while (first := window.next_to_send()) is not None:
        window.sent(first, now)
        sent.append(first)
    return sent


def test_window_keeps_messages_until_acknowledged() -> None:
    """ZMQ-5: sequence numbers run on across messages; an ack settles exactly its message."""
    window = Window(session=SESSION)
    first, second = window.open([b"a", b"b"]), window.open([b"c"])
    assert (first, second, window.records_in_flight) == (1, 3, 3)
    assert send_all(window, now=0.0) == [1, 3]
    assert window.acknowledge(ack(window, second), now=0.1) == 1
    assert window.records_in_flight == 2 and window.records_outstanding == 2


def test_window_ignores_stale_and_foreign_acks() -> None:
    """An ack of another session, an unknown message or a wrong count settles nothing."""
    window = Window(session=SESSION)
    window.open([b"a", b"b"])
    send_all(window, now=0.0)
    assert window.acknowledge([TAG, uuid.UUID(int=1).bytes, struct.pack(">Q", 1), struct.pack(">Q", 2)], 1.0) == 0
    assert window.acknowledge([TAG, SESSION.bytes, struct.pack(">Q", 1), struct.pack(">Q", 1)], 1.0) == 0
    assert window.acknowledge([TAG, SESSION.bytes, struct.pack(">Q", 9), struct.pack(">Q", 2)], 1.0) == 0
    assert window.records_in_flight == 2


def test_window_lets_out_only_what_it_has_room_for_and_grows_with_acknowledgements() -> None:
    """ZMQ-13: the window starts at INITIAL_WINDOW_RECORDS and grows by what is acknowledged, up to the
    most, while round trips stay steady."""
    window = Window(session=SESSION)
    firsts = [window.open([b"r"] * 32) for _ in range(MAX_WINDOW_RECORDS // 32 + 10)]
    outstanding = send_all(window, now=0.0)
    assert outstanding == firsts[:INITIAL_WINDOW_RECORDS // 32]
    for step in range(1, 12):
        now = step / 10  # round trips of 100 ms, well under the timeout
        for first in outstanding:
            window.acknowledge(ack(window, first), now=now)
        outstanding = send_all(window, now=now)
        assert window.records_outstanding <= MAX_WINDOW_RECORDS
        if step == 1:
            assert window.size == 2 * INITIAL_WINDOW_RECORDS
    assert window.size == MAX_WINDOW_RECORDS


def test_window_stops_growing_while_round_trips_near_the_timeout() -> None:
    """ZMQ-13: a round trip of a quarter of the RTO or more grows nothing: doubled, it could time out."""
    window = Window(session=SESSION)
    first = window.open([b"r"] * 64)
    window.sent(first, now=0.0)
    window.acknowledge(ack(window, first), now=0.1)
    grown = INITIAL_WINDOW_RECORDS + 64
    assert window.size == grown
    first = window.open([b"r"] * 64)
    window.sent(first, now=1.0)
    window.acknowledge(ack(window, first), now=1.0 + GROWTH_LIMIT_OF_RTO * window.rto_s + 0.5)
    assert window.size == grown


def test_one_message_larger_than_the_window_still_goes_when_nothing_is_outstanding() -> None:
    """ZMQ-13: a message bigger than the window is not stuck for ever; it goes alone."""
    window = Window(session=SESSION, size=64)  # a message is at most 1,024 records: a small window
    big, small = window.open([b"r"] * 65), window.open([b"r"])
    assert send_all(window, now=0.0) == [big]
    window.acknowledge(ack(window, big), now=0.2)
    assert send_all(window, now=0.2) == [small]


def test_timeout_adapts_to_measured_round_trips_as_rfc_6298_says() -> None:
    """ZMQ-14: SRTT = R, RTTVAR = R/2 at the first sample, then smoothed; RTO within its floor and cap."""
    window = Window(session=SESSION)
    assert window.rto_s == INITIAL_RTO_S
    rtts = [2.0, 2.5, 1.5, 20.0]
    for i, rtt in enumerate(rtts):
        first = window.open([b"r"])
        window.sent(first, now=10.0 * i)
        window.acknowledge(ack(window, first), now=10.0 * i + rtt)
        if i == 0:
            assert (window.srtt_s, window.rttvar_s, window.rto_s) == (2.0, 1.0, 6.0)
    srtt, rttvar = 2.0, 1.0
    for rtt in rtts[1:]:
        rttvar = 0.75 * rttvar + 0.25 * abs(srtt - rtt)
        srtt = 0.875 * srtt + 0.125 * rtt
    assert window.srtt_s == pytest.approx(srtt) and window.rttvar_s == pytest.approx(rttvar)
    assert window.rto_s == pytest.approx(min(MAX_RTO_S, max(MIN_RTO_S, srtt + 4 * rttvar)))
    quick = Window(session=SESSION)
    first = quick.open([b"r"])
    quick.sent(first, now=0.0)
    quick.acknowledge(ack(quick, first), now=0.001)
    assert quick.rto_s == MIN_RTO_S


def test_a_late_message_alone_is_sent_again_and_the_timeout_doubles_up_to_its_cap() -> None:
    """ZMQ-15: on expiry only the oldest outstanding message goes again, whatever the window; RTO
    doubles, the window restarts; the next message is late only after the longer timeout."""
    window = Window(session=SESSION)
    window.size = MAX_WINDOW_RECORDS
    firsts = [window.open([b"r"] * 256) for _ in range(8)]
    assert send_all(window, now=0.0) == firsts
    assert window.timer_deadline() == INITIAL_RTO_S
    assert not window.expire(now=INITIAL_RTO_S - 0.01)
    assert window.expire(now=INITIAL_RTO_S)
    assert window.rto_s == 2 * INITIAL_RTO_S and window.size == INITIAL_WINDOW_RECORDS
    assert send_all(window, now=INITIAL_RTO_S) == firsts[:1]
    assert window.retransmitted == 256
    assert window.timer_deadline() == 2 * INITIAL_RTO_S  # the second message, on the doubled timeout
    now = 0.0
    while (deadline := window.timer_deadline()) is not None and window.rto_s < MAX_RTO_S:
        assert deadline > now
        now = deadline
        assert window.expire(now)
        send_all(window, now)
    assert window.rto_s == MAX_RTO_S
    assert window.retransmitted == window.timeouts * 256  # one message of copies per timeout, no more


def test_a_message_timer_starts_again_when_one_sent_before_it_is_acknowledged_and_only_then() -> None:
    """ZMQ-14, RFC 6298 5.3: a collector still answering what came first is busy, not losing: the
    next message's timer starts again at that answer. An answer to a later message starts nothing,
    so a message whose acknowledgement was lost still goes again within one timeout."""
    window = Window(session=SESSION)
    window.size = MAX_WINDOW_RECORDS
    firsts = [window.open([b"r"] * 256) for _ in range(3)]
    assert send_all(window, now=0.0) == firsts
    window.acknowledge(ack(window, firsts[0]), now=2.5)  # a slow but working collector
    rto = window.rto_s
    assert window.timer_deadline() == 2.5 + rto
    assert not window.expire(now=INITIAL_RTO_S + 1)
    window.acknowledge(ack(window, firsts[2]), now=2.6)  # answered after it: its own answer was lost
    assert window.timer_deadline() == 0.0 + window.rto_s  # from its own send again: it looks lost
    assert window.expire(now=window.rto_s) and window.timeouts == 1
    assert send_all(window, now=window.rto_s) == firsts[1:2]


def test_karns_algorithm_an_acknowledged_copy_is_not_a_round_trip_sample() -> None:
    """ZMQ-14: the ack of a message sent twice could answer either copy, so it times nothing."""
    window = Window(session=SESSION)
    first = window.open([b"r"])
    window.sent(first, now=0.0)
    window.expire(now=INITIAL_RTO_S)
    send_all(window, now=INITIAL_RTO_S)
    window.acknowledge(ack(window, first), now=INITIAL_RTO_S + 0.01)
    assert window.srtt_s is None and window.rto_s == 2 * INITIAL_RTO_S


def test_a_lost_connection_resends_what_is_outstanding_paced_by_the_initial_window() -> None:
    """ZMQ-15: after a lost connection, outstanding messages go again, oldest first, a window at a time."""
    window = Window(session=SESSION)
    window.size = MAX_WINDOW_RECORDS
    firsts = [window.open([b"r"] * 256) for _ in range(8)]
    send_all(window, now=0.0)
    window.connection_lost()
    assert window.rto_s == INITIAL_RTO_S  # not congestion: no backoff
    resent = INITIAL_WINDOW_RECORDS // 256
    assert send_all(window, now=0.1) == firsts[:resent]  # the initial window's worth
    window.acknowledge(ack(window, firsts[0]), now=0.2)
    assert window.size == INITIAL_WINDOW_RECORDS + 256
    assert send_all(window, now=0.2) == firsts[resent:resent + 2]  # the room the acknowledgement made


@given(st.lists(st.sampled_from(["open", "send", "serve", "wait"]), max_size=300), st.floats(0.001, 5.0))
def test_a_slow_collector_gets_at_most_one_copy_per_timeout_and_everything_gets_through(
        steps: list[str], service_s: float) -> None:
    """ZMQ-13 to ZMQ-15: a collector that loses nothing but takes ``service_s`` per message: the window
    bounds what is outstanding, each timeout costs at most one message of copies, and in the end
    every record is acknowledged."""
    window = Window(session=SESSION)
    collector: list[int] = []  # transmissions waiting at the collector, oldest first
    now = 0.0

    def send() -> None:
        first = window.next_to_send()
        while first is not None:
            window.sent(first, now)
            collector.append(first)
            first = window.next_to_send()

    def serve() -> None:
        nonlocal now
        if collector:
            now += service_s
            first = collector.pop(0)
            window.acknowledge([TAG, SESSION.bytes, struct.pack(">Q", first), struct.pack(">Q", 100)], now)

    for step in steps:
        if step == "open" and window.records_in_flight < 4_000:
            window.open([b"r"] * 100)
        elif step == "send":
            send()
        elif step == "serve":
            serve()
        else:
            now += service_s
        window.expire(now)
        assert window.records_outstanding <= MAX_WINDOW_RECORDS + 100
    for _ in range(10_000):
        if not window.records_in_flight:
            break
        window.expire(now)
        send()
        serve()
        if not collector:
            now = max(now, window.timer_deadline() or now)
    assert window.records_in_flight == 0
    assert window.retransmitted <= window.timeouts * 100


def test_a_message_over_the_bounds_or_the_sequence_range_is_refused_whole() -> None:
    """ZMQ-12, ZMQ-11: more than MAX_MESSAGE_RECORDS records, more than MAX_MESSAGE_BYTES, or seqs past
    2^63-1 refuse the whole message."""
    record = b"{}"
    with pytest.raises(ProtocolError) as caught:
        parse_message(encode_message(SESSION, 1, [record] * (MAX_MESSAGE_RECORDS + 1)))
    assert caught.value.rule == "ZMQ-12"
    parse_message(encode_message(SESSION, 1, [record] * MAX_MESSAGE_RECORDS))
    big = b"x" * (MAX_MESSAGE_BYTES // 16)
    parse_message(encode_message(SESSION, 1, [big] * 16))
    with pytest.raises(ProtocolError) as caught:
        parse_message(encode_message(SESSION, 1, [big] * 16 + [b"x"]))
    assert caught.value.rule == "ZMQ-12"
    assert parse_message(encode_message(SESSION, MAX_SEQ, [record])).first_seq == MAX_SEQ
    assert parse_message(encode_message(SESSION, MAX_SEQ - 1, [record] * 2)).first_seq == MAX_SEQ - 1
    for first, count in ((MAX_SEQ, 2), (MAX_SEQ + 1, 1), (2**64 - 1, 1)):
        with pytest.raises(ProtocolError) as caught:
            parse_message(encode_message(SESSION, first, [record] * count))
        assert caught.value.rule == "ZMQ-11"


def test_incoming_message_keeps_at_most_the_bounds_and_judges_the_whole() -> None:
    """ZMQ-12: frames past the bounds are counted, not kept, and the message is refused all the same."""
    incoming = IncomingMessage()
    for frame in encode_message(SESSION, 1, [b"x" * 60_000] * 4_000):
        incoming.add(frame)
    assert sum(map(len, incoming.frames)) <= MAX_MESSAGE_BYTES + 100
    assert incoming.frame_count == 4_003
    with pytest.raises(ProtocolError) as caught:
        incoming.parse()
    assert caught.value.rule == "ZMQ-12"
    assert len(incoming.quarantined()) <= MAX_RECORD_BYTES
    fine = IncomingMessage()
    for frame in encode_message(SESSION, 5, [b"{}", b"{}\n"]):
        fine.add(frame)
    assert fine.parse() == parse_message(encode_message(SESSION, 5, [b"{}", b"{}"]))


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
