"""The suite's ZeroMQ peers never hang a run: every socket the suite opens is a peer's, closed with
LINGER 0 even when its check fails. A socket closed with messages still queued for a peer that is not
there waits for ever in zmq_ctx_term, and a run that never ends gives no verdict at all."""

from __future__ import annotations

import ast
import subprocess
import sys
import textwrap
from pathlib import Path

import zmq

from logduct_conformance.peers import RawDealer, close_all_peers

ROOT = Path(__file__).resolve().parents[1]
SUITE = ROOT / "conformance" / "logduct_conformance"

# A "collector" that makes its ipc endpoint's path exist, as binding would, and never listens there:
# whatever the suite sends it stays queued in the suite's own socket.
_DEAF_COLLECTOR = textwrap.dedent("""
    import signal, sys, time
    from pathlib import Path

    args = sys.argv[1:]
    Path(args[args.index("--zmq") + 1].removeprefix("ipc://")).write_bytes(b"")
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    time.sleep(3600)
""")


def test_a_failing_zeromq_check_still_ends(tmp_path: Path) -> None:
    """The suite against a collector that never answers: the check sends three messages that can never
    leave, waits for acknowledgements in vain and fails; the run then ends, failed, instead of hanging
    in zmq_ctx_term. The timeout is no measure of speed: a hang is for ever."""
    deaf = tmp_path / "deaf_collector.py"
    deaf.write_text(_DEAF_COLLECTOR)
    try:
        done = subprocess.run(
            [sys.executable, "-m", "pytest", "--pyargs", "logduct_conformance", "-p", "no:cacheprovider",
             "--collector", f"{sys.executable} {deaf}", "--features", "zmq,zmq-acks,stdout", "-k", "three_times"],
            cwd=tmp_path, capture_output=True, text=True, timeout=300, check=False)
    except subprocess.TimeoutExpired as hung:
        raise AssertionError(f"the suite hung after a failing ZeroMQ check:\n{hung.stdout!r}") from None
    assert done.returncode == 1, done.stdout[-3000:] + done.stderr[-3000:]
    assert "1 failed" in done.stdout and "acknowledgements" in done.stdout, done.stdout[-3000:]


def test_a_peer_closes_at_once_with_messages_queued_for_no_one(tmp_path: Path) -> None:
    """In process: a DEALER with messages queued for an endpoint no one listens on closes at once,
    through its context manager and through close_all_peers."""
    with RawDealer(f"ipc://{tmp_path}/nobody.ipc") as dealer:
        dealer.send([b"LD1", b"x" * 16, b"\0" * 8, b"{}"])
        assert dealer.socket.getsockopt(zmq.LINGER) == 0
    assert dealer.context.closed
    left_open = RawDealer(f"ipc://{tmp_path}/nobody.ipc")
    left_open.send([b"queued"])
    close_all_peers()
    assert left_open.context.closed


def test_only_the_peers_module_makes_zeromq_contexts() -> None:
    """No module of the suite but peers.py makes a zmq Context. A socket is made from a context, so every
    socket the suite opens (a monitor socket too) lives in a peer's context, which gives it LINGER 0 and
    is destroyed after each check."""
    makers = []
    for path in sorted(SUITE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            named = isinstance(node, ast.Attribute) and node.attr == "Context" and \
                isinstance(node.value, ast.Name) and node.value.id == "zmq"
            imported = isinstance(node, ast.ImportFrom) and (node.module or "").startswith("zmq") and \
                any(alias.name == "Context" for alias in node.names)
            if named or imported:
                makers.append(str(path.relative_to(SUITE)))
    assert sorted(set(makers)) == ["peers.py"]
