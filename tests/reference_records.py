"""The suite's records as the reference's. The conformance suite shares no code with the reference it
judges, so its records are ``logduct_conformance.oracle.Record`` values; a test that hands records to
the reference's own code (a sink, an emitter object, ``encode``) turns them into
``logduct.record.Record`` here, which checks and normalises them as the reference does."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from logduct.record import Record
from logduct_conformance import oracle, strategies


def as_reference(record: oracle.Record) -> Record:
    return Record(time=record.time, application_name=record.application_name,
                  environment_name=record.environment_name, log_event=record.log_event, trace_id=record.trace_id,
                  file_path=record.file_path, host_ip=record.host_ip, data=record.data)


def as_oracle(record: Record) -> oracle.Record:
    return oracle.Record(time=record.time, application_name=record.application_name,
                         environment_name=record.environment_name, log_event=record.log_event,
                         trace_id=record.trace_id, file_path=record.file_path, host_ip=record.host_ip,
                         data=record.data)


def record(n: int, app: str = "app", *, size: int | None = None, **fields: Any) -> Record:
    """``strategies.record``, as the reference's Record."""
    return as_reference(strategies.record(n, app, size=size, **fields))


def records() -> st.SearchStrategy[Record]:
    """``strategies.records()``, as the reference's Records."""
    return strategies.records().map(as_reference)
