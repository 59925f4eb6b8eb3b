"""The stdlib logging bridge: application log calls become valid logduct records on a real FIFO."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from logduct.fifo import PIPE_BUF, PORTABLE_PIPE_BUF
from logduct.fifo_emitter import FifoEmitter
from logduct.logging_handler import LogductHandler, trace_id
from logduct.record import Record, decode, encode
from logduct_conformance.peers import RawFifoReader


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
