"""The FIFO path end to end: emitter and collector processes, a real FIFO, a real PostgreSQL."""

from __future__ import annotations

import json
import os
import signal
import stat
from collections import Counter
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from logduct.collector import BATCH_LIMIT
from logduct.fifo import PIPE_BUF, READ_SIZE
from logduct.record import Record, encode
from logduct_conformance import load_vectors
from logduct_conformance.postgres import read_only
from logduct_conformance.processes import (
    REFERENCE,
    Process,
    count_rows,
    delivery_report,
    fifo_has_reader,
    rejected_rows,
    stored_records,
    unread_bytes,
    wait_for,
)

START = datetime(2026, 11, 23, 12, 0, tzinfo=timezone.utc)


def record(emitter: int, n: int, size: int | None = None) -> Record:
    """Record ``n`` of ``emitter``, its trace_id unique; padded so its line is ``size`` bytes."""
    base = Record(time=START + timedelta(microseconds=n), application_name=f"app-myApp-{emitter}",
                  environment_name="test", log_event="request", trace_id=f"e{emitter}-{n}",
                  file_path="/app/main.py", host_ip="127.0.0.1", data={"n": n, "pad": ""})
    if size is None:
        return base
    return replace(base, data={"n": n, "pad": "x" * (size - len(encode(base)))})


def ndjson(records: list[Record]) -> bytes:
    return b"".join(encode(r) for r in records)


class Rig:
    """A collector on a FIFO into a test database, and emitters to start against it."""

    def __init__(self, tmp_path: Path, dsn: str) -> None:
        self.tmp = tmp_path
        self.dsn = dsn
        self.fifo = tmp_path / "logs.fifo"
        self.started = 0
        self.collector: Process | None = None

    def collect(self, *extra: str) -> Process:
        self.started += 1
        self.collector = Process([*REFERENCE, "collect", "--fifo", str(self.fifo), "--dsn", self.dsn, *extra],
                                 self.tmp, f"collector-{self.started}")
        wait_for(lambda: fifo_has_reader(self.fifo) or self.collector.popen.poll() is not None,  # type: ignore[union-attr]
                 "the collector to open its FIFO")
        assert self.collector.popen.poll() is None, self.collector.stderr
        return self.collector

    def emit(self, records: list[Record] | bytes, name: str, *extra: str) -> Process:
        data = records if isinstance(records, bytes) else ndjson(records)
        return Process([*REFERENCE, "emit", "--fifo", str(self.fifo), *extra], self.tmp, name, stdin=data)

    def wait_rows(self, n: int, table: str = "logs", timeout_s: float = 60) -> None:
        wait_for(lambda: count_rows(self.dsn, table) >= n, f"{n} rows in {table}", timeout_s=timeout_s)


@pytest.fixture
def rig(tmp_path: Path, pg_dsn: str) -> Rig:
    return Rig(tmp_path, pg_dsn)


def test_four_emitters_of_5000_records_up_to_pipe_buf_arrive_intact_exactly_once(rig: Rig) -> None:
    """FIFO-2, FIFO-7: 20,000 records of 100 to 4,096 bytes from 4 processes: none lost, split or doubled."""
    rig.collect()
    sizes = [100 + (n * 997) % (PIPE_BUF - 100) for n in range(5000)]
    sizes[::50] = [PIPE_BUF] * len(sizes[::50])  # full PIPE_BUF lines, LF included
    batches = [[record(e, n, sizes[n]) for n in range(5000)] for e in range(4)]
    emitters = [rig.emit(batch, f"emitter-{e}") for e, batch in enumerate(batches)]
    assert [p.wait(120) for p in emitters] == [0, 0, 0, 0], [p.stderr for p in emitters]
    rig.wait_rows(20_000)
    assert rig.collector is not None and rig.collector.stop() == 0
    expected = [r for batch in batches for r in batch]
    assert delivery_report(expected, stored_records(rig.dsn)) == (0, 0, 0)
    assert count_rows(rig.dsn) == 20_000 and count_rows(rig.dsn, "logs_rejected") == 0


def test_record_of_pipe_buf_plus_one_is_refused_by_the_emitter_and_nothing_of_it_arrives(rig: Rig) -> None:
    """FIFO-2: the emitter names the oversize line and exits non-zero; its neighbours arrive."""
    rig.collect()
    records = [record(1, 0), record(1, 1, PIPE_BUF + 1), record(1, 2, PIPE_BUF)]
    emitter = rig.emit(records, "emitter")
    assert emitter.wait() == 1
    assert "line 2: FIFO-2: record is 4,097 bytes; PIPE_BUF is 4,096" in emitter.stderr
    rig.wait_rows(2)
    assert rig.collector is not None and rig.collector.stop() == 0
    assert sorted(r.trace_id for r in stored_records(rig.dsn)) == ["e1-0", "e1-2"]
    assert count_rows(rig.dsn, "logs_rejected") == 0


def test_portable_profile_refuses_records_over_512_bytes(rig: Rig) -> None:
    """FIFO-3: with --portable, 512 bytes pass and 513 are refused."""
    rig.collect()
    emitter = rig.emit([record(1, 0, 512), record(1, 1, 513)], "emitter", "--portable")
    assert emitter.wait() == 1 and "line 2: FIFO-2: record is 513 bytes; PIPE_BUF is 512" in emitter.stderr
    rig.wait_rows(1)


def test_hostile_lines_are_quarantined_with_their_rule_and_valid_neighbours_stored(rig: Rig) -> None:
    """COL-1, COL-2: every invalid vector, written raw, lands in logs_rejected; the collector stays up."""
    collector = rig.collect()
    invalid = [v for v in load_vectors() if v.verdict == "reject"]
    good = [record(1, n) for n in range(len(invalid) + 1)]
    stream = encode(good[0]) + b"".join(v.line + encode(good[i + 1]) for i, v in enumerate(invalid))
    stream += b"[" * 3000 + b"\n"  # deep nesting, and a line that is all garbage:
    stream += bytes(range(256)).replace(b"\n", b"") + b"\n"
    fd = os.open(rig.fifo, os.O_WRONLY)
    for start in range(0, len(stream), PIPE_BUF):  # a raw writer: no emitter between it and the collector
        os.write(fd, stream[start:start + PIPE_BUF])
    os.close(fd)
    rig.wait_rows(len(invalid) + 2, "logs_rejected")
    rig.wait_rows(len(good))
    assert collector.popen.poll() is None
    assert collector.stop() == 0
    assert delivery_report(good, stored_records(rig.dsn)) == (0, 0, 0)
    rejected = rejected_rows(rig.dsn)
    assert [rule for _, rule, _, _ in rejected] == [v.rules[0] for v in invalid] + ["REC-11", "ENC-1"]
    for (transport, rule, reason, raw), vector in zip(rejected, invalid, strict=False):
        assert transport == "fifo" and reason.startswith(f"{rule}: "), reason
        expected_raw = vector.line[:-1] if vector.rules[0] != "ENC-3" else vector.line[:65536]
        assert raw == expected_raw, vector.name


def test_emitter_started_before_the_collector_delivers_everything(rig: Rig) -> None:
    """FIFO-4: no FIFO and no reader at first; the emitter waits, then hands every record over."""
    records = [record(1, n) for n in range(3000)]
    emitter = rig.emit(records, "emitter")
    wait_for(lambda: emitter.stderr == "" and emitter.popen.poll() is None and not rig.fifo.exists(),
             "the emitter to be waiting", timeout_s=5)
    rig.collect()
    assert emitter.wait(60) == 0, emitter.stderr
    rig.wait_rows(3000)
    assert delivery_report(records, stored_records(rig.dsn)) == (0, 0, 0)


def test_collector_killed_and_restarted_mid_stream_loses_at_most_one_batch_and_doubles_nothing(
        rig: Rig, capsys: pytest.CaptureFixture[str]) -> None:
    """FIFO-8, COL-5: SIGKILL mid-stream, restart: emitters go on; loss is bounded; no duplicates."""
    rig.collect()
    records = [[record(e, n) for n in range(15_000)] for e in range(2)]
    emitters = [rig.emit(batch, f"emitter-{e}") for e, batch in enumerate(records)]
    rig.wait_rows(3000)
    assert rig.collector is not None
    rig.collector.send_signal(signal.SIGKILL)
    rig.collector.wait()
    rig.collect()
    assert [p.wait(120) for p in emitters] == [0, 0], [p.stderr for p in emitters]
    expected = [r for batch in records for r in batch]
    # FIFO-8's bound: one batch, plus the lines of one read.
    bound = BATCH_LIMIT + READ_SIZE // min(len(encode(r)) for r in expected)
    wait_for(lambda: delivery_report(expected, stored_records(rig.dsn))[0] <= bound,
             "the restarted collector to catch up")
    assert rig.collector.stop() == 0
    missing, duplicated, altered = delivery_report(expected, stored_records(rig.dsn))
    with capsys.disabled():
        print(f"\n  SIGKILL mid-stream: {missing:,} of {len(expected):,} records lost (bound {bound:,}), "
              f"{duplicated} duplicated")
    assert (duplicated, altered) == (0, 0)
    assert missing <= bound


def test_sigterm_commits_everything_read_and_exits_zero(rig: Rig) -> None:
    """COL-4: with a long flush interval, SIGTERM still commits what was read before exiting 0."""
    collector = rig.collect("--flush-interval", "3600")
    records = [record(1, n) for n in range(500)]
    assert rig.emit(records, "emitter").wait() == 0
    wait_for(lambda: unread_bytes(rig.fifo) == 0, "the collector to read the pipe")
    assert count_rows(rig.dsn) == 0  # nothing committed yet: the batch is open
    assert collector.stop(signal.SIGTERM) == 0
    assert delivery_report(records, stored_records(rig.dsn)) == (0, 0, 0)
    assert "stopped: received 500, stored 500, rejected 0" in collector.stderr


def test_sigusr1_prints_the_counters_and_the_collector_goes_on(rig: Rig) -> None:
    """COL-5: SIGUSR1 reports received, stored and rejected by rule."""
    collector = rig.collect()
    assert rig.emit(ndjson([record(1, 0)]) + b"{}\n", "emitter").wait() == 1  # the emitter refuses {}
    fd = os.open(rig.fifo, os.O_WRONLY)
    os.write(fd, b"{}\n")
    os.close(fd)
    rig.wait_rows(1, "logs_rejected")
    collector.send_signal(signal.SIGUSR1)
    wait_for(lambda: "received 2, stored 1, rejected 1 (REC-2 1)" in collector.stderr, "the SIGUSR1 report")
    assert collector.popen.poll() is None
    assert collector.stop() == 0


def test_collect_creates_an_owner_only_fifo_and_refuses_a_path_that_is_not_one(rig: Rig) -> None:
    """FIFO-1: the FIFO is 0600; a regular file at the path is refused, untouched, exit non-zero."""
    rig.collect().stop()
    assert stat.S_IMODE(rig.fifo.stat().st_mode) == 0o600
    regular = rig.tmp / "regular"
    regular.write_text("data")
    refused = Process([*REFERENCE, "collect", "--fifo", str(regular), "--dsn", rig.dsn], rig.tmp, "refused")
    assert refused.wait() != 0 and "FIFO-1" in refused.stderr and regular.read_text() == "data"


def test_stdout_sink_writes_canonical_ndjson_and_rejections_to_stderr(tmp_path: Path) -> None:
    """COL-7: --stdout prints accepted records canonically; rejections go to stderr with their rule."""
    fifo = tmp_path / "logs.fifo"
    collector = Process([*REFERENCE, "collect", "--fifo", str(fifo), "--stdout"], tmp_path, "collector")
    wait_for(lambda: fifo_has_reader(fifo), "the collector to open its FIFO")
    valid = [v for v in load_vectors() if v.verdict == "accept"]
    fd = os.open(fifo, os.O_WRONLY)
    for vector in valid:
        os.write(fd, vector.line)
    os.write(fd, b'{"time":"2018-01-01T00:00:00"}\n')
    os.close(fd)
    wait_for(lambda: collector.stdout.count(b"\n") == len(valid), "every valid line on stdout")
    assert collector.stop() == 0
    assert collector.stdout == b"".join(v.canonical or b"" for v in valid)
    assert "rejected from" in collector.stderr and "REC-3: time" not in collector.stderr
    assert "REC-2" in collector.stderr


def test_query_prints_the_seed_queries_as_tables(rig: Rig) -> None:
    """CLI-3: `logduct query NAME` runs the named query of sql/queries.sql on the DSN given."""
    rig.collect()
    tb = replace(record(1, 0), log_event="login_error", data={"traceback": "Traceback (most recent call last)"})
    assert rig.emit([tb, record(1, 1)], "emitter").wait() == 0
    rig.wait_rows(2)
    done = Process([*REFERENCE, "query", "--dsn", rig.dsn, "with_traceback", "latest"], rig.tmp, "query")
    assert done.wait() == 0, done.stderr
    out = done.stdout.decode()
    assert "-- with_traceback:" in out and "login_error" in out and "(1 row)" in out
    assert "-- latest:" in out and "(2 rows)" in out
    assert json.dumps("Traceback (most recent call last)")[1:-1] in out
    unknown = Process([*REFERENCE, "query", "--dsn", rig.dsn, "nope"], rig.tmp, "unknown")
    assert unknown.wait() == 2 and "no query named nope" in unknown.stderr


def test_counter_of_rejections_by_rule_matches_the_table(rig: Rig) -> None:
    """COL-5: the exit summary counts each rejection under the rule that logs_rejected records."""
    collector = rig.collect()
    lines = [b"not json\n", b"[]\n", b"{}\n", b"{}\n"]
    fd = os.open(rig.fifo, os.O_WRONLY)
    for line in lines:
        os.write(fd, line)
    os.close(fd)
    rig.wait_rows(4, "logs_rejected")
    assert collector.stop() == 0
    by_rule = Counter(rule for _, rule, _, _ in rejected_rows(rig.dsn))
    assert by_rule == {"ENC-2": 1, "REC-1": 1, "REC-2": 2}
    assert "rejected 4 (ENC-2 1, REC-1 1, REC-2 2)" in collector.stderr


def test_a_flood_of_garbage_is_counted_but_stores_a_bounded_quarantine(rig: Rig) -> None:
    """COL-8: 5,000 bad lines at once: at most 100 stored per second of arrival, one COL-8 row per such
    second counting the rest by rule; the valid records among them are all stored."""
    collector = rig.collect()
    valid = [record(1, n) for n in range(20)]
    flood = b"".join(b"not json %d\n" % n + (encode(valid[n // 250]) if n % 250 == 0 else b"")
                     for n in range(5_000))
    fd = os.open(rig.fifo, os.O_WRONLY)
    for start in range(0, len(flood), PIPE_BUF):  # whole lines per write, as emitters do
        chunk = flood[start:start + PIPE_BUF]
        os.write(fd, chunk)
    os.close(fd)
    wait_for(lambda: "rejected 5,000" in (collector.send_signal(signal.SIGUSR1) or collector.stderr),
             "the collector to count 5,000 rejections", every_s=0.2)
    assert collector.stop() == 0
    rows = rejected_rows(rig.dsn)
    summaries = [reason for _, rule, reason, _ in rows if rule == "COL-8"]
    stored = [rule for _, rule, _, _ in rows if rule != "COL-8"]
    not_stored = sum(int(reason.split(" rejections")[0].replace(",", "")) for reason in summaries)
    assert summaries and len(stored) <= 100 * len(summaries) + 100
    assert len(stored) + not_stored == 5_000, (len(stored), not_stored)
    assert delivery_report(valid, stored_records(rig.dsn)) == (0, 0, 0)


def test_an_existing_fifo_owned_by_another_user_is_used_with_a_warning(rig: Rig) -> None:
    """FIFO-1: a FIFO another user owns works, and the collector says whose it is."""
    os.mkfifo(rig.fifo, 0o620)
    os.chown(rig.fifo, 65534, -1)
    collector = rig.collect()
    assert "FIFO-1" in collector.stderr and "belongs to user 65534" in collector.stderr
    assert collector.stop() == 0


def test_stopped_while_the_database_refuses_writes_the_collector_says_what_it_could_not_store(
        rig: Rig, pg_dsn: str) -> None:
    """COL-9: SIGTERM while the database is read-only: the collector stops trying, names what it read
    and could not store, and exits non-zero instead of waiting for ever or claiming success."""
    collector = rig.collect()
    with read_only(pg_dsn):
        assert rig.emit([record(1, n) for n in range(10)], "emitter").wait(60) == 0
        wait_for(lambda: "ReadOnlySqlTransaction" in collector.stderr, "the collector to meet the read-only database")
        assert collector.stop() == 1
    assert "NOT STORED 10" in collector.stderr and "10 records and rejections not stored" in collector.stderr
