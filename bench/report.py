"""What a run of ``python -m bench`` found: the table, the targets as ratios, JSON and the chart."""

from __future__ import annotations

import json
import operator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from logduct.tables import format_table

#: Name and unit of each figure, in the order of the table.
FIGURES = {
    "copy_limit": ("COPY limit: ready rows, binary COPY into logs, schema indexes", "records/s"),
    "raw_fifo": ("raw FIFO: one write() a line, a reader counting lines", "records/s"),
    "raw_zmq": ("raw ZeroMQ: DEALER -> ROUTER, a line a message, no ack", "records/s"),
    "fifo_end_to_end": ("logduct FIFO: emitters -> collector -> committed rows", "records/s"),
    "zmq_end_to_end": ("logduct ZeroMQ: emitters -> collector -> committed, acked", "records/s"),
    "zmq_many_end_to_end": ("logduct ZeroMQ: 50 emitter processes at once, acked", "records/s"),
    "zmq_duplicates_percent": ("ZeroMQ, 2 emitters: copies received, share of records", "%"),
    "zmq_many_duplicates_percent": ("ZeroMQ, 50 emitters: copies received, share of records", "%"),
    "seed_fifo": ("seed FIFO: open/write/close a record, INSERT row by row", "records/s"),
    "seed_fifo_lost_percent": ("seed FIFO: records never stored", "%"),
    "seed_zmq": ("seed ZeroMQ: DEALER send loop -> ROUTER, nothing stored", "records/s"),
    "handler_us_logduct": ("log.info() through logduct's LogductHandler (FIFO)", "us/call"),
    "handler_us_file": ("log.info() through stdlib logging.FileHandler", "us/call"),
    "fifo_latency_p50_ms": ("FIFO emit -> committed row, p50", "ms"),
    "fifo_latency_p99_ms": ("FIFO emit -> committed row, p99", "ms"),
    "zmq_latency_p50_ms": ("ZeroMQ emit -> committed row, p50", "ms"),
    "zmq_latency_p99_ms": ("ZeroMQ emit -> committed row, p99", "ms"),
    "fifo_collector_rss_mb": ("FIFO collector peak RSS at full load", "MB"),
    "zmq_collector_rss_mb": ("ZeroMQ collector peak RSS at full load", "MB"),
    "zmq_many_collector_rss_mb": ("ZeroMQ collector peak RSS, 50 emitters", "MB"),
    "fifo_cpu_us_emitters": ("FIFO CPU per record: emitters", "us"),
    "fifo_cpu_us_collector": ("FIFO CPU per record: collector", "us"),
    "fifo_cpu_us_postgres": ("FIFO CPU per record: PostgreSQL backend", "us"),
    "zmq_cpu_us_emitters": ("ZeroMQ CPU per record: emitters", "us"),
    "zmq_cpu_us_collector": ("ZeroMQ CPU per record: collector", "us"),
    "zmq_cpu_us_postgres": ("ZeroMQ CPU per record: PostgreSQL backend", "us"),
    "zmq_many_cpu_us_emitters": ("ZeroMQ, 50 emitters, CPU per record: emitters", "us"),
    "zmq_many_cpu_us_collector": ("ZeroMQ, 50 emitters, CPU per record: collector", "us"),
    "zmq_many_cpu_us_postgres": ("ZeroMQ, 50 emitters, CPU per record: PostgreSQL backend", "us"),
}


#: The contenders of the peers table (--peers): their figures' prefix and their name. logduct's CPU
#: parts are collector, emitters and postgres; a peer's are peer, feeders and postgres.
CONTENDERS = {
    "fifo": "logduct FIFO",
    "zmq": "logduct ZeroMQ, acknowledged after commit",
    "rsyslog": "rsyslog imptcp -> mmjsonparse -> ompgsql, 2 action workers",
    "syslog_ng_pipe": "syslog-ng pipe() -> json-parser -> sql(), batches of 1,000",
    "syslog_ng_tcp": "syslog-ng network() TCP -> json-parser -> sql(), batches of 1,000",
}
PEER_FIGURES = {f"{peer}_{part}": unit for peer in ("rsyslog", "syslog_ng_pipe", "syslog_ng_tcp")
                for part, unit in [("end_to_end", "records/s"), ("cpu_us_peer", "us"), ("cpu_us_feeders", "us"),
                                   ("cpu_us_postgres", "us")]}


@dataclass(frozen=True)
class Target:
    """A figure, or its ratio to a baseline figure of the same run, against the issue's target."""

    label: str
    figure: str
    baseline: str | None
    at_least: bool  # True: the value must reach the limit; False: stay under it
    limit: float

    def value(self, figures: dict[str, float]) -> float | None:
        if self.figure not in figures or (self.baseline and not figures.get(self.baseline)):
            return None
        return figures[self.figure] / figures[self.baseline] if self.baseline else figures[self.figure]

    def met(self, figures: dict[str, float]) -> bool | None:
        value = self.value(figures)
        return None if value is None else (operator.ge if self.at_least else operator.le)(value, self.limit)


TARGETS = [
    Target("FIFO end to end / COPY limit", "fifo_end_to_end", "copy_limit", True, 0.7),
    Target("ZeroMQ end to end / COPY limit", "zmq_end_to_end", "copy_limit", True, 0.7),
    # Issue 13's, beside the older 0.7 above: what twice the peers' speed takes on two cores.
    Target("FIFO end to end / COPY limit (issue 13)", "fifo_end_to_end", "copy_limit", True, 0.5),
    Target("ZeroMQ end to end / COPY limit (issue 13)", "zmq_end_to_end", "copy_limit", True, 0.4),
    Target("FIFO collector CPU per record (us)", "fifo_cpu_us_collector", None, False, 12),
    Target("ZeroMQ end to end / FIFO end to end", "zmq_end_to_end", "fifo_end_to_end", True, 0.8),
    Target("ZeroMQ 50 emitters / ZeroMQ 2 emitters", "zmq_many_end_to_end", "zmq_end_to_end", True, 0.8),
    Target("ZeroMQ 50 emitters: copies received (% of records)", "zmq_many_duplicates_percent", None, False, 5),
    Target("FIFO end to end / seed FIFO row by row", "fifo_end_to_end", "seed_fifo", True, 10),
    Target("ZeroMQ end to end / seed FIFO row by row", "zmq_end_to_end", "seed_fifo", True, 10),
    Target("LogductHandler / FileHandler, per call", "handler_us_logduct", "handler_us_file", False, 1.5),
    Target("FIFO p99 emit -> committed at 10,000/s (ms)", "fifo_latency_p99_ms", None, False, 250),
    Target("ZeroMQ p99 emit -> committed at 10,000/s (ms)", "zmq_latency_p99_ms", None, False, 250),
    Target("FIFO collector peak RSS (MB)", "fifo_collector_rss_mb", None, False, 150),
    Target("ZeroMQ collector peak RSS (MB)", "zmq_collector_rss_mb", None, False, 150),
    Target("ZeroMQ collector peak RSS, 50 emitters (MB)", "zmq_many_collector_rss_mb", None, False, 150),
]
#: Not targets, but what each end-to-end figure makes of its transport's raw limit.
SHARES = [
    Target("FIFO end to end / raw FIFO", "fifo_end_to_end", "raw_fifo", True, 0),
    Target("ZeroMQ end to end / raw ZeroMQ", "zmq_end_to_end", "raw_zmq", True, 0),
]


def _number(value: float) -> str:
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:,.2f}"


def table(figures: dict[str, float]) -> str:
    rows: list[tuple[object, ...]] = [(label, _number(figures[key]), unit)
                                      for key, (label, unit) in FIGURES.items() if key in figures]
    text = format_table(["measure", "value", "unit"], rows)
    checks: list[tuple[object, ...]] = []
    for target in TARGETS + SHARES:
        value = target.value(figures)
        if value is None:
            continue
        met = target.met(figures)
        goal = "" if not target.limit else f"{'>=' if target.at_least else '<='} {target.limit:g}"
        checks.append((target.label, _number(value), goal,
                       "" if not target.limit else "met" if met else "MISSED"))
    return text + "\n\n" + format_table(["ratio or figure", "value", "target", ""], checks)


def peers_table(figures: dict[str, float]) -> str:
    """logduct beside the peers: records/s, and as ratios to the COPY limit and to logduct FIFO of
    the same run; CPU per record, all parts summed, then each part."""
    rows: list[tuple[object, ...]] = []
    if "copy_limit" in figures:
        rows.append(("COPY limit (one process, rows ready)", _number(figures["copy_limit"]), "1.00",
                     _ratio(figures["copy_limit"], figures.get("fifo_end_to_end")), ""))
    for key, name in CONTENDERS.items():
        rate = figures.get(f"{key}_end_to_end")
        if rate is None:
            continue
        parts = [figures.get(f"{key}_cpu_us_{part}") for part in
                 (("collector", "emitters", "postgres") if key in ("fifo", "zmq") else ("peer", "feeders", "postgres"))]
        cpu = (f"{sum(p for p in parts if p is not None):.0f} ("
               + " + ".join("?" if p is None else f"{p:.0f}" for p in parts) + ")")
        rows.append((name, _number(rate), _ratio(rate, figures.get("copy_limit")),
                     _ratio(rate, figures.get("fifo_end_to_end")), cpu))
    text = format_table(["contender", "records/s", "x COPY limit", "x logduct FIFO",
                         "CPU us/record (collector or peer + emitters or feeders + PostgreSQL)"], rows)
    lead = fifo_lead(figures)
    if lead is not None:
        verdict = "met" if lead >= 2 else "MISSED"
        text += f"\nlogduct FIFO / the fastest peer of this run: {lead:.2f} (target >= 2: {verdict})"
    return text


def fifo_lead(figures: dict[str, float]) -> float | None:
    """logduct FIFO's records/s over the fastest peer's of the same run (issue 13 asks for 2 at least)."""
    peers = [figures[f"{key}_end_to_end"] for key in CONTENDERS
             if key not in ("fifo", "zmq") and f"{key}_end_to_end" in figures]
    if not peers or "fifo_end_to_end" not in figures:
        return None
    return figures["fifo_end_to_end"] / max(peers)


def _ratio(value: float, baseline: float | None) -> str:
    return f"{value / baseline:.2f}" if baseline else ""


def bad_lines_table(outcomes: list[dict[str, Any]]) -> str:
    """Per contender: good rows not stored (lost, or held by a stall past the measure's wait), when the
    last good one was stored, and where each bad line went."""
    if not outcomes:
        return ""
    kinds = list(outcomes[0]["bad"])
    rows: list[tuple[object, ...]] = []
    for o in outcomes:
        last, some = o["seconds_to_last_good"], o["seconds_to_last_stored"]
        stored = o["good_sent"] - o["good_lost"]
        rows.append((o["contender"], f"{o['good_lost']} of {o['good_sent']}",
                     f"{last:.2f} s" if last is not None else
                     f"none within {o['gave_up_after_s']:g} s" if some is None else
                     f"{stored} by {some:.2f} s, no more within {o['gave_up_after_s']:g} s",
                     *(o["bad"][kind] for kind in kinds)))
    return format_table(["contender", "good rows not stored", "last good row stored after", *kinds], rows)


def write_json(path: Path, machine: dict[str, Any], mode: str, runs: list[dict[str, float]],
               figures: dict[str, float], extra: dict[str, Any] | None = None) -> None:
    targets = [{"target": t.label, "value": t.value(figures), "limit": t.limit,
                "at_least": t.at_least, "met": t.met(figures)} for t in TARGETS]
    units = {key: unit for key, (_, unit) in FIGURES.items()}
    units.update({key: unit for key, unit in PEER_FIGURES.items() if key in figures})
    path.write_text(json.dumps({"machine": machine, "mode": mode, "figures": figures, "runs": runs,
                                "units": units, "targets": targets, **(extra or {})}, indent=2) + "\n")


def write_chart(path: Path, figures: dict[str, float], title: str) -> None:
    """Four panels: throughput, cost per log call, latency, and where each record's CPU time goes."""
    import matplotlib  # only here: the rest of the bench runs without it

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ((rates, calls), (latencies, cpu)) = plt.subplots(2, 2, figsize=(13, 8.5))
    fig.suptitle(title, fontsize=10)
    names = {"copy_limit": "COPY limit", "raw_fifo": "raw FIFO", "raw_zmq": "raw ZeroMQ",
             "fifo_end_to_end": "logduct FIFO", "zmq_end_to_end": "logduct ZeroMQ (acked)",
             "zmq_many_end_to_end": "logduct ZeroMQ, 50 emitters",
             "seed_fifo": "seed FIFO (row by row)", "seed_zmq": "seed ZeroMQ (not stored)",
             "rsyslog_end_to_end": "rsyslog (TCP)", "syslog_ng_pipe_end_to_end": "syslog-ng (pipe)",
             "syslog_ng_tcp_end_to_end": "syslog-ng (TCP)"}
    shown = [key for key in names if key in figures]
    colours = ["#1f77b4" if key.startswith(("logduct", "fifo_", "zmq_")) else
               "#999999" if key.startswith("seed") else
               "#2ca02c" if key.startswith(("rsyslog", "syslog_ng")) else "#ff7f0e" for key in shown]
    rates.barh([names[k] for k in shown], [figures[k] for k in shown], color=colours)
    rates.set_xscale("log")
    rates.invert_yaxis()
    rates.set_xlabel("records/s (log scale)")
    rates.set_title("Throughput: limits (orange), logduct (blue), peers (green), seeds (grey)")
    for i, key in enumerate(shown):
        rates.annotate(f" {figures[key]:,.0f}", (figures[key], i), va="center", fontsize=8)

    per_call = {"LogductHandler": "handler_us_logduct", "FileHandler": "handler_us_file"}
    calls.bar(list(per_call), [figures.get(k, 0) for k in per_call.values()], color=["#1f77b4", "#ff7f0e"])
    calls.set_ylabel("microseconds per log.info()")
    calls.set_title("Cost of one log call to the application")

    kinds = ["fifo", "zmq"]
    width = 0.35
    for offset, quantile in ((-width / 2, "p50"), (width / 2, "p99")):
        latencies.bar([i + offset for i in range(2)], [figures.get(f"{k}_latency_{quantile}_ms", 0) for k in kinds],
                      width, label=quantile)
    latencies.axhline(250, color="red", linestyle="--", linewidth=1, label="target p99 250 ms")
    latencies.set_xticks(range(2), ["FIFO", "ZeroMQ"])
    latencies.set_ylabel("ms, emit -> committed row")
    latencies.set_title("Latency at 10,000 records/s")
    latencies.legend()

    bottom = [0.0, 0.0]
    for part in ("emitters", "collector", "postgres"):
        values = [figures.get(f"{k}_cpu_us_{part}", 0) for k in kinds]
        cpu.bar(["FIFO", "ZeroMQ"], values, bottom=bottom, label=part)
        bottom = [b + v for b, v in zip(bottom, values, strict=True)]
    cpu.set_ylabel("CPU microseconds per record")
    cpu.set_title("Where each record's CPU time goes, end to end")
    cpu.legend()
    for panel, prefix in ((calls, "handler_us_"), (latencies, "_latency_"), (cpu, "_cpu_us_")):
        if not any(prefix in key for key in figures):  # a run of some measures only (--only)
            panel.text(0.5, 0.5, "not measured in this run", transform=panel.transAxes, ha="center", color="grey")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
