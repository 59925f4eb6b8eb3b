"""The collectors people already use, run as the bench runs logduct: rsyslog and syslog-ng.

``python -m bench --peers`` looks for them on PATH (``rsyslogd``, ``syslog-ng``) with the modules
they need to write to PostgreSQL, and says what is missing where they are not; the README says how
to install them. Each is started in the foreground with a configuration of its own, rendered from
the templates beside this file into the bench's scratch directory (pid file, work directory,
sockets and all), never as a system service, and stopped when its measure ends.
"""

from __future__ import annotations

import glob
import os
import re
import shutil
import signal
import socket
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from psycopg.conninfo import conninfo_to_dict

from ..processes import BenchError, spawn, wait_for

HERE = Path(__file__).resolve().parent


class Missing(Exception):
    """What a peer lacks on this machine, said as the run reports it."""


@dataclass(frozen=True)
class Peer:
    """One contender: a program, how it is fed, and where its modules are."""

    name: str  # the key of its figures
    label: str  # as the tables name it
    program: str  # looked up on PATH
    feed: str  # "tcp" or "fifo": how the bench's feeders reach it
    find_modules: Callable[[Path], str]  # its module directory; Missing if it lacks one it needs

    def located(self) -> tuple[Path | None, str]:
        """The program and its module directory; or None and a sentence saying what is missing."""
        found = shutil.which(self.program)
        if found is None:
            return None, f"{self.label}: not measured, no {self.program} on PATH (see README, Speed)"
        program = Path(found).resolve()
        try:
            return program, self.find_modules(program)
        except Missing as missing:
            return None, f"{self.label}: not measured, {program} found but {missing}"

    def version(self) -> str:
        """The program's version, as it says it (the first number of its --version output)."""
        program, _ = self.located()
        if program is None:
            return ""
        said = subprocess.run([str(program), "-v" if self.program == "rsyslogd" else "--version"],
                              capture_output=True, text=True, timeout=30).stdout
        found = re.search(r"\d+\.\d+(\.\d+)?", said)
        return found[0] if found else "?"


def _rsyslog_modules(program: Path) -> str:
    """rsyslog's module directory beside the binary: PREFIX/sbin/rsyslogd -> PREFIX/lib/*/rsyslog."""
    for directory in sorted(glob.glob(str(program.parent.parent / "lib" / "*" / "rsyslog"))):
        missing = [m for m in ("imptcp.so", "mmjsonparse.so", "ompgsql.so") if not (Path(directory) / m).exists()]
        if missing:
            raise Missing(f"not {', '.join(missing)} in {directory} (ompgsql.so is in rsyslog-pgsql)")
        return directory
    raise Missing(f"no module directory {program.parent.parent}/lib/*/rsyslog")


def _syslog_ng_modules(program: Path) -> str:
    """syslog-ng's module directory (PREFIX/lib/syslog-ng/VERSION) with sql(), and libdbi's pgsql driver."""
    for directory in sorted(glob.glob(str(program.parent.parent / "lib" / "syslog-ng" / "*"))):
        if not (Path(directory) / "libafsql.so").exists():
            raise Missing(f"not libafsql.so in {directory} (it is in syslog-ng-mod-sql)")
        if not glob.glob("/usr/lib/*/dbd/libdbdpgsql.so") + glob.glob("/usr/lib/dbd/libdbdpgsql.so"):
            raise Missing("not libdbi's PostgreSQL driver libdbdpgsql.so (it is in libdbd-pgsql)")
        return directory
    raise Missing(f"no module directory {program.parent.parent}/lib/syslog-ng/*")


RSYSLOG = Peer("rsyslog", "rsyslog imptcp -> mmjsonparse -> ompgsql, 2 action workers", "rsyslogd", "tcp",
               _rsyslog_modules)
SYSLOG_NG_PIPE = Peer("syslog_ng_pipe", "syslog-ng pipe() -> json-parser -> sql()", "syslog-ng", "fifo",
                      _syslog_ng_modules)
SYSLOG_NG_TCP = Peer("syslog_ng_tcp", "syslog-ng network() TCP -> json-parser -> sql()", "syslog-ng", "tcp",
                     _syslog_ng_modules)
PEERS = [RSYSLOG, SYSLOG_NG_PIPE, SYSLOG_NG_TCP]


def free_port() -> int:
    """A loopback TCP port free right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def database_settings(dsn: str) -> dict[str, str]:
    """The DSN as the peers' configurations take it: host (a name or a socket directory), port,
    database, user, password."""
    parts = conninfo_to_dict(dsn)
    return {"DB_HOST": str(parts.get("host") or "/var/run/postgresql"), "DB_PORT": str(parts.get("port") or 5432),
            "DB_NAME": str(parts.get("dbname") or parts.get("user") or "postgres"),
            "DB_USER": str(parts.get("user") or "postgres"), "DB_PASSWORD": str(parts.get("password") or "")}


def render(template: str, values: dict[str, str], target: Path) -> None:
    """``template`` with each @NAME@ replaced, written to ``target``, readable by its owner only."""
    text = (HERE / template).read_text()
    for key, value in values.items():
        # Both configuration languages take "..." strings with backslash escapes.
        quoted = value.replace("\\", "\\\\").replace('"', '\\"') if key.startswith("DB_") else value
        text = text.replace(f"@{key}@", quoted)
    left = re.search(r"@[A-Z_]+@", text)
    if left:
        raise BenchError(f"{template}: {left[0]} was left unrendered")
    target.touch(mode=0o600)
    target.write_text(text)


class PeerProcess:
    """A peer in the foreground, under ``bench.orphans``, its output kept in a file; ready when it
    listens (TCP) or holds the FIFO open (pipe())."""

    def __init__(self, peer: Peer, dsn: str, work: Path) -> None:
        program, modules = peer.located()
        if program is None:
            raise BenchError(modules)
        self.peer = peer
        shutil.rmtree(work, ignore_errors=True)  # a fresh start each round: no FIFO, persist file or queue left
        work.mkdir(parents=True)
        self.log = work / "output.log"
        values = database_settings(dsn)
        if peer.feed == "tcp":
            self.port = free_port()
            self.where = f"127.0.0.1:{self.port}"
        else:
            self.where = str(work / "in.fifo")
            os.mkfifo(self.where, 0o600)
        config = work / f"{peer.program}.conf"
        if peer is RSYSLOG:
            render("rsyslog.conf", {**values, "WORK_DIR": str(work), "PORT": str(self.port), "WORKERS": "2"}, config)
            command = [str(program), "-n", "-f", str(config), "-i", str(work / "rsyslogd.pid"), "-M", modules]
        else:
            source = (f'network(ip("127.0.0.1") port({self.port}) transport("tcp") flags(no-parse) '
                      'max-connections(16) log-iw-size(20000) log-msg-size(65536));' if peer.feed == "tcp" else
                      f'pipe("{self.where}" flags(no-parse) log-iw-size(20000) log-msg-size(65536));')
            render("syslog-ng.conf", {**values, "SOURCE": source}, config)
            # --no-caps: as root, syslog-ng drops capabilities, and with them the right to reach a
            # database socket in a directory of another user's (the embedded PostgreSQL's).
            command = [str(program), "-F", "-e", "--no-caps", "-f", str(config), "--module-path", modules,
                       "-p", str(work / "syslog-ng.pid"), "-R", str(work / "syslog-ng.persist"),
                       "-c", str(work / "syslog-ng.ctl")]
        with open(self.log, "wb") as output:
            self.process = spawn(command, stdout=output, stderr=subprocess.STDOUT)
        wait_for(lambda: self._ready() or self.process.poll() is not None, 60, f"{peer.label} to start")
        if self.process.poll() is not None:
            raise BenchError(f"{peer.label} exited with status {self.process.returncode}:\n{self.output()}")

    @property
    def pid(self) -> int:
        return self.process.pid

    def _ready(self) -> bool:
        if self.peer.feed == "tcp":
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return True
            except OSError:
                return False
        return self.where in _open_files(self.pid)

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def _open_files(pid: int) -> set[str]:
    """What the process ``pid`` has open, from /proc (Linux); its descriptors may close as we read."""
    found = set()
    for fd in glob.glob(f"/proc/{pid}/fd/*"):
        try:
            found.add(os.readlink(fd))
        except OSError:
            pass
    return found
