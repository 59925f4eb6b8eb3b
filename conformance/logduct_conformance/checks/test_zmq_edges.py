"""ZeroMQ at the edges: where a collector listens when given no endpoint, a frame larger than a record may
be, and an emitter's session across restarts (SPEC.md section 5)."""

from __future__ import annotations

import ipaddress
import os
import sys
import uuid
from pathlib import Path

import pytest
import zmq

from logduct_conformance.oracle import encode
from logduct_conformance.peers import RawDealer, RawRouter
from logduct_conformance.plugin import Implementation, RuleVerdicts
from logduct_conformance.processes import Process, wait_for
from logduct_conformance.strategies import record

from .conftest import CollectorUnderTest
from .test_collector_edges import process_tree, stored_or_ended, stored_trace_ids

#: ZMQ-1: the default endpoint is tcp://127.0.0.1:5570.
DEFAULT_PORT = 5570
#: ENC-3: the longest line, LF included; ZMQ-8 bounds a frame by it.
MAX_RECORD_BYTES = 65_536
_LISTEN = "0A"  # a TCP socket's state in /proc/net/tcp: listening

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


def frames(session: uuid.UUID, first_seq: int, *records: bytes) -> list[bytes]:
    """ZMQ-3's frames, spelt out here: the tag, the session, the first sequence number, the records."""
    return [b"LD1", session.bytes, first_seq.to_bytes(8, "big"), *records]


def tcp_listeners(port: int) -> dict[int, IPAddress]:
    """The sockets listening on TCP ``port``, by inode, with the address each is bound to."""
    found: dict[int, IPAddress] = {}
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            rows = Path(table).read_text().splitlines()[1:]
        except FileNotFoundError:
            continue  # a kernel without IPv6
        for row in rows:
            fields = row.split()
            address, port_hex = fields[1].split(":")
            if fields[3] != _LISTEN or int(port_hex, 16) != port:
                continue
            raw = bytes.fromhex(address)  # 32-bit words, each in the host's byte order
            if sys.byteorder == "little":
                raw = b"".join(raw[i:i + 4][::-1] for i in range(0, len(raw), 4))
            found[int(fields[9])] = ipaddress.ip_address(raw)
    return found


def socket_inodes(pid: int) -> set[int]:
    """The inodes of the sockets ``pid`` and its descendants hold open."""
    inodes = set()
    for member in process_tree(pid):
        try:
            fds = os.listdir(f"/proc/{member}/fd")
        except OSError:
            continue  # gone meanwhile
        for fd in fds:
            try:
                target = os.readlink(f"/proc/{member}/fd/{fd}")
            except OSError:
                continue
            if target.startswith("socket:["):
                inodes.add(int(target[len("socket:["):-1]))
    return inodes


def listening_on_default_port(process: Process) -> list[IPAddress]:
    """The addresses the collector's processes listen on at ZMQ-1's default port."""
    held = socket_inodes(process.popen.pid)
    return [address for inode, address in tcp_listeners(DEFAULT_PORT).items() if inode in held]


def is_loopback(address: IPAddress) -> bool:
    mapped = address.ipv4_mapped if isinstance(address, ipaddress.IPv6Address) else None
    return (mapped or address).is_loopback


@pytest.fixture
def default_port_free() -> None:
    """ZMQ-1's default port, free: a check of where a collector listens by default cannot share it."""
    held = tcp_listeners(DEFAULT_PORT)
    if held:
        raise RuntimeError(f"TCP port {DEFAULT_PORT}, ZMQ-1's default, is already listened on (at "
                           f"{', '.join(sorted(map(str, held.values())))}): the check of the default endpoint "
                           "needs it free; stop whatever holds it and run the check again")


@pytest.mark.needs("collector", "zmq", "sink")
@pytest.mark.rules("ZMQ-1")
def test_a_collector_given_no_endpoint_listens_on_loopback_only(
        implementation: Implementation, tmp_path: Path, request: pytest.FixtureRequest,
        default_port_free: None) -> None:
    """``collect --zmq`` with no endpoint: the collector listens at tcp://127.0.0.1:5570, on loopback
    addresses only (as /proc/net/tcp and tcp6 show its sockets), and receives a record sent there."""
    dsn = request.getfixturevalue("pg_dsn") if "postgres" in implementation.features else None
    under_test = CollectorUnderTest(implementation, tmp_path, dsn)
    sink = ("--dsn", dsn) if dsn else ("--stdout",)
    process = Process(implementation.collect(*sink, "--zmq"), tmp_path, "collector")  # --zmq last: no ENDPOINT
    under_test.processes.append(process)
    try:
        wait_for(lambda: process.popen.poll() is not None or listening_on_default_port(process),
                 f"the collector to listen on port {DEFAULT_PORT}, or to exit")
        if process.popen.poll() is not None:
            pytest.skip(f"not applicable: the collector takes no --zmq without an ENDPOINT (CLI-1 does not ask it "
                        f"to; exit status {process.popen.returncode}): {process.stderr[-300:]}")
        assert all(map(is_loopback, listening_on_default_port(process))), (
            f"told no endpoint, the collector listens on {listening_on_default_port(process)} port {DEFAULT_PORT}")
        dealer = RawDealer(f"tcp://127.0.0.1:{DEFAULT_PORT}")
        dealer.send(frames(uuid.uuid4(), 1, encode(record(0))[:-1]))
        wait_for(stored_or_ended(under_test, record(0).trace_id, process), "the record sent to the default endpoint")
        assert record(0).trace_id in stored_trace_ids(under_test), f"the collector exited: {process.stderr[-1000:]}"
        addresses = listening_on_default_port(process)
        assert all(map(is_loopback, addresses)), f"the collector listens on {addresses} port {DEFAULT_PORT}"
    finally:
        under_test.stop_all()


def _start(collector: CollectorUnderTest) -> tuple[Process, str]:
    endpoint = f"ipc://{collector.workdir}/collector.ipc"
    process = collector.start("--zmq", endpoint)
    wait_for(lambda: Path(endpoint.removeprefix("ipc://")).exists() or process.popen.poll() is not None,
             "the collector to bind")
    assert process.popen.poll() is None, process.stderr[-1000:]
    return process, endpoint


@pytest.mark.needs("collector", "zmq", "sink")
@pytest.mark.rules("ZMQ-8", "COL-2")
def test_a_frame_over_max_record_bytes_is_never_stored_and_other_emitters_are_served(
        collector: CollectorUnderTest, by_rule: RuleVerdicts) -> None:
    """An emitter sends a record whose frame is 65,537 bytes: it is never stored (ZeroMQ cuts the sender
    off, or the collector quarantines it). Another emitter then sends the longest legal record, a
    65,536-byte line sent with its LF, and a small one: both are stored."""
    process, endpoint = _start(collector)
    oversize = record(0, "oversize", size=MAX_RECORD_BYTES + 2)  # 65,538 with its LF: a frame of 65,537
    largest, small = record(1, "largest", size=MAX_RECORD_BYTES), record(2, "small")
    sender = RawDealer(endpoint)
    cut_off = sender.socket.get_monitor_socket(zmq.EVENT_DISCONNECTED)
    sender.send(frames(uuid.uuid4(), 1, encode(oversize)[:-1]))
    # Until a sign that the collector dealt with it: the sender cut off, a rejection, the record stored.
    try:
        wait_for(lambda: cut_off.poll(0) or process.popen.poll() is not None or collector.rejected_rules()
                 or oversize.trace_id in stored_trace_ids(collector), "the oversize frame dealt with", timeout_s=10)
    except TimeoutError:
        pass  # none seen: what the check can still see is that it is not stored
    other = RawDealer(endpoint)
    other.send(frames(uuid.uuid4(), 1, encode(largest), encode(small)[:-1]))
    wait_for(stored_or_ended(collector, small.trace_id, process), "the other emitter's records stored")
    stored = stored_trace_ids(collector)
    with by_rule.check("COL-2", "another emitter after the oversize frame"):
        assert process.popen.poll() is None, f"the collector exited: {process.stderr[-1000:]}"
        assert small.trace_id in stored, "the other emitter's record was not stored"
    with by_rule.check("ZMQ-8", "the frame of 65,537 bytes"):
        assert oversize.trace_id not in stored, "a frame over MAX_RECORD_BYTES was accepted and stored"
    with by_rule.check("ZMQ-8", "a frame of 65,536 bytes, a legal line with its LF"):
        assert largest.trace_id in stored, "the longest legal record was not stored: the frame limit is too low"


@pytest.mark.needs("emitter", "zmq", "zmq-acks")
@pytest.mark.rules("ZMQ-3")
def test_an_emitter_chooses_a_new_session_at_each_start_and_numbers_from_1(
        implementation: Implementation, tmp_path: Path) -> None:
    """``emit --zmq`` run twice into the suite's ROUTER, every message acknowledged: each run sends under
    one session ID of 16 bytes, its own, and numbers its records 1, 2, 3."""
    router = RawRouter(f"ipc://{tmp_path}/router.ipc")
    sessions = []
    for run in range(2):
        sent = [record(n, f"run{run}") for n in range(3)]
        emitter = Process(implementation.emit("--zmq", f"ipc://{tmp_path}/router.ipc"), tmp_path, f"emitter-{run}",
                          stdin=b"".join(map(encode, sent)))
        numbered: dict[bytes, set[int]] = {}
        while sum(map(len, numbered.values())) < len(sent):
            identity, message = router.receive(timeout_s=15)
            assert message[0] == b"LD1" and len(message[1]) == 16 and len(message[2]) == 8, message[:3]
            first = int.from_bytes(message[2], "big")
            numbered.setdefault(message[1], set()).update(range(first, first + len(message) - 3))
            router.acknowledge(identity, message)
        assert emitter.wait(30) == 0, emitter.stderr[-1000:]
        assert len(numbered) == 1, f"run {run} used {len(numbered)} sessions"
        [(session, numbers)] = numbered.items()
        assert numbers == {1, 2, 3}, f"run {run} numbered its records {sorted(numbers)}, not from 1"
        sessions.append(session)
    assert sessions[0] != sessions[1], f"both runs used session {sessions[0].hex()}: it is not chosen at each start"
