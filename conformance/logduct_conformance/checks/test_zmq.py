"""A collector on ZeroMQ, spoken to by the suite's raw DEALER; and emitter with collector through crashes
(SPEC.md section 5)."""

from __future__ import annotations

import json
import time
import uuid
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import psycopg
import pytest

from logduct_conformance.oracle import (
    MAX_MESSAGE_BYTES,
    MAX_MESSAGE_RECORDS,
    MAX_RECORD_BYTES,
    TAG,
    Ack,
    encode,
    message_frames,
    read_ack,
)
from logduct_conformance.peers import RawDealer
from logduct_conformance.plugin import Implementation, RuleVerdicts
from logduct_conformance.processes import Process, delivery_report, wait_for
from logduct_conformance.strategies import record

from .conftest import CollectorUnderTest, mentions_count

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
        collector: CollectorUnderTest, by_rule: RuleVerdicts) -> None:
    """The same (session, seq) three times: one row per record, three acknowledgements (ZMQ-6); the
    unique index that enforces it in the database (PG-4); the count of what was received, on exit (COL-5)."""
    process, endpoint = start(collector)
    dealer = RawDealer(endpoint)
    session = uuid.uuid4()
    message = message_frames(session, 1, [encode(record(n))[:-1] for n in range(5)])
    for _ in range(3):
        dealer.send(message)
    with by_rule.check("ZMQ-6", "three acknowledgements"):
        assert dealer.acks(3) == [(session, 1, 5)] * 3
    with by_rule.check("ZMQ-6", "each record stored once"):
        assert delivery_report([record(n) for n in range(5)], collector.accepted()) == (0, 0, 0)
    dealer.close()
    if collector.dsn:
        with by_rule.check("PG-4", "a unique index on (emitter_session, emitter_seq) of logs and logs_rejected"):
            assert _unique_delivery_key(collector.dsn) == {"logs", "logs_rejected"}
    if process.popen.poll() is None:
        process.stop()
        # Where and how the counts are written is the implementation's; a standard-output sink's
        # stdout is records, so only its stderr can hold them.
        report = process.stderr + (process.stdout.decode(errors="replace") if collector.dsn else "")
        with by_rule.check("COL-5", "the counts reported on exit: 15 records received"):
            assert mentions_count(report, 15), f"no count of the 15 records received on exit: {report[-2000:]}"


def _unique_delivery_key(dsn: str) -> set[str]:
    """The tables with a unique index on exactly (emitter_session, emitter_seq), as PostgreSQL describes them."""
    with psycopg.connect(dsn) as conn:
        rows = conn.execute(
            "SELECT t.relname, array_agg(a.attname::text ORDER BY a.attname) FROM pg_index i"
            " JOIN pg_class t ON t.oid = i.indrelid JOIN pg_namespace n ON n.oid = t.relnamespace"
            " JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = ANY(i.indkey)"
            " WHERE i.indisunique AND n.nspname = current_schema() AND t.relname IN ('logs', 'logs_rejected')"
            " GROUP BY t.relname, i.indexrelid").fetchall()
    return {table for table, columns in rows if columns == ["emitter_seq", "emitter_session"]}


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
        implementation: Implementation, collector: CollectorUnderTest, by_rule: RuleVerdicts) -> None:
    """An emitter streams 12,000 records at 4,000/s; the collector is SIGKILLed twice: all stored once
    (ZMQ-6), none lost, which takes a collector that acknowledges only what it committed (ZMQ-4) and an
    emitter that sends again what was not acknowledged (ZMQ-5); from outside, a loss is either's; and
    the emitter, every record acknowledged, exits 0 (CLI-2)."""
    _, endpoint = start(collector)
    sent = [record(n, "stream") for n in range(12_000)]
    emitter = Process(implementation.emit("--zmq", endpoint), collector.workdir, "emitter",
                      stdin=b"".join(map(encode, sent)), lines_per_s=4_000)
    for rows in (2_000, 6_000):
        try:
            wait_for(_stored_at_least(collector, rows), f"{rows} records stored")
        except TimeoutError:
            break  # so many lost to the kill before that they never add up: named below
        collector.current.kill()
        collector.start("--zmq", endpoint)
    # 3 s of input, then a retransmission or two: an emitter that never resends waits for ever.
    try:
        status: int | None = emitter.wait(15)
    except TimeoutError:
        status = None
    collector.settle(len(sent))  # named below
    lost, duplicated, altered = delivery_report(sent, collector.accepted())
    with by_rule.check("ZMQ-6", "nothing stored twice"):
        assert duplicated == 0, f"{duplicated} records stored twice"
    for rule in ("ZMQ-4", "ZMQ-5"):
        with by_rule.check(rule, "nothing lost to the kills"):
            assert (lost, altered) == (0, 0), f"{lost} records lost, {altered} altered; emitter status {status}"
    with by_rule.check("ZMQ-5", "the emitter done within 15 s: whatever was lost, sent again"):
        assert status is not None, f"the emitter still waits: {emitter.stderr[-2000:]}"
    if status is not None and lost == 0:  # an emitter that lost records may say so by its status
        with by_rule.check("CLI-2", "every record acknowledged, exit status 0"):
            assert status == 0, emitter.stderr[-2000:]


def _acks_until(dealer: RawDealer, sessions: set[uuid.UUID], process: Process, timeout_s: float) -> list[Ack]:
    """Every acknowledgement that comes until each of ``sessions`` has one, the collector's end, or ``timeout_s``."""
    acks: list[Ack] = []
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and process.popen.poll() is None and sessions - {a.session for a in acks}:
        if dealer.socket.poll(50):
            acks.append(read_ack(dealer.socket.recv_multipart()))
    return acks


def _stored_at_least(collector: CollectorUnderTest, n: int) -> Callable[[], bool]:
    """A condition for wait_for; ``n`` is bound here, not looked up in the caller's loop when it runs."""
    return lambda: len(collector.accepted()) >= n


@pytest.mark.rules("ZMQ-11", "ZMQ-12", "COL-2")
def test_messages_past_the_bounds_or_the_sequence_range_are_refused_whole_and_the_collector_lives(
        collector: CollectorUnderTest, by_rule: RuleVerdicts) -> None:
    """Records numbered past 2^63-1 (ZMQ-11), 1,025 records, 1,048,577 bytes of record frames, and more
    (ZMQ-12): each message is quarantined under its rule and never acknowledged; 1,024 records, and
    exactly 1,048,576 bytes, are acknowledged and stored (ZMQ-12); the collector lives and a valid
    message after them is acknowledged and stored (COL-2). A collector that dies is judged on the
    messages before the one it died of, and on that one."""
    process, endpoint = start(collector)
    dealer = RawDealer(endpoint)
    good = encode(record(1))[:-1]
    bad = [  # the session, the message, its rule, what is wrong with it
        (session := uuid.uuid4(), message_frames(session, 2**63, [good]), "ZMQ-11", "a first number of 2^63"),
        (session := uuid.uuid4(), message_frames(session, 2**63 - 1, [good, good]), "ZMQ-11",
         "records numbered 2^63-1 and 2^63"),
        (session := uuid.uuid4(), message_frames(session, 1, [good] * 1_025), "ZMQ-12", "1,025 records"),
        (session := uuid.uuid4(), message_frames(session, 1, [b" " * 60_000 + good] * 18), "ZMQ-12",
         "over 18 x 60,000 bytes of records"),
        (session := uuid.uuid4(), message_frames(session, 1, _frames_of(MAX_MESSAGE_BYTES + 1)), "ZMQ-12",
         "1,048,577 bytes of record frames, one past the bound"),
    ]
    at_the_bounds = [  # the session, its records, what it is
        (uuid.uuid4(), [record(n, "at-records") for n in range(MAX_MESSAGE_RECORDS)], "1,024 records"),
        (uuid.uuid4(), [record(n, "at-bytes", size=MAX_RECORD_BYTES) for n in range(16)],
         "16 frames of 65,536 bytes, LF included: 1,048,576 bytes of record frames"),
    ]
    for _, frames, _, _ in bad:
        dealer.send(frames)
    for session, records, _ in at_the_bounds:
        dealer.send(message_frames(session, 1, [encode(r) for r in records]))  # a trailing LF MAY be there
    valid = uuid.uuid4()
    edge = [encode(record(n, "edge"))[:-1] for n in range(2)]
    dealer.send(message_frames(valid, 2**63 - 2, edge))  # the last two numbers there are: valid
    acks = _acks_until(dealer, {valid, *(session for session, _, _ in at_the_bounds)}, process, timeout_s=60)
    died = process.popen.poll() is not None
    with by_rule.check("COL-2", "the collector lives through them"):
        assert not died, f"the collector died: {process.stderr[-2000:]}"
    try:
        wait_for(lambda: len(collector.rejected_rules()) >= len(bad) or process.popen.poll() is not None,
                 f"{len(bad)} rejections")
    except TimeoutError:
        pass  # each message missing from the quarantine is named below
    quarantined = Counter(collector.rejected_rules())
    acknowledged = {ack.session for ack in acks}
    owed: Counter[str] = Counter()
    for session, _, rule, what in bad:
        owed[rule] += 1
        with by_rule.check(rule, what):
            assert session not in acknowledged, "acknowledged"
            assert quarantined[rule] >= owed[rule], (
                "the collector died of it, never quarantined" if died else f"not quarantined under {rule}: "
                f"rejections {sorted(quarantined.elements())}")
        if died and quarantined[rule] < owed[rule]:
            break  # the one it died of: what came after it met no collector
    if not died:
        stored = collector.accepted()
        for session, records, what in at_the_bounds:
            with by_rule.check("ZMQ-12", f"{what}, at the bound: acknowledged and stored"):
                assert session in acknowledged, "not acknowledged"
                assert delivery_report(records, stored) == (0, 0, 0)
        with by_rule.check("COL-2", "the valid message after them acknowledged and stored"):
            assert valid in acknowledged, f"acknowledgements: {acks}"
            assert delivery_report([record(n, "edge") for n in range(2)], stored) == (0, 0, 0)
    dealer.close()


def _frames_of(total: int) -> list[bytes]:
    """Canonical lines of valid records, LF included, of ``total`` bytes together (just over a number
    of MAX_RECORD_BYTES): records of MAX_RECORD_BYTES, then two that hold the rest."""
    whole = total // MAX_RECORD_BYTES - 1
    rest = total - whole * MAX_RECORD_BYTES
    sizes = [MAX_RECORD_BYTES] * whole + [rest - 1_000, 1_000]
    assert max(sizes) <= MAX_RECORD_BYTES, sizes
    return [encode(record(n, "past-bytes", size=size)) for n, size in enumerate(sizes)]
