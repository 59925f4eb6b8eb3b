"""A collector on ZeroMQ, spoken to by the suite's raw DEALER; and emitter with collector through crashes
(SPEC.md section 5)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from pathlib import Path

import psycopg
import pytest

from logduct_conformance.oracle import TAG, encode, message_frames
from logduct_conformance.peers import RawDealer
from logduct_conformance.plugin import Implementation
from logduct_conformance.processes import Process, delivery_report, wait_for
from logduct_conformance.strategies import record

from .conftest import CollectorUnderTest

pytestmark = pytest.mark.needs("collector", "zmq", "zmq-acks", "sink")


def start(collector: CollectorUnderTest) -> tuple[Process, str]:
    endpoint = f"ipc://{collector.workdir}/collector-{len(collector.processes)}.ipc"
    process = collector.start("--zmq", endpoint)
    socket_file = Path(endpoint.removeprefix("ipc://"))
    wait_for(lambda: socket_file.exists() or process.popen.poll() is not None, "the collector to bind")
    assert process.popen.poll() is None, process.stderr
    return process, endpoint


@pytest.mark.rules("ZMQ-3", "ZMQ-4", "ZMQ-11", "VER-2", "COL-2")
def test_malformed_messages_are_refused_unacknowledged_and_good_ones_acknowledged(
        collector: CollectorUnderTest) -> None:
    """Bad frames are quarantined and never acknowledged; a good message after them is, once stored. A
    record of it that breaks REC-2 is quarantined alone: its neighbours are stored and the message,
    all of it durably stored in one table or the other, acknowledged whole."""
    process, endpoint = start(collector)
    dealer = RawDealer(endpoint)
    session = uuid.uuid4()
    good = [record(n) for n in range(2)]
    no_trace_id = json.loads(encode(record(2)))
    del no_trace_id["trace_id"]
    dealer.send([b"hello"])
    dealer.send([TAG, b"short", (1).to_bytes(8, "big"), encode(good[0])[:-1]])
    dealer.send([b"LD9", session.bytes, (1).to_bytes(8, "big"), encode(good[0])[:-1]])
    dealer.send(message_frames(session, 1, [encode(good[0])[:-1], json.dumps(no_trace_id).encode(),
                                            encode(good[1])[:-1]]))
    assert dealer.acks(1) == [(session, 1, 3)]
    wait_for(lambda: len(collector.rejected_rules()) >= 4, "four rejections")
    assert collector.rejected_rules() == sorted(["ZMQ-11", "ZMQ-11", "VER-2", "REC-2"])
    assert process.popen.poll() is None
    assert delivery_report(good, collector.accepted()) == (0, 0, 0)
    dealer.close()


@pytest.mark.rules("ZMQ-6", "PG-4", "COL-5")
def test_a_delivery_sent_three_times_is_stored_once_and_acknowledged_each_time(
        collector: CollectorUnderTest) -> None:
    """The same (session, seq) three times: one row per record, three acknowledgements."""
    _, endpoint = start(collector)
    dealer = RawDealer(endpoint)
    session = uuid.uuid4()
    message = message_frames(session, 1, [encode(record(n))[:-1] for n in range(5)])
    for _ in range(3):
        dealer.send(message)
    assert dealer.acks(3) == [(session, 1, 5)] * 3
    assert delivery_report([record(n) for n in range(5)], collector.accepted()) == (0, 0, 0)
    dealer.close()


@pytest.mark.needs("postgres")
@pytest.mark.rules("ZMQ-4")
def test_acknowledgement_comes_only_after_the_records_are_committed(collector: CollectorUnderTest) -> None:
    """At the moment an acknowledgement arrives, its records are already visible in logs."""
    _, endpoint = start(collector)
    assert collector.dsn is not None
    dealer = RawDealer(endpoint)
    for batch in range(5):
        session = uuid.uuid4()
        dealer.send(message_frames(session, 1, [encode(record(n, f"batch{batch}"))[:-1] for n in range(20)]))
        assert dealer.acks(1) == [(session, 1, 20)]
        with psycopg.connect(collector.dsn) as conn:
            stored = conn.execute("SELECT count(*) FROM logs WHERE application_name = %s",
                                  (f"batch{batch}",)).fetchone()
        assert stored == (20,), f"acknowledged before commit: {stored[0] if stored else 0} of 20 stored"
    dealer.close()


@pytest.mark.needs("emitter", "postgres")
@pytest.mark.rules("ZMQ-4", "ZMQ-5", "ZMQ-6", "CLI-2")
def test_collector_killed_twice_under_load_loses_nothing_and_doubles_nothing(
        implementation: Implementation, collector: CollectorUnderTest) -> None:
    """An emitter streams 12,000 records at 4,000/s; the collector is SIGKILLed twice: all stored once, exit 0."""
    _, endpoint = start(collector)
    sent = [record(n, "stream") for n in range(12_000)]
    emitter = Process(implementation.emit("--zmq", endpoint), collector.workdir, "emitter",
                      stdin=b"".join(map(encode, sent)), lines_per_s=4_000)
    for rows in (2_000, 6_000):
        wait_for(_stored_at_least(collector, rows), f"{rows} records stored")
        collector.current.kill()
        collector.start("--zmq", endpoint)
    # 3 s of input, then a retransmission or two: an emitter that never resends waits for ever.
    assert emitter.wait(15) == 0, emitter.stderr
    assert delivery_report(sent, collector.wait_accepted(len(sent))) == (0, 0, 0)


def _stored_at_least(collector: CollectorUnderTest, n: int) -> Callable[[], bool]:
    """A condition for wait_for; ``n`` is bound here, not looked up in the caller's loop when it runs."""
    return lambda: len(collector.accepted()) >= n


@pytest.mark.rules("ZMQ-11", "ZMQ-12", "COL-2")
def test_messages_past_the_bounds_or_the_sequence_range_are_refused_whole_and_the_collector_lives(
        collector: CollectorUnderTest) -> None:
    """Records numbered past 2^63-1, more than 1,024 records, more than 1 MiB of records: each message is
    quarantined under its rule and never acknowledged; a valid message after them is acknowledged."""
    process, endpoint = start(collector)
    dealer = RawDealer(endpoint)
    good = encode(record(1))[:-1]
    bad = [
        (message_frames(uuid.uuid4(), 2**63, [good]), "ZMQ-11"),
        (message_frames(uuid.uuid4(), 2**63 - 1, [good, good]), "ZMQ-11"),
        (message_frames(uuid.uuid4(), 1, [good] * 1_025), "ZMQ-12"),
        (message_frames(uuid.uuid4(), 1, [b" " * 60_000 + good] * 18), "ZMQ-12"),  # over 18 x 60,000 bytes of records
    ]
    for frames, _ in bad:
        dealer.send(frames)
    session = uuid.uuid4()
    edge = [encode(record(n, "edge"))[:-1] for n in range(2)]
    dealer.send(message_frames(session, 2**63 - 2, edge))  # the last two numbers there are: valid
    # The first acknowledgement must be the valid message's: none of the refused ones may have one.
    wait_for(lambda: process.popen.poll() is not None or dealer.socket.poll(50),
             "an acknowledgement, or the collector's end", timeout_s=60)
    assert process.popen.poll() is None, f"the collector died: {process.stderr[-2000:]}"
    assert dealer.acks(1) == [(session, 2**63 - 2, 2)], "a refused message was acknowledged"
    wait_for(lambda: len(collector.rejected_rules()) >= len(bad), f"{len(bad)} rejections")
    assert sorted(collector.rejected_rules()) == sorted(rule for _, rule in bad)
    assert delivery_report([record(n, "edge") for n in range(2)], collector.accepted()) == (0, 0, 0)
    dealer.close()
