"""``logduct collect --metrics HOST:PORT``: the collector's numbers in Prometheus's text format.

Theory of operation. Nothing here runs in the collector's loop. prometheus_client's HTTP server
answers each scrape on a thread of its own, and ``CollectorMetrics.collect`` reads, at that moment,
the counters the loop keeps anyway (COL-5, ``collector.Counters``), the number of records and
rejections read and not yet committed, and for each FIFO the bytes written into it and not yet read
(FIONREAD). Those reads are of ints and of a dict copied in one C call, each atomic under the GIL,
so the loop takes no lock for them. The one measurement the collector did not make, how long a
commit takes, comes from ``TimedSink``, which wraps the sink and times each ``write`` on whichever
thread commits; a histogram is what Prometheus sums and averages over scrapes and collectors.

The server binds loopback unless ``--allow-remote`` is given, as ZeroMQ endpoints do (ZMQ-1): the
numbers name FIFO paths and rules, which are the operator's business.
"""

from __future__ import annotations

import contextlib
import fcntl
import ipaddress
import re
import struct
import termios
import time
from collections.abc import Callable, Iterable, Iterator, Sequence

from prometheus_client import CollectorRegistry, Histogram, start_http_server
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.process_collector import ProcessCollector

from .batching import Batch, Commit, Sink, Written
from .collector import Collector, Counters
from .errors import ConfigurationError
from .source import Source

_ADDRESS = re.compile(r"(?:\[(?P<v6>[^\]]+)\]|(?P<host>[^:\[\]]+)):(?P<port>[0-9]{1,5})")
#: Seconds, from a small batch on an idle database to a wait on a failing one (COL-9).
COMMIT_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
BATCH_BUCKETS = (1, 10, 100, 500, 1_000, 2_000, 5_000, 10_000)


def parse_address(text: str, *, allow_remote: bool) -> tuple[str, int]:
    """``HOST:PORT`` (``[::1]:PORT`` for IPv6) as (host, port); refused unless loopback or allowed."""
    match = _ADDRESS.fullmatch(text)
    if match is None or int(match["port"]) > 65_535:
        raise ConfigurationError(None, f"--metrics {text!r}: expected HOST:PORT, e.g. 127.0.0.1:9464 or [::1]:9464")
    host = match["v6"] or match["host"]
    if not allow_remote and not _loopback(host):
        raise ConfigurationError(None, f"--metrics {text} is not a loopback address; pass --allow-remote to serve "
                                       "the collector's numbers to other hosts")
    return host, int(match["port"])


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False  # a name other than localhost, or "0.0.0.0"-like wildcards spelled otherwise
    mapped = address.ipv4_mapped if isinstance(address, ipaddress.IPv6Address) else None
    return (mapped or address).is_loopback


class TimedSink:
    """A sink that times each commit of the sink it wraps (``logduct_commit_seconds``)."""

    def __init__(self, inner: Sink, seconds: Histogram, sizes: Histogram) -> None:
        self._inner = inner
        self._seconds = seconds
        self._sizes = sizes

    @property
    def give_up(self) -> Callable[[], bool]:
        return self._inner.give_up

    @give_up.setter
    def give_up(self, value: Callable[[], bool]) -> None:
        self._inner.give_up = value  # the collector sets it; the wrapped sink is the one that waits

    def write(self, batch: Batch) -> Written:
        started = time.perf_counter()
        written = self._inner.write(batch)  # a batch not stored raises, and is counted as not_stored
        self.observe(started, len(batch))
        return written

    def prepare(self, batch: Batch) -> None:
        self._inner.prepare(batch)

    def begin(self, batch: Batch) -> Commit:
        return _TimedCommit(self._inner.begin(batch), len(batch), self)

    def observe(self, started: float, size: int) -> None:
        self._seconds.observe(time.perf_counter() - started)
        self._sizes.observe(size)

    def close(self) -> None:
        self._inner.close()


class _TimedCommit:
    """A commit begun through ``TimedSink``: timed from its beginning until its result is known."""

    def __init__(self, inner: Commit, size: int, sink: TimedSink) -> None:
        self._inner = inner
        self._size = size
        self._sink = sink
        self._started = time.perf_counter()

    def fileno(self) -> int | None:
        return self._inner.fileno()

    def done(self) -> bool:
        return self._inner.done()

    def result(self) -> Written:
        written = self._inner.result()  # a batch not stored raises, and is counted as not_stored
        self._sink.observe(self._started, self._size)
        return written


class CollectorMetrics:
    """A prometheus_client collector: reads the collector's numbers at each scrape."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.commit_seconds = Histogram("logduct_commit_seconds", "Time to store one batch in one commit (COL-3), "
                                        "waits on a failing database included (COL-9)",
                                        buckets=COMMIT_BUCKETS, registry=self.registry)
        self.batch_size = Histogram("logduct_batch_size", "Records and rejections stored by one commit (COL-3)",
                                    buckets=BATCH_BUCKETS, registry=self.registry)
        ProcessCollector(registry=self.registry)  # the conventional process_* metrics: memory, CPU, start time
        self._collector: Collector | None = None
        self._sources: Sequence[Source] = ()

    @contextlib.contextmanager
    def serve(self, address: tuple[str, int]) -> Iterator[str]:
        """Serve at ``http://HOST:PORT/metrics`` while the block runs; yield that URL."""
        host, port = address
        try:
            server, thread = start_http_server(port, addr=host, registry=self.registry)
        except OSError as error:
            raise ConfigurationError(None, f"cannot serve metrics on {host}:{port}: {error.strerror}") from None
        shown = f"[{host}]" if ":" in host else host
        try:
            yield f"http://{shown}:{server.server_port}/metrics"
        finally:
            server.shutdown()
            server.server_close()
            thread.join()

    def timed(self, sink: Sink) -> TimedSink:
        return TimedSink(sink, self.commit_seconds, self.batch_size)

    def watch(self, collector: Collector) -> None:
        self._collector = collector
        self._sources = collector.sources
        self.registry.register(self)

    def collect(self) -> Iterable[Metric]:
        if self._collector is None:
            return
        counters: Counters = self._collector.counters
        for name, value, text in (
                ("received", counters.received, "Lines and records received (COL-5)"),
                ("stored", counters.stored, "Records stored (COL-5)"),
                ("duplicates", counters.duplicates, "Deliveries received again and not stored again (ZMQ-6)"),
                ("refused_by_database", counters.refused_by_database,
                 "Valid records PostgreSQL refused, quarantined (COL-2)"),
                ("not_quarantined", counters.not_quarantined,
                 "Rejections past the quarantine's bound: counted, not stored (COL-8)"),
                ("unstorable", counters.unstorable, "Rejections the quarantine itself refused (COL-9)"),
                ("not_stored", counters.not_stored,
                 "Records and rejections read and never stored: PostgreSQL down at the stop (COL-9)")):
            yield CounterMetricFamily(f"logduct_{name}", text, value=value)
        rejected = CounterMetricFamily("logduct_rejected", "Input rejected, by the rule it broke (COL-1, COL-5)",
                                       labels=["rule"])
        for rule, count in sorted(dict(counters.rejected).items()):  # dict(): one C call, atomic under the GIL
            rejected.add_metric([rule], count)
        yield rejected
        yield GaugeMetricFamily("logduct_uncommitted", "Records and rejections read and not yet committed (COL-3)",
                                value=self._collector.uncommitted())
        unread = GaugeMetricFamily("logduct_fifo_unread_bytes", "Bytes written into a FIFO and not yet read",
                                   labels=["fifo"])
        for source in self._sources:
            target = source.poll_target()
            if source.transport == "fifo" and isinstance(target, int):
                # After a stop the number may name another file: FIONREAD only reads a count there.
                with contextlib.suppress(OSError):
                    unread.add_metric([source.name], _unread_bytes(target))
        yield unread


def _unread_bytes(fd: int) -> int:
    [count] = struct.unpack("i", fcntl.ioctl(fd, termios.FIONREAD, b"\0\0\0\0"))
    return int(count)
