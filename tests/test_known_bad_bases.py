"""The conforming programs the known-bad ones are built on pass the suite: a known-bad program then fails
by its one fault, the method it overrides, and not by its base (conformance/known-bad/)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from test_conformance import KNOWN_BAD, run_suite

from logduct_conformance.plugin import REFERENCE_COMMAND

#: The rules an emitter alone is checked on, with every feature conforming_emitter.py offers.
EMITTER_RULES = {"ENC-4", "ENC-5", "EMIT-1", "EMIT-2", "EMIT-4", "FIFO-2", "FIFO-3", "FIFO-4", "FIFO-5", "ZMQ-2",
                 "ZMQ-3", "ZMQ-5", "ZMQ-7", "ZMQ-13", "ZMQ-14", "ZMQ-15", "CLI-2"}
CONFORMING_EMITTER = f"{sys.executable} {KNOWN_BAD / 'conforming_emitter.py'}"


@pytest.mark.known_bad
def test_the_conforming_emitter_passes_every_emitter_check(tmp_path: Path) -> None:
    """conforming_emitter.py, the suite playing the collector: no rule fails, every emitter rule passes."""
    status, verdicts, output = run_suite(tmp_path, "--emitter", CONFORMING_EMITTER,
                                         "--features", "fifo,zmq,zmq-acks,zmq-identity,portable")
    assert status == 0, output[-3000:]
    assert [rule for rule, verdict in verdicts.items() if verdict in ("fail", "error")] == []
    assert {rule for rule, verdict in verdicts.items() if verdict == "pass"} == EMITTER_RULES


@pytest.mark.known_bad
def test_the_conforming_emitter_loses_nothing_to_a_collector_killed_twice(tmp_path: Path) -> None:
    """conforming_emitter.py beside the reference's collector, SIGKILLed twice under load: the emitter's
    lost-connection path (ZMQ-15) sends again what the dead collector held; nothing is lost or doubled."""
    status, verdicts, output = run_suite(tmp_path, "--emitter", CONFORMING_EMITTER, "--collector", REFERENCE_COMMAND,
                                         "--features", "zmq,zmq-acks,postgres", "-k", "killed_twice")
    assert status == 0, output[-3000:]
    assert verdicts["ZMQ-5"] == verdicts["CLI-2"] == "pass", output[-3000:]
