"""A collector on a FIFO, fed by the suite's raw writer: what it stores, refuses and survives (SPEC.md 1, 2, 4, 6)."""

from __future__ import annotations

import itertools
import json
import os
import signal
import stat
import uuid
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from psycopg.types.json import set_json_loads

from logduct_conformance import load_vectors
from logduct_conformance.compare import json_equal, loads_stored_json, unmatched
from logduct_conformance.oracle import MEMBERS, Record, as_stored, encode, judge_line, read_line
from logduct_conformance.plugin import Implementation, RuleVerdicts
from logduct_conformance.postgres import read_only
from logduct_conformance.processes import Process, delivery_report, unread_bytes, wait_for
from logduct_conformance.seed import seed_queries
from logduct_conformance.strategies import FAULTS, faulty_lines, record, records, spellings

from .conftest import EXAMPLES, CollectorUnderTest, complete_lines, mentions_count

pytestmark = pytest.mark.needs("collector", "fifo", "sink")


@pytest.mark.rules("REC-1", "REC-2", "REC-5", "REC-6", "REC-8", "REC-9", "REC-10", "REC-12", "REC-13", "ENC-1",
                   "ENC-4", "COL-1", "PG-7")
@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.data())
def test_any_valid_records_in_any_legal_spelling_are_stored_as_they_are(
        implementation: Implementation, tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest,
        data: st.DataObject) -> None:
    """Generated records (every Unicode, offset, IP spelling, number) are stored equal to their canonical form."""
    folder = tmp_path_factory.mktemp("collect")
    dsn = request.getfixturevalue("pg_dsn") if "postgres" in implementation.features else None
    if dsn is not None:
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute("DROP TABLE IF EXISTS logs, logs_rejected")  # each example starts afresh
    under_test = CollectorUnderTest(implementation, folder, dsn)
    try:
        under_test.start()
        batch = data.draw(st.lists(records(), min_size=1, max_size=25))
        under_test.write(b"".join(data.draw(spellings(r)) for r in batch))
        stored = under_test.wait_accepted(len(batch))
        assert unmatched(batch, stored) == ([], [])
        assert under_test.rejected_rules() == []
    finally:
        under_test.stop_all()


@pytest.mark.rules(*sorted({v.rules[0] for v in load_vectors() if v.verdict == "reject"}), "COL-1", "COL-2")
def test_each_invalid_vector_is_quarantined_under_its_rule_and_nothing_valid_is_lost(
        collector: CollectorUnderTest, by_rule: RuleVerdicts) -> None:
    """Every invalid vector, written raw between valid records: refused under its rule, the valid ones
    stored (COL-2). A vector quarantined under another rule, or stored, fails its own rule; vectors
    missing from the quarantine while nothing invalid was stored were refused and not quarantined,
    which fails COL-1."""
    process = collector.start()
    invalid = [v for v in load_vectors() if v.verdict == "reject"]
    valid = [record(n) for n in range(len(invalid) + 1)]
    collector.write_paced([(encode(valid[0]), False)] + [
        pair for i, v in enumerate(invalid) for pair in ((v.line, True), (encode(valid[i + 1]), False))])
    try:
        # Or every line stored or rejected: a collector that stores an invalid vector sends no rejection
        # for it, and waiting on would only run out the clock.
        wait_for(lambda: len(collector.rejected_rules()) >= len(invalid) or process.popen.poll() is not None
                 or collector.accounted_for() >= len(invalid) + len(valid), "a rejection for every invalid vector")
    except TimeoutError:
        pass  # each vector with no rejection is named below
    rejections = collector.rejections()
    with by_rule.check("COL-2", "the collector lives through every invalid vector"):
        assert process.popen.poll() is None, f"the collector died of its input: {process.stderr[-2000:]}"
    if process.popen.poll() is not None:  # the first vector with no rejection is the one it died of
        raws = [raw for _, raw in rejections if raw is not None]
        fatal = next((v for v in invalid if not any(_is_raw_of(raw, v.line) for raw in raws)), None)
        if fatal is not None:
            with by_rule.check(fatal.rules[0], f"vector {fatal.name}"):
                raise AssertionError("the collector died after this vector, which it never quarantined")
        return
    collector.settle(len(valid))  # named below
    stored = collector.accepted()
    with by_rule.check("COL-2", "every valid record beside the invalid ones stored"):
        assert delivery_report(valid, stored) == (0, 0, 0)
    # Rows that are none of the valid records: invalid vectors taken for records.
    taken = len(stored) - len({r.trace_id for r in valid} & {r.trace_id for r in stored})
    for vector in invalid:  # a verdict per vector: one misjudged vector fails its own rule only
        if collector.dsn:  # the quarantine keeps the raw bytes: the row is the vector's
            rules = [rule for rule, raw in rejections if raw is not None and _is_raw_of(raw, vector.line)]
            blamed = "COL-1" if not rules and taken == 0 else vector.rules[0]
            with by_rule.check(blamed, f"vector {vector.name}"):
                assert rules == [vector.rules[0]], f"quarantined as {rules or 'nothing'}" + (
                    ", and not stored either: refused, and not kept in the quarantine" if blamed == "COL-1" else "")
        else:  # stderr names rules only: as many rejections under the rule as vectors breaking it
            with by_rule.check(vector.rules[0], f"vector {vector.name}"):
                expected = sum(v.rules[0] == vector.rules[0] for v in invalid)
                got = sum(rule == vector.rules[0] for rule, _ in rejections)
                assert got == expected, f"{got} rejection lines name {vector.rules[0]}; {expected} vectors break it"


#: The valid vectors, each with the rule its stored row shows kept: ENC-5 says how an emitter writes a
#: line, so a vector about escapes is ENC-4's here, a collector reading any legal spelling.
_VALID = [(v, next((rule for rule in v.rules if rule != "ENC-5"), "ENC-4")) for v in load_vectors()
          if v.verdict == "accept"]


@pytest.mark.rules(*sorted({rule for _, rule in _VALID}))
def test_each_valid_vector_is_stored_as_spec_md_stores_it(collector: CollectorUnderTest,
                                                         by_rule: RuleVerdicts) -> None:
    """Every valid vector, written raw: one row each, equal to what the oracle says SPEC.md stores: the
    UTC instant truncated to the microsecond (REC-6), host_ip in REC-9's form (RFC 5952), text and
    data as sent. A standard-output sink's lines are read as the rows (COL-7's check holds their bytes)."""
    process = collector.start()
    collector.write(b"".join(v.line for v, _ in _VALID))
    try:  # a collector that drops a vector in silence is named below, vector by vector
        wait_for(lambda: len(_stored(collector)) + len(collector.rejections()) >= len(_VALID)
                 or process.popen.poll() is not None, "a row or a rejection for every valid vector")
    except TimeoutError:
        pass
    expected = [read_line(v.line) for v, _ in _VALID]
    stored = _stored(collector)
    missing, unexpected = unmatched(expected, stored)
    missing_ids = {id(wanted) for wanted in missing}  # unmatched returns the very objects it was given
    for (vector, rule), wanted in zip(_VALID, expected, strict=True):
        with by_rule.check(rule, f"vector {vector.name}"):
            assert id(wanted) not in missing_ids, _nearest_difference(wanted, unexpected, collector)


def _stored(collector: CollectorUnderTest) -> list[Record]:
    """The rows, or the records a standard-output sink printed, however they are spelt."""
    if collector.dsn:
        return collector.accepted()
    lines = [line for p in collector.processes for line in complete_lines(p.stdout)]
    return [read_line(line) for line in lines if not judge_line(line)]


def _nearest_difference(expected: Record, rows: list[Record], collector: CollectorUnderTest) -> str:
    """What the row nearest ``expected`` holds that SPEC.md does not store, or that there is none."""
    want = as_stored(expected)

    def differences(row: Record) -> list[str]:
        return [f"{name} stored as {getattr(row, name)!r:.120}, SPEC.md stores {getattr(want, name)!r:.120}"
                for name in MEMBERS if not json_equal(getattr(want, name), getattr(row, name))]

    if not rows:
        return f"not stored; rejections: {collector.rejected_rules() or 'none'}"
    def distance(row: Record) -> tuple[int, int]:  # of equal distance, the row that kept what was sent
        return len(differences(row)), sum(getattr(row, name) != getattr(expected, name) for name in MEMBERS)

    return "; ".join(differences(min(rows, key=distance)))


def _is_raw_of(raw: bytes, line: bytes) -> bool:
    """Whether a quarantined ``raw`` holds ``line``: whole, with or without its LF, or the first
    bytes of one too long to keep whole (ENC-3; PG-3 keeps at most MAX_RECORD_BYTES of it)."""
    body = line.removesuffix(b"\n")
    return raw.removesuffix(b"\n") == body or (len(raw) >= 4096 and body.startswith(raw.removesuffix(b"\n")))


@pytest.mark.rules(*sorted({rule for rule, _ in FAULTS}), "COL-1", "COL-2")
@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
@given(faults=st.lists(faulty_lines(), min_size=1, max_size=15))
def test_generated_faulty_records_are_each_quarantined_under_their_rule(
        implementation: Implementation, tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest,
        faults: list[tuple[str, bytes]]) -> None:
    """Valid records broken one rule at a time (hostile Unicode, NaN, depth...): each refused under its rule."""
    dsn = request.getfixturevalue("pg_dsn") if "postgres" in implementation.features else None
    if dsn is not None:
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute("DROP TABLE IF EXISTS logs, logs_rejected")
    under_test = CollectorUnderTest(implementation, tmp_path_factory.mktemp("faults"), dsn)
    try:
        process = under_test.start()
        valid = [record(n) for n in range(len(faults) + 1)]
        under_test.write(encode(valid[0]) + b"".join(line + encode(valid[i + 1]) for i, (_, line) in enumerate(faults)))
        wait_for(lambda: len(under_test.rejected_rules()) >= len(faults) or process.popen.poll() is not None,
                 "a rejection for every faulty line")
        assert process.popen.poll() is None, f"the collector died of its input: {process.stderr[-2000:]}"
        assert under_test.rejected_rules() == sorted(rule for rule, _ in faults)
        assert delivery_report(valid, under_test.wait_accepted(len(valid))) == (0, 0, 0)
    finally:
        under_test.stop_all()


@pytest.mark.rules("COL-2", "ENC-1", "ENC-2")
@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
@given(garbage=st.lists(st.binary(min_size=1, max_size=200).map(lambda b: b.replace(b"\n", b"") + b"\n"),
                        min_size=1, max_size=20))
def test_garbage_never_stops_the_collector(implementation: Implementation, tmp_path_factory: pytest.TempPathFactory,
                                           request: pytest.FixtureRequest, garbage: list[bytes]) -> None:
    """Random bytes, line after line: the collector stays up and stores the valid record after them."""
    dsn = request.getfixturevalue("pg_dsn") if "postgres" in implementation.features else None
    under_test = CollectorUnderTest(implementation, tmp_path_factory.mktemp("garbage"), dsn)
    try:
        process = under_test.start()
        marker = record(0, trace_id=f"after-garbage-{uuid.uuid4()}")
        under_test.write(b"".join(garbage) + encode(marker))
        wait_for(lambda: process.popen.poll() is not None or any(
            r.trace_id == marker.trace_id for r in under_test.accepted()), "the record after the garbage")
        assert process.popen.poll() is None, f"the collector died of its input: {process.stderr[-2000:]}"
    finally:
        under_test.stop_all()


@pytest.mark.rules("ENC-2", "FIFO-7")
def test_a_line_cut_across_writes_and_reads_arrives_whole(collector: CollectorUnderTest,
                                                          by_rule: RuleVerdicts) -> None:
    """A line written in three parts, each read before the next is written, is one record (ENC-2); its
    writer gone, the collector reads on (FIFO-7)."""
    process = collector.start()
    line = encode(record(1))
    fd = os.open(collector.fifo, os.O_WRONLY)
    for part in (line[:10], line[10:-10], line[-10:]):
        os.write(fd, part)
        wait_for(lambda: unread_bytes(collector.fifo) == 0, "the collector to read the part")
    os.close(fd)
    collector.settle(1, timeout_s=10)  # a record never stored is named below
    with by_rule.check("ENC-2", "the line cut in three, stored as one record"):
        assert delivery_report([record(1)], collector.accepted()) == (0, 0, 0)
    with by_rule.check("FIFO-7", "the collector still runs once its writer has left"):
        assert process.popen.poll() is None, f"the collector ended: {process.stderr[-2000:]}"


@pytest.mark.rules("REC-5", "REC-6", "PG-7")
def test_times_are_stored_as_the_instants_they_name(collector: CollectorUnderTest, by_rule: RuleVerdicts) -> None:
    """Offsets and lower-case t (REC-5), digits past the sixth and a leap second (REC-6), a plain UTC
    time (PG-7: a timestamptz keeps the instant): each stored as its UTC instant, truncated."""
    collector.start()
    utc = timezone.utc
    spelled = {  # as sent: the rule it probes, the instant SPEC.md stores
        "2018-11-01T16:03:51.123456+02:00": ("REC-5", datetime(2018, 11, 1, 14, 3, 51, 123456, tzinfo=utc)),
        "2018-11-01t09:33:51-04:30": ("REC-5", datetime(2018, 11, 1, 14, 3, 51, tzinfo=utc)),
        "2018-11-01T14:03:51.1234569Z": ("REC-6", datetime(2018, 11, 1, 14, 3, 51, 123456, tzinfo=utc)),
        "2016-12-31T23:59:60.5Z": ("REC-6", datetime(2017, 1, 1, 0, 0, 0, 500000, tzinfo=utc)),
        "2018-11-01T14:03:51Z": ("PG-7", datetime(2018, 11, 1, 14, 3, 51, tzinfo=utc)),
    }
    lines = b"".join(json.dumps({**json.loads(encode(record(n))), "time": text}).encode() + b"\n"
                     for n, text in enumerate(spelled))
    collector.write(lines)
    collector.settle(len(spelled))  # a time never stored is named below
    stored = {r.trace_id: r.time for r in collector.accepted()}
    for n, (text, (rule, instant)) in enumerate(spelled.items()):
        with by_rule.check(rule, text):
            assert stored.get(record(n).trace_id) == instant, f"stored as {stored.get(record(n).trace_id)}"


@pytest.mark.rules("COL-4", "CLI-1")
@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT], ids=["sigterm", "sigint"])
def test_a_stop_signal_commits_everything_read_and_exits_zero(collector: CollectorUnderTest,
                                                                stop: signal.Signals, by_rule: RuleVerdicts) -> None:
    """Records read, then SIGTERM, or SIGINT as Ctrl-C sends it, at once: the collector ends with
    status 0 (CLI-1: it runs until one of them, as COL-4 says), and all of them are stored (COL-4)."""
    process = collector.start()
    sent = [record(n) for n in range(300)]
    collector.write(b"".join(map(encode, sent)))
    wait_for(lambda: unread_bytes(collector.fifo) == 0, "the collector to read the records")
    process.send_signal(stop)
    status = process.wait(30)
    for rule in ("CLI-1", "COL-4"):
        with by_rule.check(rule, f"the exit status after {stop.name}"):
            assert status == 0, f"exit status {status} after {stop.name}: {process.stderr[-2000:]}"
    with by_rule.check("COL-4", f"every record read before {stop.name} committed"):
        assert delivery_report(sent, collector.accepted()) == (0, 0, 0)


# FIFO-6 binds an emitter (keep the FIFO open); here the suite is the writer, and holds it open so
# that FIFO-8's "records in the pipe survive a collector restart" can be checked.
@pytest.mark.rules("FIFO-8", "COL-5")
def test_collector_killed_and_restarted_stores_nothing_twice_and_everything_written_after(
        collector: CollectorUnderTest, by_rule: RuleVerdicts) -> None:
    """SIGKILL with records in the pipe, restart: the records still in the pipe at the kill, and every
    record written after the restart, stored; none twice (FIFO-8). The restarted collector, stopped,
    reports how many records it stored (COL-5)."""
    first = collector.start()
    fd = os.open(collector.fifo, os.O_WRONLY)  # a writer holding the FIFO keeps the unread records
    before = [record(n) for n in range(3000)]
    for line in map(encode, before):
        os.write(fd, line)
    first.kill()
    in_the_pipe = _whole_lines_at_the_end(before, unread_bytes(collector.fifo))
    stored_by_the_first = len(collector.accepted())
    second = collector.start()
    after = [record(n) for n in range(3000, 3500)]
    try:
        for line in map(encode, after):
            os.write(fd, line)
    except BrokenPipeError:
        pass  # no one reads the pipe this writer holds any more: what it wrote is lost, named below
    os.close(fd)
    try:
        wait_for(lambda: delivery_report(after + in_the_pipe, collector.accepted())[0] == 0,
                 "every record written after the restart, and those left in the pipe")
    except TimeoutError:
        pass  # named below
    with by_rule.check("FIFO-8", "every record written after the restart stored"):
        assert delivery_report(after, collector.accepted())[0] == 0
    with by_rule.check("FIFO-8", f"the {len(in_the_pipe)} records still in the pipe at the kill stored"):
        assert delivery_report(in_the_pipe, collector.accepted())[0] == 0
    _lost_to_the_kill, duplicated, altered = delivery_report(before + after, collector.accepted())  # bounded
    with by_rule.check("FIFO-8", "nothing stored twice, nothing altered"):
        assert (duplicated, altered) == (0, 0)
    if second.popen.poll() is None:
        second.stop()
        stored = len(collector.accepted()) - stored_by_the_first
        report = second.stderr + (second.stdout.decode(errors="replace") if collector.dsn else "")
        with by_rule.check("COL-5", f"the count of the {stored} records stored, reported on exit"):
            assert mentions_count(report, stored), report[-2000:]


def _whole_lines_at_the_end(records: list[Record], unread: int) -> list[Record]:
    """The records whose lines lie whole in the last ``unread`` bytes written: still in the pipe."""
    lines = [encode(r) for r in records]
    ends = list(itertools.accumulate(map(len, lines)))
    first_unread = ends[-1] - unread
    return [r for r, line, end in zip(records, lines, ends, strict=True) if end - len(line) >= first_unread]


@pytest.mark.rules("FIFO-1")
def test_fifo_is_created_owner_only_and_a_path_that_is_not_a_fifo_refused(
        collector: CollectorUnderTest, tmp_path: Path) -> None:
    """The collector creates its FIFO without access for others, and will not start on a regular file."""
    collector.start()
    assert stat.S_IMODE(collector.fifo.stat().st_mode) & 0o007 == 0
    regular = tmp_path / "regular"
    regular.write_text("keep")
    refused = Process(collector.implementation.collect("--fifo", str(regular), "--stdout"), tmp_path, "refused")
    assert refused.wait(30) != 0
    assert regular.read_text() == "keep" and stat.S_ISREG(regular.stat().st_mode)


@pytest.mark.needs("postgres")
@pytest.mark.rules("PG-1", "PG-2", "PG-3", "CLI-3")
def test_seed_queries_return_what_a_model_of_the_records_predicts(collector: CollectorUnderTest,
                                                                  by_rule: RuleVerdicts) -> None:
    """Records through the collector, then the seed's five queries: each returns what the Python model says,
    which takes the eight columns holding what they name (PG-1). Columns beyond them have defaults (PG-2);
    logs_rejected has PG-3's columns; the implementation's ``query NAME`` runs each query (CLI-3)."""
    collector.start()
    sent = []
    for n in range(60):
        data: dict[str, Any] | None = {"n": n}
        if n % 7 == 0:
            data = {"n": n, "traceback": f"Traceback #{n}"}
        elif n % 13 == 0:
            data = None
        sent.append(record(n, log_event="login_error" if n % 3 == 0 else "login",
                           trace_id="bfb95991-ae1b-4f7b-bc11-024dc53b964f" if n % 5 == 0 else f"r-{n}",
                           host_ip="172.18.0.3" if n % 2 else "172.18.0.4", data=data))
    collector.write(b"".join(map(encode, sent)))
    collector.wait_accepted(len(sent))
    assert collector.dsn is not None
    queries = seed_queries()
    newest = sorted(sent, key=lambda r: r.time, reverse=True)
    # The model: what each seed query selects, in Python.
    model = {
        "latest": [r.trace_id for r in newest[:5]],
        "by_trace_id": sorted(r.time for r in sent if r.trace_id == "bfb95991-ae1b-4f7b-bc11-024dc53b964f"),
        "by_host_ip": sorted(r.time for r in sent if r.host_ip == "172.18.0.3"),
        "login_errors": [(r.data, r.file_path) for r in newest if r.log_event == "login_error"][:5],
        "with_traceback": sorted((r.log_event, r.data["n"]) for r in sent if r.data and "traceback" in r.data),
    }
    with psycopg.connect(collector.dsn) as conn:
        set_json_loads(loads_stored_json, conn)

        def run(name: str) -> list[tuple[Any, ...]]:
            return conn.execute(queries[name]).fetchall()

        got = {
            "latest": [row[4] for row in run("latest")],
            "by_trace_id": sorted(row[0] for row in run("by_trace_id")),
            "by_host_ip": sorted(row[0] for row in run("by_host_ip")),
            "login_errors": [(data, path) for data, path in run("login_errors")],
            "with_traceback": sorted((event, data["n"]) for event, data in run("with_traceback")),
        }
    for name in model:
        with by_rule.check("PG-1", f"the seed query {name}"):
            assert got[name] == model[name]
    columns = _columns(collector.dsn)
    with by_rule.check("PG-2", "every column of logs beyond the eight has a default"):
        extra = sorted(name for table, name in columns if table == "logs" and name not in MEMBERS)
        assert [name for name in extra if columns["logs", name] is None] == [], "columns without a default"
    with by_rule.check("PG-3", "logs_rejected has the quarantine's columns"):
        assert set(_QUARANTINE_COLUMNS) <= {name for table, name in columns if table == "logs_rejected"}
    for name in model:
        with by_rule.check("CLI-3", f"query {name}"):
            command = collector.implementation.collector or []  # SPEC.md 9: the collector's command has query
            done = Process([*command, "query", "--dsn", collector.dsn, name], collector.workdir, f"query-{name}")
            assert done.wait(60) == 0, done.stderr[-2000:]


#: PG-3: the columns of logs_rejected.
_QUARANTINE_COLUMNS = ("received_at", "transport", "source", "rule", "reason", "raw", "emitter_session",
                       "emitter_seq")


def _columns(dsn: str) -> dict[tuple[str, str], str | None]:
    """(table, column) of logs and logs_rejected: the column's default, or "NULL" for a nullable column
    with none (an INSERT that leaves it out stores NULL), or None: no default and NOT NULL."""
    with psycopg.connect(dsn) as conn:
        rows = conn.execute("SELECT table_name, column_name, column_default, is_nullable"
                            " FROM information_schema.columns WHERE table_schema = current_schema()"
                            " AND table_name IN ('logs', 'logs_rejected')").fetchall()
    return {(table, name): default if default is not None else ("NULL" if nullable == "YES" else None)
            for table, name, default, nullable in rows}


@pytest.mark.needs("postgres")
@pytest.mark.rules("COL-8", "COL-2")
def test_a_flood_of_bad_lines_is_not_all_stored_and_the_valid_lines_among_it_are(
        collector: CollectorUnderTest, by_rule: RuleVerdicts) -> None:
    """20,000 bad lines at once, 20 valid ones among them: a collector stores at most 1,000 rejections a
    second per input, so unless the flood took 20 s to read, not all of it is in logs_rejected, and a
    COL-8 row says so; every valid record is stored."""
    process = collector.start()
    valid = [record(n) for n in range(20)]
    collector.write(b"".join(b"not json %d\n" % n + (encode(valid[n // 1_000]) if n % 1_000 == 0 else b"")
                             for n in range(20_000)))
    collector.settle(len(valid), timeout_s=60)  # named below
    with by_rule.check("COL-2", "every valid record among the flood stored"):
        assert delivery_report(valid, collector.accepted()) == (0, 0, 0)
    with by_rule.check("COL-2", "the collector lived through the flood and stops with status 0"):
        assert collector.current.stop() == 0, process.stderr[-2000:]
    rules = collector.rejected_rules()
    with by_rule.check("COL-8", "not all of the flood stored"):
        assert len([rule for rule in rules if rule != "COL-8"]) < 20_000, "every one of 20,000 bad lines was stored"
    with by_rule.check("COL-8", "a row saying how many were not"):
        assert "COL-8" in rules, "no row says how many rejections were not stored"


@pytest.mark.needs("postgres")
@pytest.mark.rules("COL-9", "COL-4")
def test_a_database_that_turns_read_only_is_waited_out(collector: CollectorUnderTest, by_rule: RuleVerdicts) -> None:
    """The database turns read-only and ends the collector's sessions while records arrive: the collector
    stays up and, once the database takes writes again, stores every record (COL-9); then SIGTERM ends
    it with status 0 (COL-4), which only a collector still running can show."""
    assert collector.dsn is not None
    process = collector.start()
    valid = [record(n) for n in range(300)]
    with read_only(collector.dsn):
        collector.write(b"".join(map(encode, valid[:150])))
        # Until the collector has had a chance to meet the read-only database; if a busy machine keeps
        # it from trying in time, the check proves less, never wrongly fails.
        try:
            wait_for(lambda: process.popen.poll() is not None, "the collector to fail", timeout_s=3)
        except TimeoutError:
            pass
    with by_rule.check("COL-9", "the collector lives through the read-only database"):
        assert process.popen.poll() is None, f"the collector died of the database's state: {process.stderr[-2000:]}"
    if process.popen.poll() is not None:
        return  # no reader: the FIFO could not even be opened for the rest
    collector.write(b"".join(map(encode, valid[150:])))
    collector.settle(len(valid), timeout_s=90)  # named below
    with by_rule.check("COL-9", "every record stored once the database takes writes again"):
        assert delivery_report(valid, collector.accepted()) == (0, 0, 0)
    with by_rule.check("COL-4", "SIGTERM: exit status 0"):
        assert collector.current.stop() == 0, process.stderr[-2000:]
