"""``logduct collect --metrics``: COL-5's counters, commit times and queue depths, scraped over loopback
in Prometheus's text format and read back with prometheus_client's own parser."""

from __future__ import annotations

import os
import re
import socket
import urllib.request
from datetime import datetime, timezone
from pathlib import Path

import pytest
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families
from rig import Rig

from logduct.batching import Batch, Commit, Written
from logduct.collector import Collector
from logduct.errors import ConfigurationError
from logduct.fifo import FifoSource
from logduct.metrics import CollectorMetrics, parse_address
from logduct.record import Record, encode
from logduct_conformance.processes import wait_for

GOOD = [encode(Record(time=datetime(2026, 11, 26, 4, tzinfo=timezone.utc), application_name="WebApp",
                      environment_name="production", log_event="login", trace_id=f"trace-{n}", file_path="/app.py",
                      host_ip="127.0.0.1")) for n in range(7)]


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of a scrape: (name, sorted labels) -> value."""
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def scrape(url: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    with urllib.request.urlopen(url, timeout=30) as response:  # loopback only
        assert response.headers["Content-Type"].startswith("text/plain")
        return samples(response.read().decode())


def metrics_url(stderr: str) -> str | None:
    found = re.search(r"logduct: metrics at (http://\S+)", stderr)
    return found[1] if found else None


def test_a_scrape_shows_the_counters_commits_and_queues_of_a_running_collector(rig: Rig) -> None:
    """What SIGUSR1 prints, as numbers: records stored, rejections by rule, one commit at least."""
    collector = rig.collect_fifo("--metrics", "127.0.0.1:0")
    url = wait_for(lambda: metrics_url(collector.stderr), "the metrics address")
    assert url.startswith("http://127.0.0.1:")
    bad = b'{"time":"2026-11-26T04:00:00Z","application_name":"WebApp"}\n'  # REC-2, twice
    # Written straight into the FIFO, as a faulty emitter would: logduct emit refuses what breaks a rule.
    writer = os.open(rig.fifo, os.O_WRONLY)
    try:
        os.write(writer, b"".join(GOOD[:3]) + bad + b"".join(GOOD[3:]) + bad)  # under PIPE_BUF: one write
    finally:
        os.close(writer)
    rig.wait_rows(len(GOOD))
    rig.wait_rows(2, "logs_rejected")
    # The rows are committed; the counters are updated right after the commit returns.
    numbers = wait_for(lambda: (s := scrape(url))[("logduct_stored_total", ())] == len(GOOD) and s,
                       "the stored counter")
    assert numbers[("logduct_received_total", ())] == len(GOOD) + 2
    assert numbers[("logduct_rejected_total", (("rule", "REC-2"),))] == 2
    assert numbers[("logduct_duplicates_total", ())] == 0
    assert numbers[("logduct_not_stored_total", ())] == 0
    assert numbers[("logduct_commit_seconds_count", ())] >= 1
    assert numbers[("logduct_batch_size_sum", ())] == len(GOOD) + 2
    assert numbers[("logduct_uncommitted", ())] == 0
    assert numbers[("logduct_fifo_unread_bytes", (("fifo", str(rig.fifo)),))] == 0
    assert ("process_resident_memory_bytes", ()) in numbers
    assert collector.stop() == 0
    with pytest.raises(OSError):  # the server is gone with the collector
        scrape(url)


def test_the_fifo_gauge_counts_the_bytes_waiting_in_the_pipe(tmp_path: Path) -> None:
    """A real FIFO with bytes written into it and not yet read: a collector that has not run yet."""
    source = FifoSource(tmp_path / "logs.fifo")
    collector = Collector([source], _NoSink())
    metrics = CollectorMetrics()
    metrics.watch(collector)
    writer = os.open(tmp_path / "logs.fifo", os.O_WRONLY | os.O_NONBLOCK)
    try:
        os.write(writer, b"x" * 1234)
        numbers = samples(generate_latest(metrics.registry).decode())
        assert numbers[("logduct_fifo_unread_bytes", (("fifo", str(tmp_path / "logs.fifo")),))] == 1234
        assert numbers[("logduct_received_total", ())] == 0
    finally:
        os.close(writer)
        source.stop_reading()


class _NoSink:
    """A collector's sink that is never written to here: the collector above never runs."""

    def __init__(self) -> None:
        self.give_up = lambda: False

    def write(self, batch: Batch) -> Written:
        raise AssertionError("the collector was not run")

    def prepare(self, batch: Batch) -> None:
        raise AssertionError("the collector was not run")

    def begin(self, batch: Batch) -> Commit:
        raise AssertionError("the collector was not run")

    def close(self) -> None:
        pass


@pytest.mark.parametrize("address", ["0.0.0.0:9464", "[::]:9464", "192.0.2.1:9464", "example.com:9464"])
def test_a_non_loopback_address_is_refused_unless_allowed(address: str) -> None:
    with pytest.raises(ConfigurationError, match="not a loopback address"):
        parse_address(address, allow_remote=False)
    assert parse_address(address, allow_remote=True)[1] == 9464


@pytest.mark.parametrize("address", ["127.0.0.1:9464", "localhost:0", "[::1]:9464", "[::ffff:127.0.0.1]:1"])
def test_loopback_addresses_are_served(address: str) -> None:
    assert parse_address(address, allow_remote=False)[0] in {"127.0.0.1", "localhost", "::1", "::ffff:127.0.0.1"}


@pytest.mark.parametrize("address", ["9464", "127.0.0.1", "127.0.0.1:99999", "::1:9464", "127.0.0.1:http"])
def test_an_address_that_is_not_host_port_is_refused(address: str) -> None:
    with pytest.raises(ConfigurationError, match="expected HOST:PORT"):
        parse_address(address, allow_remote=True)


def test_collect_refuses_a_non_loopback_or_busy_address_before_collecting(rig: Rig) -> None:
    """Exit 2, one line, and the FIFO never opened: nothing was collected without its metrics."""
    done = rig.start("remote", "collect", "--fifo", str(rig.fifo), "--dsn", rig.dsn, "--metrics", "0.0.0.0:0")
    assert done.wait() == 2
    assert done.stderr.startswith("logduct: --metrics 0.0.0.0:0 is not a loopback address"), done.stderr
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        busy = f"127.0.0.1:{taken.getsockname()[1]}"
        done = rig.start("busy", "collect", "--fifo", str(rig.fifo), "--dsn", rig.dsn, "--metrics", busy)
        assert done.wait() == 2
    assert f"logduct: cannot serve metrics on {busy}: Address already in use" in done.stderr, done.stderr
    assert "Traceback" not in done.stderr
