"""The ZeroMQ path end to end: emitter and collector processes, real sockets, a real PostgreSQL."""

from __future__ import annotations

import itertools
import os
import socket
import time
import uuid
from pathlib import Path

import pytest
import zmq
import zmq.auth
from reference_records import as_reference
from rig import Rig

from logduct.delivery import MAX_MESSAGE_RECORDS, encode_message, parse_message
from logduct.errors import ConfigurationError, ProtocolError
from logduct.record import MAX_RECORD_BYTES
from logduct.zmq_emitter import COALESCE_S, ZmqEmitter
from logduct.zmq_transport import check_bind_endpoint
from logduct_conformance.oracle import encode
from logduct_conformance.peers import RawDealer
from logduct_conformance.postgres import read_only
from logduct_conformance.processes import (
    REFERENCE,
    Process,
    count_rows,
    delivery_report,
    rejected_rows,
    stored_records,
    wait_for,
)
from logduct_conformance.strategies import record


def free_tcp_endpoint() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return f"tcp://127.0.0.1:{probe.getsockname()[1]}"


def test_emitter_killed_and_restarted_reconnects_while_others_are_served(rig: Rig) -> None:
    """ZMQ-2: an emitter restarted under its identity is heard at once; the other is served throughout."""
    rig.collect_zmq()
    steady = [record(n, "app-myApp-456") for n in range(20_000)]
    other = rig.emit_zmq(steady, "steady", "--identity", "app-myApp-456", lines_per_s=5_000)
    first = rig.emit_zmq([record(n, "app-myApp-123") for n in range(100_000)], "first",
                         "--identity", "app-myApp-123", lines_per_s=5_000)
    wait_for(lambda: any(r.application_name == "app-myApp-123" for r in stored_records(rig.dsn)),
             "the first emitter's records")
    first.kill()
    again = [record(n, "app-myApp-123-again") for n in range(2_000)]
    restarted = rig.emit_zmq(again, "restarted", "--identity", "app-myApp-123")
    assert restarted.wait(60) == 0, restarted.stderr
    assert other.wait(60) == 0, other.stderr
    assert rig.collector.stop() == 0
    stored = stored_records(rig.dsn)
    assert delivery_report(steady, stored) == (0, 0, 0)
    assert delivery_report(again, stored) == (0, 0, 0)


def test_one_emitter_spread_over_two_collectors_stores_every_record_once(rig: Rig) -> None:
    """ZMQ-6, PG-4: records spread over two collectors sharing a database are all stored, once."""
    second = f"ipc://{rig.tmp}/second.ipc"
    rig.collect_zmq()
    rig.collect_zmq(endpoint=second)
    records = [record(n, "app-myApp-123") for n in range(20_000)]
    emitter = rig.emit_zmq(records, "emitter", endpoints=[rig.endpoint, second])
    assert emitter.wait(120) == 0, emitter.stderr
    stopped = [collector.stop() for collector in rig.collectors]
    assert stopped == [0, 0]
    assert delivery_report(records, stored_records(rig.dsn)) == (0, 0, 0)
    assert all("stored 0," not in c.stderr for c in rig.collectors), "one collector got nothing"


def test_oversize_frame_disconnects_its_sender_only(rig: Rig) -> None:
    """ZMQ-8: a frame over MAX_RECORD_BYTES is refused by ZeroMQ itself; other emitters go on."""
    collector = rig.collect_zmq()
    rogue = RawDealer(rig.endpoint)
    rogue.send(encode_message(uuid.uuid4(), 1, [b"x" * (MAX_RECORD_BYTES + 1)]))
    records = [record(n, "app-myApp-456") for n in range(100)]
    assert rig.emit_zmq(records, "emitter").wait(60) == 0
    assert collector.stop() == 0
    assert count_rows(rig.dsn) == 100 and count_rows(rig.dsn, "logs_rejected") == 0
    rogue.close()


def test_the_exit_summary_counts_the_copies_of_a_resent_message_as_duplicates(rig: Rig) -> None:
    """COL-5, ZMQ-6: a message of 3 records sent three times is summed up on exit as "stored 3,
    rejected 0, duplicates 6". The suite's check of the same resending (one row per record, three
    acknowledgements) cannot read what an implementation reports."""
    collector = rig.collect_zmq()
    dealer = RawDealer(rig.endpoint)
    message = encode_message(uuid.uuid4(), 1, [encode(record(n))[:-1] for n in range(3)])
    for _ in range(3):
        dealer.send(message)
    assert len(dealer.acks(3)) == 3  # all three copies handled
    dealer.close()
    assert collector.stop() == 0
    assert "stored 3, rejected 0, duplicates 6" in collector.stderr


def test_emitter_refuses_an_oversize_record_itself(rig: Rig) -> None:
    """ZMQ-8, EMIT-1: the emitter refuses a record over MAX_RECORD_BYTES instead of being cut off."""
    emitter = ZmqEmitter(rig.endpoint)
    with pytest.raises(ProtocolError) as caught:
        emitter.send(as_reference(record(1, "big", size=MAX_RECORD_BYTES + 1)))
    assert caught.value.rule == "ZMQ-8"
    assert emitter.close(timeout_s=0) == 0


def test_curve_collector_accepts_known_keys_and_refuses_unknown_ones(rig: Rig) -> None:
    """ZMQ-10: with CURVE, an emitter whose key is authorised delivers; an unknown one gets nowhere."""
    keys, authorized = rig.tmp / "keys", rig.tmp / "authorized"
    keys.mkdir()
    authorized.mkdir()
    server_public, server_secret = zmq.auth.create_certificates(str(keys), "collector")
    known_public, known_secret = zmq.auth.create_certificates(str(keys), "known")
    _, stranger_secret = zmq.auth.create_certificates(str(keys), "stranger")
    Path(known_public).rename(authorized / "known.key")
    endpoint = free_tcp_endpoint()
    collector = rig.collect_zmq("--curve-secret-key", server_secret, "--curve-authorized-keys", str(authorized),
                                endpoint=endpoint)
    known = rig.emit_zmq([record(n, "known") for n in range(50)], "known", "--curve-server-key", server_public,
                         "--curve-secret-key", known_secret, endpoints=[endpoint])
    stranger = rig.emit_zmq([record(n, "stranger") for n in range(50)], "stranger",
                            "--curve-server-key", server_public, "--curve-secret-key", stranger_secret,
                            "--timeout", "3", endpoints=[endpoint])
    assert known.wait(60) == 0, known.stderr
    assert stranger.wait(60) == 3 and "50 not acknowledged" in stranger.stderr
    assert collector.stop() == 0
    assert {r.application_name for r in stored_records(rig.dsn)} == {"known"}


def test_collector_refuses_to_bind_beyond_loopback_unless_told(rig: Rig) -> None:
    """ZMQ-1: tcp://0.0.0.0 is refused without --allow-remote, with the rule named."""
    refused = rig.start("refused", "collect", "--zmq", "tcp://0.0.0.0:5570", "--dsn", rig.dsn)
    assert refused.wait() == 2 and "ZMQ-1" in refused.stderr


def test_one_collector_serves_a_fifo_and_zeromq_together(rig: Rig) -> None:
    """CLI-1: --fifo and --zmq together; records from both land in one table."""
    rig.collect_zmq("--fifo", str(rig.fifo))
    over_zmq = [record(n, "zmq") for n in range(500)]
    over_fifo = [record(n, "fifo") for n in range(500)]
    a = rig.emit_zmq(over_zmq, "zmq-emitter")
    b = rig.emit_fifo(over_fifo, "fifo-emitter")
    assert (a.wait(60), b.wait(60)) == (0, 0)
    rig.wait_rows(1000)
    assert rig.collector.stop() == 0
    assert delivery_report(over_zmq + over_fifo, stored_records(rig.dsn)) == (0, 0, 0)


def test_demo_tells_the_seed_story_and_finds_nothing_lost(tmp_path: Path) -> None:
    """`logduct demo`: two apps, the collector SIGKILLed and restarted, every record stored once, exit 0."""
    demo = Process([*REFERENCE, "demo", "--seconds", "1.5", "--rate", "200"], tmp_path, "demo")
    assert demo.wait(120) == 0, demo.stderr
    out = demo.stdout.decode()
    assert "Crashing the collector: kill -9" in out
    for app in ("app-myApp-123", "app-myApp-456"):
        assert f"{app}: sent " in out and ": 0 lost, 0 stored twice (emitter exit status 0)" in out
    assert "Nothing lost, nothing stored twice, through a SIGKILL of the collector." in out
    assert out.count("\n-- ") == 5  # the seed's five queries


def test_zmq_emitter_bounds_queue_and_window_and_counts_drops(rig: Rig, capsys: pytest.CaptureFixture[str]) -> None:
    """ZMQ-7, EMIT-3: with no collector, at most queue_limit records wait; the rest are dropped and counted."""
    emitter = ZmqEmitter(rig.endpoint, queue_limit=10)
    results = [emitter.send(as_reference(record(n))) for n in range(15)]
    assert results == [True] * 10 + [False] * 5
    assert emitter.stats().dropped == 5 and emitter.stats().queued == 10
    assert emitter.close(timeout_s=0.2) == 10
    assert "5 records dropped (queue full) and 10 not acknowledged" in capsys.readouterr().err


def test_zmq_emitter_sends_a_steady_trickle_as_few_messages_and_each_record_once() -> None:
    """A message that is not full leaves at most once per COALESCE_S, so records logged a millisecond
    apart travel together, not a message each; and none is held back for good. The bound is the
    emitter's own clock: a slow machine can only make fewer messages."""
    with zmq.Context() as context, context.socket(zmq.ROUTER) as router:
        router.setsockopt(zmq.RCVTIMEO, 60_000)
        emitter = ZmqEmitter(f"tcp://127.0.0.1:{router.bind_to_random_port('tcp://127.0.0.1')}")
        began = time.monotonic()
        for n in range(200):  # fewer than the first window holds: nothing waits for an acknowledgement
            emitter.send(as_reference(record(n)))
            time.sleep(0.001)
        messages = []
        while sum(len(m.records) for m in messages) < 200:
            peer, *frames = router.recv_multipart()
            messages.append(parse_message(frames))
            router.send_multipart([peer, *messages[-1].ack()])
        elapsed_s = time.monotonic() - began
        assert len(messages) <= elapsed_s / COALESCE_S + 1
        sizes = [len(m.records) for m in messages]
        assert [m.first_seq for m in messages] == list(itertools.accumulate([1, *sizes[:-1]]))  # each record once
        assert emitter.close(timeout_s=60) == 0


def peak_rss_mb(process: Process) -> float:
    for line in Path(f"/proc/{process.popen.pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmHWM")


def test_hostile_messages_neither_kill_the_collector_nor_cost_its_neighbours(rig: Rig) -> None:
    """ZMQ-11, ZMQ-12, COL-2: sequence numbers past 2^63-1, too many records, a 120 MB message: each is
    quarantined whole and unacknowledged; FIFO records alongside and a valid emitter after are stored."""
    collector = rig.collect_zmq("--fifo", str(rig.fifo))
    dealer = RawDealer(rig.endpoint)
    good = encode(record(1, "raw"))[:-1]
    dealer.send(encode_message(uuid.uuid4(), 2**63, [good]))  # once fatal: BIGINT overflow in the quarantine
    dealer.send(encode_message(uuid.uuid4(), 2**63 - 1, [good, good]))
    dealer.send(encode_message(uuid.uuid4(), 1, [good] * (MAX_MESSAGE_RECORDS + 1)))
    dealer.send(encode_message(uuid.uuid4(), 1, [b"x" * 60_000] * 2_000))  # once 972 MB of collector RSS
    over_fifo = [record(n, "fifo") for n in range(200)]
    fifo_emitter = rig.emit_fifo(over_fifo, "fifo-emitter")
    rig.wait_rows(4, "logs_rejected")
    valid = [record(n, "valid") for n in range(300)]
    assert rig.emit_zmq(valid, "valid").wait(60) == 0
    assert fifo_emitter.wait(60) == 0
    rig.wait_rows(500)
    assert collector.popen.poll() is None
    assert dealer.socket.poll(200) == 0, "a refused message was acknowledged"
    # libzmq holds a whole message before handing over a frame (120 MB here); the collector keeps
    # at most ZMQ-12's bound of it, where it used to hold every frame several times over.
    assert peak_rss_mb(collector) < 250
    assert collector.stop() == 0
    assert sorted(rule for _, rule, _, _ in rejected_rows(rig.dsn)) == ["ZMQ-11", "ZMQ-11", "ZMQ-12", "ZMQ-12"]
    assert all(len(raw) <= MAX_RECORD_BYTES for _, _, _, raw in rejected_rows(rig.dsn))
    assert delivery_report(valid + over_fifo, stored_records(rig.dsn)) == (0, 0, 0)
    dealer.close()


def test_records_of_the_largest_size_keep_the_collector_small(rig: Rig) -> None:
    """COL-3's bound in bytes, ZMQ-12: 150 MB of valid 64 KB records, over ZeroMQ at full speed and
    over a FIFO, are all stored while the collector's RSS stays under 150 MB. A batch of a thousand
    such records once took it past 400 MB."""
    collector = rig.collect_zmq("--fifo", str(rig.fifo))
    size = MAX_RECORD_BYTES - 1_000
    over_zmq = [record(n, "zmq", size=size) for n in range(2_048)]
    with RawDealer(rig.endpoint) as dealer:
        session = uuid.uuid4()
        for first in range(0, len(over_zmq), 16):  # 16 records a message: ZMQ-12's 1 MiB
            dealer.send(encode_message(session, first + 1, [encode(r)[:-1] for r in over_zmq[first:first + 16]]))
        over_fifo = [record(n, "fifo", size=size) for n in range(256)]
        fd = os.open(rig.fifo, os.O_WRONLY)  # one writer, so lines longer than PIPE_BUF arrive whole
        try:
            for line in map(encode, over_fifo):
                os.write(fd, line)  # blocking: a short write cannot happen
        finally:
            os.close(fd)
        assert sum(ack.record_count for ack in dealer.acks(len(over_zmq) // 16, timeout_s=120)) == len(over_zmq)
    rig.wait_rows(len(over_zmq) + len(over_fifo))
    assert peak_rss_mb(collector) < 150
    assert collector.stop() == 0
    assert delivery_report(over_zmq + over_fifo, stored_records(rig.dsn)) == (0, 0, 0)


def test_a_read_only_database_is_waited_out_and_nothing_is_lost(rig: Rig, pg_dsn: str) -> None:
    """COL-9: the database turns read-only and drops the collector's connection; the collector says so,
    keeps its batch, retries, and stores everything once the database takes writes again."""
    collector = rig.collect_zmq()
    with read_only(pg_dsn):
        records = [record(n) for n in range(500)]
        emitter = rig.emit_zmq(records, "emitter")
        wait_for(lambda: "ReadOnlySqlTransaction" in collector.stderr, "the collector to meet the read-only database")
        assert count_rows(pg_dsn) == 0 and collector.popen.poll() is None
    assert emitter.wait(120) == 0, emitter.stderr
    assert collector.stop() == 0
    assert "PostgreSQL works again" in collector.stderr
    assert delivery_report(records, stored_records(rig.dsn)) == (0, 0, 0)


def test_collector_binds_ipv6_loopback_and_counts_ipv4_mapped_loopback_as_loopback(rig: Rig) -> None:
    """ZMQ-1: tcp://[::1]:PORT binds (ZMQ_IPV6), and an emitter delivers over it."""
    with socket.socket(socket.AF_INET6) as probe:
        probe.bind(("::1", 0))
        endpoint = f"tcp://[::1]:{probe.getsockname()[1]}"
    collector = rig.collect_zmq(endpoint=endpoint)
    records = [record(n, "v6") for n in range(50)]
    assert rig.emit_zmq(records, "emitter", endpoints=[endpoint]).wait(60) == 0
    assert collector.stop() == 0
    assert delivery_report(records, stored_records(rig.dsn)) == (0, 0, 0)
    check_bind_endpoint("tcp://[::ffff:127.0.0.1]:5570", allow_remote=False)
    with pytest.raises(ConfigurationError):
        check_bind_endpoint("tcp://[::ffff:192.0.2.1]:5570", allow_remote=False)


@pytest.mark.parametrize("transport", ["zmq", "fifo"])
def test_emit_timeout_bounds_the_whole_run_not_only_what_follows_stdin(rig: Rig, transport: str) -> None:
    """CLI-2: 20,000 records, twice the queue, and no collector: --timeout still ends the run, exit 3."""
    records = [record(n) for n in range(20_000)]
    if transport == "zmq":
        emitter = rig.emit_zmq(records, "emitter", "--timeout", "2")
    else:
        os.mkfifo(rig.fifo, 0o600)
        emitter = rig.emit_fifo(records, "emitter", "--timeout", "2")
    assert emitter.wait(60) == 3, emitter.stderr
    assert "ran out" in emitter.stderr
