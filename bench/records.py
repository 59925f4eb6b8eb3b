"""The records every benchmark sends: the seed's login events, ~250 bytes as canonical lines.

One generator for all of them, so that the COPY limit, the transports, logduct and the seeds'
patterns all move the same bytes. Record ``i`` is the same in every run and every process.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone

from logduct import copy_format
from logduct.record import Record, encode

START = datetime(2026, 1, 1, tzinfo=timezone.utc)
#: The log_event of each emitter's last record: its row committed means all of that emitter's are
#: (a FIFO writer's lines and an emitter's numbered ZeroMQ records are stored in order).
LAST_EVENT = "bench_last"


def record(i: int, *, when: datetime | None = None, last: bool = False) -> Record:
    """A login a microsecond; trace ids scattered as random UUIDs are; 1 in 10 a login_error;
    1 in 100 with a traceback."""
    data: dict[str, object] = {"user": "Shawn Corey Carter", "age": 48, "email": "someemail@email.com"}
    if i % 100 == 0:
        data["traceback"] = "Traceback (most recent call last): ..."
    event = LAST_EVENT if last else "login_error" if i % 10 == 0 else "login"
    return Record(time=when or START + timedelta(microseconds=i), application_name="WebApp",
                  environment_name="production", log_event=event, trace_id=str(uuid.UUID(int=_scatter(i))),
                  file_path="/usr/src/app/login.py", host_ip=f"172.18.0.{i % 16}", data=data)  # type: ignore[arg-type]


def records(count: int, first: int = 0) -> list[Record]:
    """Records ``first`` to ``first + count - 1``, the last one marked as an emitter's last."""
    return [record(i, last=i == first + count - 1) for i in range(first, first + count)]


def lines(count: int, first: int = 0) -> list[bytes]:
    return [encode(r) for r in records(count, first)]


def copy_rows(count: int) -> list[copy_format.LogsRow]:
    return [copy_format.logs_row(r) for r in records(count)]


def _scatter(i: int) -> int:
    """A 128-bit number that looks random and is the same in every run (a multiplicative hash)."""
    return (i * 0x9E3779B97F4A7C15_F39CC0605CEDC835) % 2**128
