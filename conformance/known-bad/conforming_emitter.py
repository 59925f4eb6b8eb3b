"""A conforming emitter, written from SPEC.md alone: the base that the emitter known-bads break.

    emit --fifo PATH [--portable]
    emit --zmq ENDPOINT [--zmq ENDPOINT ...] [--identity ID]

Theory of operation. Standard input is the application (CLI-2): each line is validated (EMIT-1,
sections 1 and 2), refused with its line number and rule on standard error, or turned into its
canonical line (ENC-5) and put in a bounded queue (EMIT-2), in order (EMIT-4). A transport then
sends the head of the queue when it can: the FIFO one line per write() (section 4), the ZeroMQ
one in numbered messages, kept until acknowledged (section 5). Both wait on standard input and on
their transport at once, so no record waits for the next line to come.

It stands on the standard library and pyzmq only, shares no code with reference/ or the suite's
oracle, and each rule lives in one small function or method, named for it, so that a known-bad
program can break exactly one rule by overriding exactly one of them. Exit status: 0 when every
record was handed over (FIFO) or acknowledged (ZeroMQ) and none refused, 1 when one was refused,
2 for a wrong command line.
"""

from __future__ import annotations

import argparse
import errno
import ipaddress
import json
import math
import os
import re
import select
import signal
import sys
import time
from collections import deque
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import zmq
from zmq.utils.monitor import recv_monitor_message

#: ENC-3: the longest line, LF included.
MAX_RECORD_BYTES = 65_536
#: FIFO-2: Linux's PIPE_BUF; FIFO-3: the portable profile's, POSIX's _POSIX_PIPE_BUF.
PIPE_BUF, PORTABLE_PIPE_BUF = 4_096, 512
#: EMIT-2, ZMQ-7: records held at once, queued and unacknowledged together. Past it, `emit` stops
#: reading standard input until there is room (SPEC.md's appendix: it waits, and drops nothing).
HELD_MOST = 32_768
#: Section 1's members, in the order of its table, which is ENC-5's order.
MEMBERS = ("time", "application_name", "environment_name", "log_event", "trace_id", "file_path", "host_ip", "data")
TEXT_FIELDS = MEMBERS[1:7]
#: REC-8, REC-11, REC-13.
MAX_TEXT_BYTES, MAX_DATA_DEPTH, MIN_INTEGER, MAX_INTEGER = 1_024, 64, -(2**63), 2**64 - 1
#: REC-7: the first and the last microsecond a record may name, counted from 0001-01-01T00:00:00Z.
LAST_MICROSECOND = (date(9999, 12, 31).toordinal() * 86_400 * 10**6) - 1


class Refused(Exception):
    """A record that breaks ``rule``; ``reason`` names the field and shows the bad value."""

    def __init__(self, rule: str, reason: str) -> None:
        super().__init__(f"{rule}: {reason}")
        self.rule, self.reason = rule, reason


# --- Sections 1 and 2: a line in, a record out, or Refused ------------------------------------


def read_json(line: bytes) -> Any:
    """ENC-1, ENC-2, REC-4, REC-13: one JSON text in UTF-8, read with nothing lost or guessed."""
    if line.startswith(b"\xef\xbb\xbf"):
        raise Refused("ENC-1", "a byte order mark")
    try:
        text = line.decode("utf-8")  # strict: overlong forms, encoded surrogates, cut sequences fail
    except UnicodeDecodeError as error:
        raise Refused("ENC-1", f"not UTF-8 at byte {error.start}: {line[error.start:error.start + 4]!r}") from None
    if text.rstrip("\n") == "":
        raise Refused("ENC-2", "an empty line")
    try:
        return json.loads(text, object_pairs_hook=unique_members, parse_constant=not_a_number,
                          parse_float=finite_float, parse_int=integer_in_range)
    except json.JSONDecodeError as error:
        raise Refused("ENC-2", f"not one JSON text: {error}") from None
    except RecursionError:
        raise Refused("REC-11", "nested too deep to read") from None


def unique_members(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """REC-4: a name twice in one object, at any depth, is refused, not resolved."""
    members: dict[str, Any] = {}
    for name, value in pairs:
        if name in members:
            raise Refused("REC-4", f"member {name!r} twice in one object")
        members[name] = value
    return members


def not_a_number(word: str) -> Any:
    """REC-13: NaN, Infinity and -Infinity are not JSON."""
    raise Refused("REC-13", f"{word} is not a JSON number")


def finite_float(lexeme: str) -> float:
    """REC-13: a number with a fraction or an exponent must be finite as an IEEE 754 binary64."""
    value = float(lexeme)
    if not math.isfinite(value):
        raise Refused("REC-13", f"{lexeme[:40]} is not finite as a binary64")
    return value


def integer_in_range(lexeme: str) -> int:
    """REC-13: an integer literal lies between -2^63 and 2^64-1 (its length is checked first: Python
    refuses to read integers of thousands of digits)."""
    if len(lexeme.lstrip("-")) > 20 or not MIN_INTEGER <= int(lexeme) <= MAX_INTEGER:
        raise Refused("REC-13", f"integer {lexeme[:40]} outside -2^63 to 2^64-1")
    return int(lexeme)


def check_members(value: Any) -> dict[str, Any]:
    """REC-1, REC-3, REC-2, VER-1, VER-2: an object with the seven required members, perhaps data and
    v, and nothing else."""
    if not isinstance(value, dict):
        raise Refused("REC-1", f"a JSON {type(value).__name__}, not an object")
    unknown = [name for name in value if name not in MEMBERS and name != "v"]
    if unknown:
        raise Refused("REC-3", f"unknown member {unknown[0]!r}")
    missing = [name for name in MEMBERS[:7] if name not in value]
    if missing:
        raise Refused("REC-2", f"member {missing[0]!r} missing")
    if "v" in value:
        version = value["v"]
        if type(version) is not int:
            raise Refused("VER-1", f"v is {version!r}, not the integer 1")
        if version != 1:
            raise Refused("VER-2", f"version {version} is not implemented; this is version 1")
    return value


def check_characters(value: Any) -> None:
    """REC-12: no U+0000 and no surrogate in any string, member names included, at any depth (walked
    without recursion: json reads nesting as deep as Python's stack allows)."""
    waiting = [(value, "record")]
    while waiting:
        item, path = waiting.pop()
        if isinstance(item, dict):
            waiting += [(name, f"a member name in {path}") for name in item]
            waiting += [(inner, f"{path}.{name}") for name, inner in item.items()]
        elif isinstance(item, list):
            waiting += [(inner, f"{path}[{n}]") for n, inner in enumerate(item)]
        elif isinstance(item, str) and (bad := _UNSTORABLE.search(item)):
            raise Refused("REC-12", f"{path} holds U+{ord(bad.group()):04X}")


#: REC-12: what PostgreSQL cannot store (U+0000) and what is no Unicode character (a lone surrogate).
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


#: REC-5: RFC 3339's date-time, offset required; T and Z in either case; ASCII digits only.
_DATE_TIME = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})[Tt]([0-9]{2}):([0-9]{2}):([0-9]{2})(?:\.([0-9]+))?"
                        r"(?:[Zz]|([+-])([0-9]{2}):([0-9]{2}))")


def instant(text: Any) -> int:
    """REC-5, REC-6, REC-7: the microsecond ``text`` names, counted from 0001-01-01T00:00:00Z;
    digits after the sixth cut, never rounded; a second of 60 is the next minute's 00."""
    match = _DATE_TIME.fullmatch(text) if isinstance(text, str) else None
    if match is None:
        raise Refused("REC-5", f"time {text!r} is not an RFC 3339 date-time with an offset")
    year, month, day, hour, minute, second = (int(match[n]) for n in range(1, 7))
    fraction, sign, offset_hours, offset_minutes = match[7] or "", match[8], match[9], match[10]
    try:  # year 0 is a leap year, as 2000 is; REC-7 refuses it below unless its offset brings it into year 1
        calendar_day = date(year or 2000, month, day)
    except ValueError:
        raise Refused("REC-5", f"time {text!r}: no such date") from None
    # Days since 0001-01-01 (day 0); year 0's 366 days come before it.
    ordinal = calendar_day.toordinal()
    day_number = ordinal - 1 if year else ordinal - date(2000, 1, 1).toordinal() - 366
    if hour > 23 or minute > 59 or second > 60 or (sign and (int(offset_hours) > 23 or int(offset_minutes) > 59)):
        raise Refused("REC-5", f"time {text!r}: no such time of day or offset")
    offset = (int(offset_hours) * 60 + int(offset_minutes)) * (-1 if sign == "-" else 1) if sign else 0
    seconds = day_number * 86_400 + hour * 3_600 + (minute - offset) * 60 + second
    micro = seconds * 10**6 + int((fraction + "000000")[:6])
    if not 0 <= micro <= LAST_MICROSECOND:
        raise Refused("REC-7", f"time {text!r} lies outside years 1 to 9999 in UTC")
    return micro


def canonical_time(micro: int) -> str:
    """ENC-5 item 3: UTC as YYYY-MM-DDTHH:MM:SS.ffffffZ."""
    t = datetime(1, 1, 1) + timedelta(microseconds=micro)
    return f"{t.year:04d}-{t.month:02d}-{t.day:02d}T{t.hour:02d}:{t.minute:02d}:{t.second:02d}.{t.microsecond:06d}Z"


def check_text(name: str, value: Any) -> str:
    """REC-8: a string of 1 to 1,024 bytes in UTF-8."""
    if not isinstance(value, str) or not 1 <= len(value.encode("utf-8")) <= MAX_TEXT_BYTES:
        shown = value[:40] + "..." if isinstance(value, str) and len(value) > 40 else value
        raise Refused("REC-8", f"{name} is {shown!r}: not a string of 1 to {MAX_TEXT_BYTES} bytes")
    return value


def canonical_ip(text: Any) -> str:
    """REC-9: IPv4 dotted-decimal without leading zeros, or IPv6 in RFC 4291's text forms, without a
    zone or prefix; written the way RFC 5952 recommends, IPv4-mapped ones in mixed notation."""
    try:
        if not isinstance(text, str) or not text.isascii() or "%" in text or "/" in text:
            raise ValueError
        address = ipaddress.ip_address(text)
    except ValueError:
        raise Refused("REC-9", f"host_ip {text!r} is not an IPv4 or IPv6 address") from None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return f"::ffff:{address.ipv4_mapped}"  # RFC 5952 §5 (Python 3.11 writes ::ffff:c000:201)
    return str(address)  # Python writes RFC 5952's form: lower case, the longest zero run as ::


def check_data(value: Any) -> Any:
    """REC-10, REC-11: data is an object or null, at most 64 levels deep (data itself is level 1)."""
    if value is not None and not isinstance(value, dict):
        raise Refused("REC-10", f"data is a JSON {type(value).__name__}, not an object or null")
    level, deepest = [(value, 1)], 0
    while level:
        item, depth = level.pop()
        if isinstance(item, (dict, list)):
            deepest = max(deepest, depth)
            level += [(inner, depth + 1) for inner in (item.values() if isinstance(item, dict) else item)]
    if deepest > MAX_DATA_DEPTH:
        raise Refused("REC-11", f"data nests {deepest} levels deep, over {MAX_DATA_DEPTH}")
    return value


def validate(line: bytes) -> dict[str, Any]:
    """EMIT-1: the record ``line`` holds, its members in ENC-5's order and form, or Refused naming the
    first rule it breaks."""
    if len(line) > MAX_RECORD_BYTES:
        raise Refused("ENC-3", f"a line of {len(line):,} bytes or more, over {MAX_RECORD_BYTES:,}")
    value = check_members(read_json(line))
    check_characters(value)
    micro = instant(value["time"])
    texts = {name: check_text(name, value[name]) for name in TEXT_FIELDS}
    return {"time": canonical_time(micro), **texts, "host_ip": canonical_ip(value["host_ip"]),
            "data": check_data(value.get("data"))}


# --- Section 3: the emitter, whatever its transport -------------------------------------------


class Lines:
    """Standard input cut into numbered lines as it comes. A line longer than MAX_RECORD_BYTES is kept
    only to its first MAX_RECORD_BYTES + 1 bytes, enough to know it is too long (ENC-3)."""

    def __init__(self, fd: int) -> None:
        self.fd, self.ended, self.number = fd, False, 0
        self._unfinished = b""

    def read(self) -> list[tuple[int, bytes]]:
        chunk = os.read(self.fd, 1 << 16)
        if not chunk:
            self.ended = True
            pieces, self._unfinished = ([self._unfinished] if self._unfinished else []), b""
        else:
            *pieces, self._unfinished = (self._unfinished + chunk).split(b"\n")
            pieces = [piece + b"\n" for piece in pieces]
            self._unfinished = self._unfinished[:MAX_RECORD_BYTES + 1]
        numbered = []
        for piece in pieces:
            self.number += 1
            numbered.append((self.number, piece[:MAX_RECORD_BYTES + 1]))
        return numbered


class Emitter:
    """What every emitter does: validate, refuse, encode, queue in order (sections 2, 3 and 9)."""

    def __init__(self) -> None:
        self.lines = Lines(sys.stdin.fileno())
        self.queue: deque[bytes] = deque()  # canonical lines, LF included, oldest first
        self.refusals = 0

    def line_limit(self) -> int:
        """The longest canonical line this transport sends, LF included."""
        return MAX_RECORD_BYTES

    def prepare(self, number: int, line: bytes) -> bytes | None:
        """EMIT-1, ENC-4: the canonical line to send for input line ``number``, or None if refused."""
        try:
            canonical = self.encode(validate(line))
            self.check_size(canonical)
        except Refused as refusal:
            self.refuse(number, refusal)
            return None
        return canonical

    def encode(self, record: dict[str, Any]) -> bytes:
        """ENC-5: members in the table's order (validate made them so), no whitespace, strings as UTF-8
        with only " \\ and U+0000 to U+001F escaped (the short forms where they exist, else \\u00xx),
        integers as digits, other numbers in their shortest round-trip form. json.dumps does all of
        that with these arguments, and data keeps the order it came in."""
        return json.dumps(record, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode() + b"\n"

    def check_size(self, line: bytes) -> None:
        """FIFO-2, FIFO-3, ZMQ-8: a line over the transport's limit is refused whole, never cut."""
        if len(line) > self.line_limit():
            raise Refused(self.size_rule(), f"a canonical line of {len(line):,} bytes, over {self.line_limit():,}")

    def size_rule(self) -> str:
        return "ENC-3"

    def refuse(self, number: int, refusal: Refused) -> None:
        """CLI-2, EMIT-1: the line by number and the rule it breaks; nothing of it is sent."""
        self.refusals += 1
        print(f"emit: line {number}: {refusal.rule}: {refusal.reason}", file=sys.stderr, flush=True)

    def read_input(self) -> None:
        """Every line standard input has for us now, refused or queued in order (EMIT-4)."""
        for number, line in self.lines.read():
            canonical = self.prepare(number, line)
            if canonical is not None:
                self.enqueue(canonical)

    def enqueue(self, line: bytes) -> None:
        """EMIT-4: at the back; nothing overtakes a record already waiting."""
        self.queue.append(line)

    def held(self) -> int:
        return len(self.queue)

    def has_room(self) -> bool:
        """EMIT-2, ZMQ-7: read on only while what is held stays within its bound."""
        return self.held() < HELD_MOST

    def exit_status(self) -> int:
        return 1 if self.refusals else 0


# --- Section 4: the FIFO transport --------------------------------------------------------------


class FifoEmitter(Emitter):
    #: FIFO-4: how often to try again to open a FIFO that has no reader (or does not exist yet).
    RETRY_S = 0.02

    def __init__(self, path: str, portable: bool) -> None:
        super().__init__()
        self.path, self.portable = path, portable
        self.fd: int | None = None
        self.pipe_full = False

    def line_limit(self) -> int:
        """FIFO-2, FIFO-3: PIPE_BUF, or 512 bytes in the portable profile."""
        return PORTABLE_PIPE_BUF if self.portable else PIPE_BUF

    def size_rule(self) -> str:
        return "FIFO-3" if self.portable else "FIFO-2"

    def ignore_sigpipe(self) -> None:
        """FIFO-5: a reader that goes away is EPIPE to handle, not a signal to die of."""
        signal.signal(signal.SIGPIPE, signal.SIG_IGN)

    def open(self) -> bool:
        """FIFO-4: open without blocking; with no reader (ENXIO) or no FIFO yet (ENOENT), try later."""
        try:
            self.fd = os.open(self.path, os.O_WRONLY | os.O_NONBLOCK | os.O_CLOEXEC)
        except OSError as error:
            if error.errno in (errno.ENXIO, errno.ENOENT):
                return False
            raise
        return True

    def write(self, line: bytes) -> bool:
        """FIFO-2, FIFO-5: the whole line in one write(). A write of at most PIPE_BUF bytes to a
        non-blocking pipe writes all or nothing: False when it wrote nothing and must go again."""
        assert self.fd is not None
        try:
            os.write(self.fd, line)
        except BlockingIOError:  # EAGAIN: the pipe is full; wait until it is writable
            self.pipe_full = True
            return False
        except BrokenPipeError:  # EPIPE: the reader went away; open again once another comes
            os.close(self.fd)
            self.fd = None
            return False
        return True

    def hand_over(self, line: bytes) -> bool:
        """FIFO-4, FIFO-6: the FIFO kept open between records, opened when needed."""
        return (self.fd is not None or self.open()) and self.write(line)

    def flush(self) -> None:
        """FIFO-5: the head of the queue leaves it only once written; a failed write is tried again."""
        self.pipe_full = False
        while self.queue and self.hand_over(self.queue[0]):
            self.queue.popleft()

    def run(self) -> int:
        self.ignore_sigpipe()
        while not (self.lines.ended and not self.queue):
            poller = select.poll()
            if not self.lines.ended and self.has_room():
                poller.register(self.lines.fd, select.POLLIN)
            if self.queue and self.pipe_full and self.fd is not None:
                poller.register(self.fd, select.POLLOUT)
            waiting_for_reader = bool(self.queue) and self.fd is None
            ready = {fd for fd, _ in poller.poll(self.RETRY_S * 1000 if waiting_for_reader else None)}
            if self.lines.fd in ready:
                self.read_input()
            self.flush()
        return self.exit_status()


# --- Section 5: the ZeroMQ transport --------------------------------------------------------------

#: ZMQ-3: the protocol tag, LD and the version.
TAG = b"LD1"
#: ZMQ-12: a message's bounds; this emitter packs at most 64 records a message, so that a window of
#: 256 records is four messages, each with its own timer.
MAX_MESSAGE_BYTES, MESSAGE_RECORDS = 1_048_576, 64


@dataclass(eq=False)
class Message:
    first_seq: int
    records: list[bytes]  # canonical JSON texts, without LF
    sent_at: float = 0.0
    sends: int = 0
    in_flight: bool = False  # sent and counted in the window; False while it waits to go (again)


class ZmqEmitter(Emitter):
    """ZMQ-13, ZMQ-14 and ZMQ-15 in the manner of TCP (RFC 5681, RFC 6298): a window of records,
    a retransmission timeout that follows measured round trips, and backoff."""

    #: ZMQ-13: the window's start and its documented most, in records.
    WINDOW_START, WINDOW_MOST = 256, 8_192
    #: ZMQ-14: the RTO before the first sample, its floor and cap, and the clock granularity G, in seconds.
    #: The floor is twice RFC 6298's 1 s: a collector's round trip includes its database's commit.
    RTO_FIRST, RTO_FLOOR, RTO_CAP, CLOCK_G = 3.0, 2.0, 60.0, 0.01
    #: ZMQ-9: heartbeats, so that a dead peer is noticed within seconds (milliseconds).
    HEARTBEAT_IVL_MS, HEARTBEAT_TIMEOUT_MS = 1_000, 5_000
    #: How soon to try again when ZeroMQ's own queue is full.
    RETRY_S = 0.05

    def __init__(self, endpoints: list[str], identity: bytes | None) -> None:
        super().__init__()
        self.session = self.new_session()
        self.next_seq = 1
        self.messages: dict[int, Message] = {}  # every unacknowledged message, by first seq, oldest first
        self.unsent: deque[Message] = deque()  # of those, the ones to send (again), oldest first
        self.outstanding = 0  # records in flight: sent and not acknowledged (ZMQ-13)
        self.window = self.WINDOW_START
        self.rto, self.srtt, self.rttvar = self.RTO_FIRST, 0.0, 0.0
        self.sampled = False
        self.context: zmq.Context[zmq.Socket[bytes]] = zmq.Context()
        self.dealer = self.context.socket(zmq.DEALER)  # ZMQ-1
        self.dealer.setsockopt(zmq.LINGER, 0)
        self.dealer.setsockopt(zmq.HEARTBEAT_IVL, self.HEARTBEAT_IVL_MS)
        self.dealer.setsockopt(zmq.HEARTBEAT_TIMEOUT, self.HEARTBEAT_TIMEOUT_MS)
        if identity is not None:
            self.dealer.setsockopt(zmq.ROUTING_ID, identity)
        self.monitor = self.dealer.get_monitor_socket(zmq.EVENT_DISCONNECTED)
        for endpoint in endpoints:
            self.dealer.connect(endpoint)

    def new_session(self) -> bytes:
        """ZMQ-3: 16 random bytes, new at each start, so that sequence numbers never repeat under one."""
        return os.urandom(16)

    def size_rule(self) -> str:
        return "ZMQ-8"

    def held(self) -> int:
        """ZMQ-7: queued and unacknowledged records, together."""
        return len(self.queue) + sum(len(message.records) for message in self.messages.values())

    # ZMQ-13: the window.

    def room(self) -> int:
        """ZMQ-13: how many more records the window lets out now."""
        return self.window - self.outstanding

    def may_send(self, message: Message) -> bool:
        """ZMQ-13: within the window (one message always may go, so that a message larger than what is
        left of the window is not kept back for ever)."""
        return self.outstanding == 0 or len(message.records) <= self.room()

    def pack(self) -> Message:
        """ZMQ-3, ZMQ-12: the next records, numbered on from the last, within the message's bounds and
        what is left of the window."""
        most = min(MESSAGE_RECORDS, max(1, self.room()))
        records: list[bytes] = []
        size = 0
        while self.queue and len(records) < most and size + len(self.queue[0]) <= MAX_MESSAGE_BYTES:
            size += len(self.queue[0])
            records.append(self.queue.popleft()[:-1])  # a frame needs no LF
        message = Message(self.next_seq, records)
        self.next_seq += len(records)  # 2^63-1 (ZMQ-3) lies 290,000 years away at a million records a second
        self.messages[message.first_seq] = message
        return message

    def transmit(self, message: Message) -> bool:
        """Send ``message`` and start its timer; it counts in the window until acknowledged. False if
        ZeroMQ's queue is full (no peer yet, or a slow one): it is tried again soon."""
        if not self.send_frames(message):
            return False
        message.sent_at, message.sends = time.monotonic(), message.sends + 1
        if not message.in_flight:
            message.in_flight, self.outstanding = True, self.outstanding + len(message.records)
        return True

    def send_frames(self, message: Message) -> bool:
        """ZMQ-3: LD1 | session | first seq, 8 bytes big-endian | one frame per record."""
        frames = [TAG, self.session, message.first_seq.to_bytes(8, "big"), *message.records]
        try:
            self.dealer.send_multipart(frames, flags=zmq.NOBLOCK)
        except zmq.Again:
            return False
        return True

    def send_what_the_window_allows(self) -> bool:
        """Messages to send again first, oldest first, then new ones; False if ZeroMQ refused one."""
        while True:
            if not self.unsent and self.queue and self.room() > 0:
                self.unsent.append(self.pack())
            if not self.unsent or not self.may_send(self.unsent[0]):
                return True
            if not self.transmit(self.unsent[0]):
                return False
            self.unsent.popleft()

    # ZMQ-4, ZMQ-5, ZMQ-14: acknowledgements.

    def acknowledged(self, frames: list[bytes]) -> None:
        """ZMQ-4: LD1 | session | first seq | count. The message it answers is settled; a round trip
        is measured only on a message sent once (Karn); the window grows (ZMQ-13)."""
        if len(frames) != 4 or frames[0] != TAG or frames[1] != self.session:
            return  # not an acknowledgement of ours
        first, count = int.from_bytes(frames[2], "big"), int.from_bytes(frames[3], "big")
        message = self.messages.get(first)
        if message is None or len(message.records) != count:
            return  # a copy's acknowledgement, after the first settled it
        del self.messages[first]
        if message.in_flight:
            self.outstanding -= count
        else:
            self.unsent.remove(message)
        if message.sends == 1:
            round_trip = time.monotonic() - message.sent_at
            self.grow_window(count, round_trip)
            self.measure(round_trip)

    def grow_window(self, count: int, round_trip: float) -> None:
        """ZMQ-13: by what was acknowledged, unless the round trip took a quarter of the RTO or more:
        a window that grows then only fills the collector's queue."""
        if round_trip < self.rto / 4:
            self.window = min(self.WINDOW_MOST, self.window + count)

    def measure(self, r: float) -> None:
        """ZMQ-14: RFC 6298 §2, the RTO held between its floor and its cap."""
        if not self.sampled:
            self.srtt, self.rttvar, self.sampled = r, r / 2, True
        else:
            self.rttvar = 0.75 * self.rttvar + 0.25 * abs(self.srtt - r)
            self.srtt = 0.875 * self.srtt + 0.125 * r
        self.rto = min(self.RTO_CAP, max(self.RTO_FLOOR, self.srtt + max(self.CLOCK_G, 4 * self.rttvar)))

    # ZMQ-5, ZMQ-15: what was not acknowledged.

    def deadline(self) -> float | None:
        """ZMQ-14: each message's timer runs from when it was last sent, for the RTO as it is now."""
        sent = [message.sent_at for message in self.messages.values() if message.in_flight]
        return min(sent) + self.rto if sent else None

    def expire(self, now: float) -> None:
        """ZMQ-15: when a timer runs out, that message (and only that one) goes again, the RTO doubles
        and the window falls back to its start. The other timers now run for the doubled RTO: a
        collector that is slow but loses nothing gets one copy per timeout, each twice as late."""
        late = [m for m in self.messages.values() if m.in_flight and m.sent_at + self.rto <= now]
        if late:
            self.send_again(min(late, key=lambda message: message.sent_at))
            self.back_off()

    def send_again(self, message: Message) -> None:
        """ZMQ-5: the same session, sequence number and records, at once."""
        if not self.transmit(message):
            message.sent_at = time.monotonic()  # ZeroMQ's queue is full: its timer runs again all the same

    def back_off(self) -> None:
        """ZMQ-15, RFC 6298 §5.5: double the RTO, up to its cap; ZMQ-13: the window to its start."""
        self.rto = min(self.RTO_CAP, self.rto * 2)
        self.window = self.WINDOW_START

    def connection_lost(self) -> None:
        """ZMQ-15: every unacknowledged message goes again, oldest first, as the window (back at its
        start) allows; a lost connection is not congestion, so the RTO stays."""
        for message in self.messages.values():
            message.in_flight = False
        self.outstanding = 0
        self.unsent = deque(self.messages.values())
        self.window = self.WINDOW_START

    def watch_connection(self) -> None:
        while self.monitor.poll(0):
            if recv_monitor_message(self.monitor)["event"] == zmq.EVENT_DISCONNECTED:
                self.connection_lost()

    def receive_acknowledgements(self) -> None:
        while self.dealer.poll(0):
            self.acknowledged(self.dealer.recv_multipart())

    def run(self) -> int:
        """CLI-2: until every record read is acknowledged."""
        poller = zmq.Poller()
        poller.register(self.dealer, zmq.POLLIN)
        poller.register(self.monitor, zmq.POLLIN)
        try:
            while not (self.lines.ended and not self.queue and not self.messages):
                sent_all = self.send_what_the_window_allows()
                reading = not self.lines.ended and self.has_room()
                poller.register(self.lines.fd, zmq.POLLIN if reading else 0)  # 0: not now
                deadline = self.deadline()
                wait_s = None if deadline is None else max(0.0, deadline - time.monotonic())
                if not sent_all:  # ZeroMQ's queue was full: try again soon
                    wait_s = self.RETRY_S if wait_s is None else min(wait_s, self.RETRY_S)
                ready = dict(poller.poll(None if wait_s is None else int(wait_s * 1000) + 1))
                self.receive_acknowledgements()
                self.watch_connection()
                if ready.get(self.lines.fd):
                    self.read_input()
                self.expire(time.monotonic())
        finally:
            self.context.destroy(linger=0)  # all is acknowledged, or the run failed: nothing to wait for
        return self.exit_status()


# --- Section 9: the command line --------------------------------------------------------------------


def routing_identity(text: str) -> bytes:
    """ZMQ-2: 1 to 255 bytes, not beginning with a zero byte (ZeroMQ keeps those)."""
    identity = os.fsencode(text)
    if not 1 <= len(identity) <= 255 or identity[0] == 0:
        raise argparse.ArgumentTypeError("an identity is 1 to 255 bytes and does not begin with a zero byte")
    return identity


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="emit", description="Send NDJSON records from standard input.")
    parser.add_argument("command", choices=["emit"])
    transport = parser.add_mutually_exclusive_group(required=True)
    transport.add_argument("--fifo", metavar="PATH")
    transport.add_argument("--zmq", metavar="ENDPOINT", action="append")
    parser.add_argument("--portable", action="store_true", help="512 bytes for PIPE_BUF (FIFO-3)")
    parser.add_argument("--identity", type=routing_identity, help="the DEALER's routing identity (ZMQ-2)")
    return parser.parse_args(argv)


def main(fifo: type[FifoEmitter] = FifoEmitter, zmq_emitter: type[ZmqEmitter] = ZmqEmitter) -> int:
    """Run `emit`; a known-bad program passes the class it overrides one method of."""
    args = parse(sys.argv[1:])
    emitter = fifo(args.fifo, args.portable) if args.fifo is not None else zmq_emitter(args.zmq, args.identity)
    return emitter.run()


if __name__ == "__main__":
    sys.exit(main())
