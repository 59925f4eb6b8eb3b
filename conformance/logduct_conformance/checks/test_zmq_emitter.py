"""An emitter on ZeroMQ, received by the suite's raw ROUTER: its frames, and its resending (SPEC.md 5)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from logduct_conformance.oracle import TAG, encode, read_line, read_message
from logduct_conformance.peers import RawRouter
from logduct_conformance.plugin import Implementation, RuleVerdicts
from logduct_conformance.processes import Process
from logduct_conformance.strategies import record

pytestmark = pytest.mark.needs("emitter", "zmq", "zmq-acks")


@pytest.mark.rules("ZMQ-3", "ENC-5", "CLI-2")
def test_messages_are_numbered_canonical_records_and_the_emitter_exits_once_all_are_acknowledged(
        implementation: Implementation, tmp_path: Path, by_rule: RuleVerdicts) -> None:
    """Frames LD1 | 16-byte session | seq from 1, consecutive | the records (ZMQ-3), each its canonical
    line (ENC-5); exit 0 after the last ack (CLI-2)."""
    endpoint = f"ipc://{tmp_path}/router.ipc"
    router = RawRouter(endpoint)
    sent = [record(n) for n in range(200)]
    emitter = Process(implementation.emit("--zmq", endpoint), tmp_path, "emitter", stdin=b"".join(map(encode, sent)))
    received: list[bytes] = []
    sessions = set()
    while len(received) < len(sent):
        identity, frames = router.receive()
        assert frames[0] == TAG and len(frames[1]) == 16 and len(frames[2]) == 8, frames[:3]
        message = read_message(frames)
        sessions.add(message.session)
        assert message.first_seq == len(received) + 1, "sequence numbers start at 1 and run on"
        received += message.records
        router.acknowledge(identity, frames)
    with by_rule.check("CLI-2", "exit status 0, every record acknowledged"):
        assert emitter.wait(30) == 0, emitter.stderr
    router.close()
    with by_rule.check("ZMQ-3", "one session, the records in their frames"):
        assert len(sessions) == 1
        assert [read_line(line) for line in received] == sent
    with by_rule.check("ENC-5", "each record frame the canonical line"):
        want = [encode(r)[:-1] for r in sent]
        assert received == want, [(got[:150], line[:150]) for got, line in zip(received, want, strict=False)
                                  if got != line][:1]


@pytest.mark.needs("zmq-identity")
@pytest.mark.rules("ZMQ-2")
def test_an_emitter_given_an_identity_sends_under_it(implementation: Implementation, tmp_path: Path) -> None:
    """ZMQ-2 is a MAY: checked only for an emitter that declares --identity (feature zmq-identity)."""
    endpoint = f"ipc://{tmp_path}/router.ipc"
    router = RawRouter(endpoint)
    emitter = Process(implementation.emit("--zmq", endpoint, "--identity", "app-myApp-123"), tmp_path, "emitter",
                      stdin=encode(record(1)))
    identity, frames = router.receive()
    assert identity == b"app-myApp-123"
    router.acknowledge(identity, frames)
    assert emitter.wait(30) == 0, emitter.stderr
    router.close()


@pytest.mark.rules("ZMQ-5")
def test_an_unacknowledged_message_is_sent_again_under_the_same_key_until_acknowledged(
        implementation: Implementation, tmp_path: Path) -> None:
    """No ack: the same session, seq and records come again; acked: the emitter exits 0."""
    endpoint = f"ipc://{tmp_path}/router.ipc"
    router = RawRouter(endpoint)
    emitter = Process(implementation.emit("--zmq", endpoint), tmp_path, "emitter", stdin=encode(record(1)))
    _, first = router.receive()
    identity, again = router.receive(timeout_s=15)
    assert read_message(again) == read_message(first)
    router.acknowledge(identity, again)
    assert emitter.wait(30) == 0, emitter.stderr
    router.close()


def _key(frames: list[bytes]) -> tuple[bytes, int, int]:
    """(session, first seq, records) of an emitter's message, read straight off its frames (ZMQ-3)."""
    return frames[1], int.from_bytes(frames[2], "big"), len(frames) - 3


@pytest.mark.rules("ZMQ-13", "ZMQ-7")
def test_an_emitter_never_sent_an_acknowledgement_keeps_at_most_its_window_outstanding(
        implementation: Implementation, tmp_path: Path) -> None:
    """20,000 records and no acknowledgement ever: the emitter must stop at its window (at most 16,384
    records, ZMQ-13), so the suite must not see all 20,000 within 20 s. Only an emitter with no window
    sends them all; a slow machine can only make a conforming emitter send fewer. The watch ends early
    once no new record has come for 3 s: a conforming emitter then only sends copies."""
    endpoint = f"ipc://{tmp_path}/router.ipc"
    router = RawRouter(endpoint)
    emitter = Process(implementation.emit("--zmq", endpoint), tmp_path, "emitter",
                      stdin=b"".join(encode(record(n)) for n in range(20_000)))
    seen: set[int] = set()
    deadline = time.monotonic() + 20
    last_new = time.monotonic()
    while len(seen) < 20_000 and time.monotonic() < min(deadline, last_new + 3):
        try:
            _, frames = router.receive(timeout_s=0.5)
        except TimeoutError:
            continue
        _, first, count = _key(frames)
        if not seen.issuperset(range(first, first + count)):
            seen.update(range(first, first + count))
            last_new = time.monotonic()
    emitter.kill()
    router.close()
    assert len(seen) <= 16_384, f"{len(seen):,} records sent and none acknowledged: no window"


@pytest.mark.rules("ZMQ-15", "ZMQ-14")
def test_unacknowledged_messages_are_sent_again_one_at_a_time_ever_further_apart(
        implementation: Implementation, tmp_path: Path, by_rule: RuleVerdicts) -> None:
    """2,000 records, no acknowledgement for 8 s. The timeout is at least 1 s before a round trip is
    measured (ZMQ-14), so no copy comes within 1 s of the start of the watch, which is before the
    emitter even started. Each timeout sends one message again and doubles the timeout (ZMQ-15), so the
    k-th copy comes no sooner than 2^(k-1) s and at most log2(8) + 1 = 4 can come; a fixed timeout that
    sends everything again sends far more. A slow machine only delays copies, never adds them."""
    endpoint = f"ipc://{tmp_path}/router.ipc"
    router = RawRouter(endpoint)
    emitter = Process(implementation.emit("--zmq", endpoint), tmp_path, "emitter",
                      stdin=b"".join(encode(record(n)) for n in range(2_000)))
    first_seen: dict[tuple[bytes, int, int], float] = {}
    copies: list[float] = []
    began = time.monotonic()
    while (left := began + 8 - time.monotonic()) > 0:
        try:
            _, frames = router.receive(timeout_s=left)
        except TimeoutError:
            break
        key = _key(frames)
        if key in first_seen:
            copies.append(time.monotonic() - began)
        else:
            first_seen[key] = time.monotonic() - began
    emitter.kill()
    router.close()
    with by_rule.check("ZMQ-14", "no copy within 1 s, the least timeout before a round trip is measured"):
        assert all(t >= 1 for t in copies), f"a copy at {min(copies):.2f} s"
    with by_rule.check("ZMQ-15", "one message again per timeout, the timeout doubled: at most 4 copies in 8 s"):
        assert len(copies) <= 4, f"{len(copies)} copies in 8 s, at {', '.join(f'{t:.1f}' for t in copies)} s"
