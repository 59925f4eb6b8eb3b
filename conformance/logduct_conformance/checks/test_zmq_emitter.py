"""An emitter on ZeroMQ, received by the suite's raw ROUTER: its frames, and its resending (SPEC.md 5)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from logduct.delivery import TAG, parse_message
from logduct.record import Record, decode, encode
from logduct_conformance.peers import RawRouter
from logduct_conformance.plugin import Implementation
from logduct_conformance.processes import Process

pytestmark = pytest.mark.needs("emitter", "zmq", "zmq-acks")
START = datetime(2026, 1, 1, tzinfo=timezone.utc)


def record(n: int) -> Record:
    return Record(time=START + timedelta(seconds=n), application_name="app", environment_name="conformance",
                  log_event="request", trace_id=f"z-{n}", file_path="/check.py", host_ip="127.0.0.1", data={"n": n})


@pytest.mark.rules("ZMQ-2", "ZMQ-3", "ENC-5", "CLI-2")
def test_messages_are_numbered_canonical_records_and_the_emitter_exits_once_all_are_acknowledged(
        implementation: Implementation, tmp_path: Path) -> None:
    """Frames LD1 | 16-byte session | seq from 1, consecutive | canonical records; exit 0 after the last ack."""
    endpoint = f"ipc://{tmp_path}/router.ipc"
    router = RawRouter(endpoint)
    sent = [record(n) for n in range(200)]
    emitter = Process(implementation.emit("--zmq", endpoint, "--identity", "app-myApp-123"), tmp_path, "emitter",
                      stdin=b"".join(map(encode, sent)))
    received: list[bytes] = []
    sessions = set()
    while len(received) < len(sent):
        identity, frames = router.receive()
        assert identity == b"app-myApp-123"
        assert frames[0] == TAG and len(frames[1]) == 16 and len(frames[2]) == 8, frames[:3]
        message = parse_message(frames)
        sessions.add(message.session)
        assert message.first_seq == len(received) + 1, "sequence numbers start at 1 and run on"
        received += message.records
        router.acknowledge(identity, frames)
    assert emitter.wait(30) == 0, emitter.stderr
    router.close()
    assert len(sessions) == 1
    assert [decode(line) for line in received] == sent
    assert received == [encode(r)[:-1] for r in sent]


@pytest.mark.rules("ZMQ-5")
def test_an_unacknowledged_message_is_sent_again_under_the_same_key_until_acknowledged(
        implementation: Implementation, tmp_path: Path) -> None:
    """No ack: the same session, seq and records come again; acked: the emitter exits 0."""
    endpoint = f"ipc://{tmp_path}/router.ipc"
    router = RawRouter(endpoint)
    emitter = Process(implementation.emit("--zmq", endpoint), tmp_path, "emitter", stdin=encode(record(1)))
    _, first = router.receive()
    identity, again = router.receive(timeout_s=15)
    assert parse_message(again) == parse_message(first)
    router.acknowledge(identity, again)
    assert emitter.wait(30) == 0, emitter.stderr
    router.close()
