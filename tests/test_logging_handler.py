"""The stdlib logging bridge: application log calls become valid logduct records on a real FIFO."""

from __future__ import annotations

import ipaddress
import json
import logging
import multiprocessing
import os
import queue
import re
import shutil
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime, timezone
from logging.handlers import QueueHandler, QueueListener
from pathlib import Path
from typing import Any

import psycopg
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from psycopg.types.json import Jsonb

from logduct import sqlfiles
from logduct.errors import ProtocolError
from logduct.fifo import PIPE_BUF, PORTABLE_PIPE_BUF
from logduct.fifo_emitter import FifoEmitter
from logduct.logging_handler import LogductHandler, LogductQueueHandler, outbound_address, trace_id
from logduct.record import Record, decode, encode
from logduct.zmq_emitter import ZmqEmitter
from logduct_conformance.oracle import ack_of, matches_canonical, read_message
from logduct_conformance.peers import RawFifoReader, RawRouter


@pytest.fixture
def wire(tmp_path: Path) -> Iterator[tuple[logging.Logger, RawFifoReader, LogductHandler]]:
    fifo = tmp_path / "logs.fifo"
    reader = RawFifoReader(fifo)
    handler = LogductHandler(FifoEmitter(fifo), application_name="WebApp", environment_name="production",
                             host_ip="172.18.0.3")
    logger = logging.getLogger(f"test.{tmp_path.name}")
    logger.propagate = False
    logger.setLevel(logging.DEBUG)
    logger.addHandler(handler)
    yield logger, reader, handler
    logger.removeHandler(handler)
    handler.close()
    reader.close()


def received(reader: RawFifoReader, n: int = 1) -> list[Record]:
    return [decode(line) for line in reader.wait_lines(n, timeout_s=10)]


def test_log_call_becomes_a_record_with_extra_fields_in_data(wire: tuple[logging.Logger, RawFifoReader,
                                                                           LogductHandler]) -> None:
    """The message template is the event; extra= fields and the level go to data."""
    logger, reader, _ = wire
    logger.info("login", extra={"user": "Shawn Corey Carter", "age": 48, "trace_id": "0ad94512"})
    [record] = received(reader)
    assert (record.application_name, record.environment_name, record.log_event, record.trace_id,
            record.host_ip) == ("WebApp", "production", "login", "0ad94512", "172.18.0.3")
    assert record.file_path == __file__
    assert record.data is not None
    assert {k: record.data[k] for k in ("level", "logger", "message", "user", "age")} == {
        "level": "INFO", "logger": logger.name, "message": "login", "user": "Shawn Corey Carter", "age": 48}


def test_exception_puts_a_traceback_in_data_for_the_seed_query(wire: tuple[logging.Logger, RawFifoReader,
                                                                             LogductHandler]) -> None:
    """logger.exception fills data.traceback, which the seed's with_traceback query selects."""
    logger, reader, _ = wire
    try:
        {}["missing"]
    except KeyError:
        logger.exception("login_error")
    [record] = received(reader)
    assert record.log_event == "login_error"
    assert record.data is not None and "KeyError: 'missing'" in str(record.data["traceback"])


def test_trace_id_comes_from_the_context_variable(wire: tuple[logging.Logger, RawFifoReader, LogductHandler]) -> None:
    """Without extra trace_id, the context variable's value is used, and '-' without either."""
    logger, reader, _ = wire
    token = trace_id.set("bfb95991-ae1b-4f7b-bc11-024dc53b964f")
    logger.info("access")
    trace_id.reset(token)
    logger.info("access")
    assert [r.trace_id for r in received(reader, 2)] == ["bfb95991-ae1b-4f7b-bc11-024dc53b964f", "-"]


def test_values_json_cannot_carry_become_strings_never_errors(
        wire: tuple[logging.Logger, RawFifoReader, LogductHandler]) -> None:
    """REC-10, REC-12, REC-13: objects, NaN, huge ints, NUL and surrogates are stored as strings."""
    logger, reader, _ = wire
    logger.warning("odd\x00 values %s", "arg", extra={"when": Path("/x"), "nan": float("nan"), "big": 10**30,
                                                      "bad": "a\ud800b", 7: "int key"})
    [record] = received(reader)
    assert record.data is not None
    assert (record.data["when"], record.data["nan"], record.data["big"], record.data["bad"]) == (
        "/x", "nan", str(10**30), "a\\ud800b")
    assert record.log_event == "odd\\x00 values %s" and record.data["message"] == "odd\\x00 values arg"


def test_record_too_large_for_one_write_is_cut_to_fit_and_marked(tmp_path: Path) -> None:
    """FIFO-2: a 10 KB message on a 512-byte profile is cut, marked logduct_truncated, and still sent."""
    fifo = tmp_path / "logs.fifo"
    reader = RawFifoReader(fifo)
    emitter = FifoEmitter(fifo, pipe_buf=PORTABLE_PIPE_BUF)
    handler = LogductHandler(emitter, application_name="WebApp", environment_name="production")
    log = logging.LogRecord("big", logging.ERROR, __file__, 1, "x" * 10_000, None, None)
    handler.emit(log)
    [record] = received(reader)
    assert record.data is not None and record.data["logduct_truncated"] is True
    assert str(record.data["message"]).startswith("xxxx")
    handler.close()
    reader.close()


@settings(max_examples=60)
@given(message=st.text(max_size=3000), extra=st.dictionaries(st.text(max_size=30), st.text(max_size=2000), max_size=5),
       limit=st.sampled_from([PORTABLE_PIPE_BUF, 1024, PIPE_BUF]))
def test_any_log_call_fits_in_one_atomic_write(message: str, extra: dict[str, str], limit: int) -> None:
    """FIFO-2: whatever the message and extras, the handler's record fits the emitter's limit."""
    handler = LogductHandler(FifoEmitter("/nonexistent/fifo", pipe_buf=limit), application_name="a" * 900,
                             environment_name="production")
    log = logging.LogRecord("x", logging.INFO, __file__, 1, message, None, None)
    log.__dict__.update({f"x_{key}": value for key, value in extra.items()})
    line = handler.to_line(log)
    assert len(line) <= limit
    assert encode(decode(line)) == line  # a valid record, in canonical form


# --- arbitrary values, checked as they go rather than validated again -------------------------------

json_like = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-(2**70), max_value=2**70) | st.floats()
    | st.text(st.characters(exclude_categories=()), max_size=20) | st.builds(Path, st.text(max_size=5)),
    lambda children: st.lists(children, max_size=4) | st.tuples(children, children)
    | st.dictionaries(st.text(st.characters(exclude_categories=()), max_size=8) | st.integers(), children, max_size=4),
    max_leaves=25)


def nested(depth: int) -> object:
    value: object = "bottom"
    for _ in range(depth):
        value = [value]
    return value


@settings(max_examples=150)
@given(values=st.dictionaries(st.text(st.characters(exclude_categories=()), max_size=12), json_like, max_size=5),
       message=st.text(st.characters(exclude_categories=()), max_size=40),
       name=st.text(st.characters(exclude_categories=()), max_size=20),
       created=st.floats(min_value=-62_135_596_800, max_value=253_402_300_799))
def test_any_values_make_a_valid_canonical_line(values: dict[str, object], message: str, name: str,
                                                created: float) -> None:
    """The handler skips Record's validation of what it built, so every value it is handed must come
    out valid on its own: NUL, surrogates, huge integers, NaN, objects, non-string keys (REC-8 to
    REC-13), whatever the time; decode() checks every rule."""
    handler = LogductHandler(FifoEmitter("/nonexistent/fifo"), application_name="WebApp",
                             environment_name="production", host_ip="192.0.2.2")
    log = logging.LogRecord(name, logging.INFO, message, 1, message, None, None)
    log.created = created
    log.__dict__.update({f"x_{key}": value for key, value in values.items()})
    line = handler.to_line(log)
    record = decode(line)
    assert matches_canonical(line, encode(record))  # ENC-5, but item 7's float spellings
    assert record.time == datetime.fromtimestamp(created, timezone.utc)  # to the microsecond, as logging has it


def test_nesting_past_rec11_becomes_a_string_at_the_deepest_level() -> None:
    """REC-11: data is level 1, so an extra field sits at level 2, and level 64 is the deepest."""
    handler = LogductHandler(FifoEmitter("/nonexistent/fifo"), application_name="WebApp",
                             environment_name="production", host_ip="192.0.2.2")
    log = logging.LogRecord("x", logging.INFO, __file__, 1, "deep", None, None)
    log.deep = nested(200)
    record = decode(handler.to_line(log))
    assert record.data is not None
    value, depth = record.data["deep"], 2
    while isinstance(value, list):
        value, depth = value[0], depth + 1
    assert depth == 65 and isinstance(value, str)  # the level-65 list, written as text


# --- behind QueueHandler and QueueListener -----------------------------------------------------------

SEED_TRACE = "bfb95991-ae1b-4f7b-bc11-024dc53b964f"


class Unpicklable:
    """A message object no queue to another process could carry: it holds a lock."""

    def __init__(self) -> None:
        self.lock = threading.Lock()

    def __str__(self) -> str:
        return "not a string"


def log_the_seed_calls(logger: logging.Logger) -> None:
    """Four calls, from the same source lines whichever handler listens: a template with arguments,
    an exception, a stack, an object for a message; under a trace id set as the context variable."""
    token = trace_id.set(SEED_TRACE)
    try:
        logger.info("login for %s", "jay", extra={"user": "jay", "age": 48})
        try:
            {}["missing"]
        except KeyError:
            logger.exception("login_error for %s", "jay", extra={"user": "jay"})
        logger.warning("slow", stack_info=True)
        logger.error(Unpicklable())
    finally:
        trace_id.reset(token)


def direct_and_queued(tmp_path: Path, queue_handler: Any, to_queue: Any) -> tuple[list[Record], list[Record]]:
    """The seed calls through a LogductHandler, then through ``queue_handler`` and a QueueListener to
    another LogductHandler: each on its own real FIFO, as they arrived there."""
    readers = [RawFifoReader(tmp_path / "direct.fifo"), RawFifoReader(tmp_path / "queued.fifo")]
    direct, behind = (LogductHandler(fifo=tmp_path / name, application_name="WebApp", environment_name="production",
                                     host_ip="172.18.0.3") for name in ("direct.fifo", "queued.fifo"))
    listener = QueueListener(to_queue, behind)
    logger = logging.getLogger(f"app.{tmp_path.name}")
    logger.propagate = False
    logger.setLevel(logging.DEBUG)
    try:
        for handler in (direct, queue_handler):
            if handler is queue_handler:
                listener.start()
            logger.addHandler(handler)
            # From the same line each time, in a thread of its own: the stack is short, and the same.
            calls = threading.Thread(target=log_the_seed_calls, args=(logger,))
            calls.start()
            calls.join()
            logger.removeHandler(handler)
        listener.stop()  # every queued record handled
        return received(readers[0], 4), received(readers[1], 4)
    finally:
        for handler in (direct, behind):
            handler.close()
        for reader in readers:
            reader.close()


def at_one_time(record: Record) -> Record:
    return replace(record, time=datetime(2018, 11, 1, tzinfo=timezone.utc))


def test_behind_a_logduct_queue_handler_records_map_as_direct_ones(tmp_path: Path) -> None:
    """LogductQueueHandler keeps what the stock prepare flattens, template and trace id included, through
    a multiprocessing queue (so it pickles): the same records, byte for byte, but for the time."""
    to_queue: multiprocessing.Queue[logging.LogRecord] = multiprocessing.Queue()
    try:
        direct, queued = direct_and_queued(tmp_path, LogductQueueHandler(to_queue), to_queue)
    finally:
        to_queue.close()
        to_queue.join_thread()
    assert [r.log_event for r in queued] == ["login for %s", "login_error for %s", "slow", "not a string"]
    assert not any("logduct_truncated" in (r.data or {}) for r in direct)
    assert {r.trace_id for r in queued} == {SEED_TRACE}
    assert [encode(at_one_time(r)) for r in queued] == [encode(at_one_time(r)) for r in direct]


def test_behind_the_stock_queue_handler_only_the_template_and_trace_id_are_lost(tmp_path: Path) -> None:
    """The stock QueueHandler.prepare joins message, traceback and stack into one msg; the handler splits
    them again, so data.traceback and data.stack stay, and the event is not the traceback. What the stock
    record no longer holds, the template and the logging thread's trace id, is all that differs."""
    to_queue: queue.SimpleQueue[logging.LogRecord] = queue.SimpleQueue()
    direct, queued = direct_and_queued(tmp_path, QueueHandler(to_queue), to_queue)
    assert direct[1].data is not None and "KeyError: 'missing'" in str(direct[1].data["traceback"])
    assert direct[2].data is not None and str(direct[2].data["stack"]).startswith("Stack (most recent call last):")
    expected = [replace(r, log_event=str((r.data or {})["message"]), trace_id="-") for r in direct]
    assert [r.log_event for r in expected] == ["login for jay", "login_error for jay", "slow", "not a string"]
    assert [encode(at_one_time(r)) for r in queued] == [encode(at_one_time(r)) for r in expected]


def test_the_seed_query_with_traceback_finds_records_from_behind_a_queue(tmp_path: Path,
                                                                          pg_conn: psycopg.Connection[Any]) -> None:
    """Stored as a collector stores them, the records from behind the stock QueueHandler answer the
    seed's with_traceback query as direct ones do: the exception's record, and only it."""
    to_queue: queue.SimpleQueue[logging.LogRecord] = queue.SimpleQueue()
    _, queued = direct_and_queued(tmp_path, QueueHandler(to_queue), to_queue)
    pg_conn.execute(sqlfiles.schema())
    with pg_conn.cursor() as cur:
        cur.executemany("INSERT INTO logs (time, application_name, environment_name, log_event, trace_id,"
                        " file_path, host_ip, data) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
                        [(r.time, r.application_name, r.environment_name, r.log_event, r.trace_id, r.file_path,
                          r.host_ip, Jsonb(r.data)) for r in queued])
    rows = pg_conn.execute(sqlfiles.named_statements("queries.sql")["with_traceback"].sql).fetchall()
    assert [(event, "KeyError: 'missing'" in data["traceback"]) for event, data in rows] == [
        ("login_error for jay", True)]


# --- dictConfig: a class and plain arguments ----------------------------------------------------------

def run_configured(config: dict[str, Any]) -> subprocess.Popen[str]:
    """An application that configures logging with ``config`` alone, logs once and exits: its exit runs
    logging.shutdown, which flushes and closes the handler."""
    program = ("import json, logging.config, sys\n"
               "logging.config.dictConfig(json.loads(sys.argv[1]))\n"
               "logging.getLogger('app').warning('login', extra={'user': 'jay'})\n")
    return subprocess.Popen([sys.executable, "-c", program, json.dumps(config)], stderr=subprocess.PIPE, text=True)


def logduct_config(**transport: Any) -> dict[str, Any]:
    return {"version": 1, "disable_existing_loggers": False,
            "handlers": {"logduct": {"class": "logduct.logging_handler.LogductHandler", "level": "INFO",
                                     "application_name": "WebApp", "environment_name": "production",
                                     "host_ip": "172.18.0.3", **transport}},
            "root": {"handlers": ["logduct"], "level": "INFO"}}


def test_dict_config_builds_a_fifo_handler_from_a_path(tmp_path: Path) -> None:
    reader = RawFifoReader(tmp_path / "logs.fifo")
    app = run_configured(logduct_config(fifo=str(tmp_path / "logs.fifo")))
    try:
        [record] = received(reader)
        assert (record.application_name, record.log_event, record.host_ip) == ("WebApp", "login", "172.18.0.3")
        assert record.data is not None and record.data["user"] == "jay"
    finally:
        _, stderr = app.communicate(timeout=60)
        reader.close()
    assert app.returncode == 0, stderr


def test_dict_config_builds_a_zmq_handler_from_endpoints(tmp_path: Path) -> None:
    """A list of endpoints, as JSON or YAML gives it; the record is acknowledged, so the exit's flush
    ends at once and nothing is reported lost."""
    endpoint = f"ipc://{tmp_path}/collector.sock"
    with RawRouter(endpoint) as router:
        app = run_configured(logduct_config(zmq=[endpoint]))
        try:
            identity, frames = router.receive(timeout_s=60)
            message = read_message(frames)
            router.acknowledge(identity, frames)
        finally:
            _, stderr = app.communicate(timeout=60)
    [record] = [decode(line) for line in message.records]
    assert (record.application_name, record.log_event) == ("WebApp", "login")
    assert app.returncode == 0 and "not acknowledged" not in stderr, stderr
    assert ack_of(message)  # the acknowledgement sent was a well-formed one for this message


@pytest.mark.skipif(sys.version_info < (3, 12), reason="dictConfig builds a QueueHandler's listener from Python 3.12")
def test_dict_config_builds_the_queue_handler_and_its_listener(tmp_path: Path) -> None:
    """Python 3.12's dictConfig makes a QueueListener for a QueueHandler subclass given handlers: the
    record arrives through it as a direct one would, template and traceback included."""
    config = logduct_config(fifo=str(tmp_path / "logs.fifo"))
    config["handlers"]["queue"] = {"class": "logduct.logging_handler.LogductQueueHandler", "handlers": ["logduct"]}
    config["root"]["handlers"] = ["queue"]
    program = ("import json, logging, logging.config, sys\n"
               "logging.config.dictConfig(json.loads(sys.argv[1]))\n"
               "logging.getHandlerByName('queue').listener.start()\n"
               "try:\n    {}['missing']\nexcept KeyError:\n"
               "    logging.getLogger('app').exception('login_error for %s', 'jay')\n"
               "logging.getHandlerByName('queue').listener.stop()\n")
    reader = RawFifoReader(tmp_path / "logs.fifo")
    try:
        subprocess.run([sys.executable, "-c", program, json.dumps(config)], check=True, timeout=120)
        [record] = received(reader)
    finally:
        reader.close()
    assert record.log_event == "login_error for %s"
    assert record.data is not None and "KeyError: 'missing'" in str(record.data["traceback"])


def test_one_transport_exactly(tmp_path: Path) -> None:
    with pytest.raises(TypeError, match="one of"):
        LogductHandler(application_name="WebApp", environment_name="production")
    with pytest.raises(TypeError, match="one of"):
        LogductHandler(FifoEmitter(tmp_path / "a"), fifo=tmp_path / "b", application_name="WebApp",
                       environment_name="production")


def test_a_zmq_emitter_is_an_emitter(tmp_path: Path) -> None:
    """The Emitter protocol admits both emitters (mypy --strict checks this file too)."""
    handler = LogductHandler(ZmqEmitter(f"ipc://{tmp_path}/none.sock"), application_name="WebApp",
                             environment_name="production", flush_timeout_s=0)
    handler.close()


# --- host_ip ----------------------------------------------------------------------------------------

def test_host_ip_defaults_to_an_address_of_this_host() -> None:
    """The default is an address this host owns (only those can be bound), and, where `ip` can say it,
    the source address of the route out. Finding it sends nothing: connect() on a UDP socket only
    picks a route, so no packet leaves loopback, or the host."""
    handler = LogductHandler(FifoEmitter("/nonexistent/fifo"), application_name="WebApp", environment_name="x")
    address = ipaddress.ip_address(handler.host_ip)
    with socket.socket(socket.AF_INET6 if address.version == 6 else socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind((handler.host_ip, 0))  # fails (EADDRNOTAVAIL) for an address not on this host
    if shutil.which("ip") and handler.host_ip != "127.0.0.1":
        route = subprocess.run(["ip", "-o", f"-{address.version}", "route", "get", "192.0.2.1" if address.version
                                == 4 else "2001:db8::1"], capture_output=True, text=True, check=True).stdout.split()
        assert route[route.index("src") + 1] == handler.host_ip


def test_host_ip_falls_back_to_loopback_without_a_route() -> None:
    """In a network namespace of its own there is only loopback, and no route to anywhere else."""
    if shutil.which("unshare") is None:
        pytest.skip("no unshare(1) to make a network namespace")
    probe = subprocess.run(["unshare", "--net", sys.executable, "-c",
                            "from logduct.logging_handler import outbound_address; print(outbound_address())"],
                           capture_output=True, text=True)
    if probe.returncode != 0 and "unshare" in probe.stderr:
        pytest.skip(f"no network namespace here: {probe.stderr.strip()}")
    assert (probe.returncode, probe.stdout) == (0, "127.0.0.1\n"), probe.stderr


def test_host_ip_given_is_canonical_and_checked_once() -> None:
    handler = LogductHandler(FifoEmitter("/nonexistent/fifo"), application_name="WebApp", environment_name="x",
                             host_ip="::FFFF:10.0.0.1")
    assert handler.host_ip == "::ffff:10.0.0.1" == decode(handler.to_line(
        logging.LogRecord("x", logging.INFO, __file__, 1, "m", None, None))).host_ip
    with pytest.raises(ProtocolError, match="REC-9"):
        LogductHandler(FifoEmitter("/nonexistent/fifo"), application_name="WebApp", environment_name="x",
                       host_ip="localhost")
    assert outbound_address() != ""


# --- flush ------------------------------------------------------------------------------------------

def test_flush_drains_the_emitters_queue_and_gives_up_at_its_timeout(tmp_path: Path) -> None:
    """With no reader the records wait in the queue (FIFO-4): flush gives up after flush_timeout_s and
    they stay queued. Once a reader is there, flush returns only when they are in the pipe."""
    fifo = tmp_path / "late.fifo"
    handler = LogductHandler(fifo=fifo, application_name="WebApp", environment_name="production",
                             flush_timeout_s=0.05)
    for n in range(3):
        handler.handle(logging.LogRecord("x", logging.INFO, __file__, n, "queued", None, None))
    handler.flush()
    assert handler.emitter.stats().queued == 3
    reader = RawFifoReader(fifo)
    try:
        handler.flush_timeout_s = 60  # a bound, never waited out while the reader reads
        handler.flush()
        assert (handler.emitter.stats().sent, handler.emitter.stats().queued) == (3, 0)
        assert len(reader.drain()) == 3  # already in the pipe: no waiting for them here
    finally:
        handler.close()
        reader.close()


# --- the README's examples ----------------------------------------------------------------------------

ROOT = Path(__file__).resolve().parents[1]


def readme_examples() -> list[str]:
    """The Python blocks of README's section on logging, in order."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text[text.index("## From Python"):]
    section = section[:section.index("\n## ", 1)]
    return re.findall(r"```python\n(.*?)```", section, re.S)


def test_readme_logging_examples_run_as_written(tmp_path: Path) -> None:
    """Each example, its FIFO path aside, sends what it says: the plain one, dictConfig (given a log call
    to make), and the QueueHandler one."""
    plain, configured, queued = readme_examples()
    fifo = tmp_path / "logduct.fifo"
    reader = RawFifoReader(fifo)
    try:
        for example in (plain, configured + "logging.getLogger('app').warning('configured')\n", queued):
            subprocess.run([sys.executable, "-c", example.replace("/tmp/logduct.fifo", str(fifo))], check=True,
                           timeout=120)
        records = received(reader, 4)
    finally:
        reader.close()
    assert [r.log_event for r in records] == ["login", "login_error", "configured", "login"]
    assert records[1].data is not None and "KeyError" in str(records[1].data["traceback"])
    assert records[0].trace_id == "0ad94512-df55-11e8-9805-5b8e82d370a6"


def test_readme_logging_examples_type_check(tmp_path: Path) -> None:
    """mypy --strict accepts them, and the plain one with a ZmqEmitter, as its comment offers."""
    pytest.importorskip("mypy")
    plain, *others = readme_examples()
    with_zmq = plain.replace('FifoEmitter("/tmp/logduct.fifo")', 'ZmqEmitter("tcp://127.0.0.1:5555")').replace(
        "from logduct.fifo_emitter import FifoEmitter", "from logduct.zmq_emitter import ZmqEmitter")
    assert with_zmq != plain
    files = []
    for n, example in enumerate([plain, with_zmq, *others]):
        files.append(tmp_path / f"example_{n}.py")
        files[-1].write_text(example, encoding="utf-8")
    # The checkout's package, which an editable install hides from mypy.
    checked = subprocess.run([sys.executable, "-m", "mypy", "--strict", "--cache-dir", str(tmp_path / "cache"),
                              *map(str, files)], capture_output=True, text=True, timeout=600,
                             env={**os.environ, "MYPYPATH": str(ROOT / "reference")})
    assert checked.returncode == 0, checked.stdout + checked.stderr
