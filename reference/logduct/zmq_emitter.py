"""The ZeroMQ emitter: every record acknowledged after the collector's commit, or sent again.

Theory of operation. ``send`` validates and encodes in the caller's thread (EMIT-1, ZMQ-8) and puts
the line in a bounded queue; it never touches the socket, since ZeroMQ sockets belong to one thread.
An I/O thread owns the DEALER: it packs queued lines into messages of consecutive sequence numbers
as the ``Window`` makes room (delivery.py: ZMQ-13), one not full at most every ``COALESCE_S``, keeps
each until acknowledged, and sends again what the retransmission timer or a lost connection (a socket
monitor reports it) says may be lost, paced by the window (ZMQ-14, ZMQ-15). The send queue
(sending.py) and the window together hold at most ``queue_limit`` records (ZMQ-7); past that the
overflow policy applies (EMIT-3), as for the
FIFO emitter.
"""

from __future__ import annotations

import math
import os
import sys
import threading
import time

import zmq
from zmq.utils.monitor import recv_monitor_message

from .delivery import MAX_MESSAGE_BYTES, Window
from .errors import ProtocolError
from .record import MAX_RECORD_BYTES, Record, encode
from .sending import EmitterStats, Overflow, SendQueue
from .zmq_transport import Curve, dealer

#: Records per message: few messages at high rates, and an acknowledgement soon at low ones
#: (ZMQ-12 allows up to 1,024).
MESSAGE_RECORDS = 256
#: A message that is not full leaves at most once in this interval; the first after a quiet spell
#: leaves at once. Records logged a millisecond apart then travel twenty to a message, and the
#: emitter's threads wake fifty times a second, not a thousand. That matters beyond the CPU it
#: saves: beside CPU-bound processes of the same session (one Linux autogroup), an emitter waking a
#: thousand times a second left PostgreSQL's backends waiting on the run queue for up to 0.8 s
#: (README, Speed). At 10,000 records a second beside two such processes, p99 emit -> committed was
#: 850-880 ms with no interval, 118-345 with 10 ms, and 116-144 with 20 ms (14 runs). It adds at
#: most 20 ms to a record's way, where the collector's batch waits 100.
COALESCE_S = 0.02
_IDLE_POLL_MS = 100
#: A message is sent a frame at a time through pyzmq's backend, not ``send_multipart``: that checks
#: every frame's type, combines two enum flags and passes through the Python layer's ``send`` (routing
#: ids, groups) per frame, and a record is a frame. Measured here: 0.55 us a record instead of 2.1.
_send_frame = zmq.backend.Socket.send
_MORE = int(zmq.SNDMORE | zmq.NOBLOCK)
_LAST = int(zmq.NOBLOCK)


class ZmqEmitter:
    """Sends records to one or more collectors over ZeroMQ (SPEC.md sections 3 and 5). Thread-safe;
    an ``Emitter``."""

    def __init__(self, endpoints: str | list[str], *, identity: bytes | None = None, queue_limit: int = 10_000,
                 overflow: Overflow = Overflow.DROP_NEWEST, server_key: bytes | None = None,
                 curve: Curve | None = None) -> None:
        self.endpoints = [endpoints] if isinstance(endpoints, str) else list(endpoints)
        self.max_line_bytes = MAX_RECORD_BYTES
        self._window = Window()
        self._next_partial_at = 0.0  # time.monotonic(): when a message that is not full may next leave
        self._wake_r, self._wake_w = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
        # ZMQ-7: queued and unacknowledged records together are bounded.
        self._queue = SendQueue(queue_limit, overflow, unsettled=lambda: self._window.records_in_flight,
                                on_first=self._on_first_line)
        self._changed = self._queue.changed
        self._context: zmq.Context[zmq.Socket[bytes]] = zmq.Context()
        # Made here, so that a bad identity or key fails in the caller, not in the thread.
        self._socket = dealer(self._context, self.endpoints, identity=identity, server_key=server_key, curve=curve)
        self._thread = threading.Thread(target=self._run, name="logduct-zmq-emitter", daemon=True)
        self._thread.start()

    def send(self, record: Record, deadline: float | None = None) -> bool:
        """Queue ``record`` for delivery: True. Dropped because the queue is full: False. TimeoutError
        if ``BLOCK`` waited for room until ``deadline`` (time.monotonic())."""
        return self.send_line(encode(record), deadline)

    def send_line(self, line: bytes, deadline: float | None = None) -> bool:
        """``send`` for a line already in canonical encoding."""
        # ZMQ-8, the emitter's side: refused here rather than sent and cut off (the collector's side
        # is ZMQ_MAXMSGSIZE, zmq_transport.ZmqSource).
        if len(line) > self.max_line_bytes:
            raise ProtocolError("ZMQ-8", f"record is {len(line):,} bytes; the most is {self.max_line_bytes:,} "
                                "(refused, nothing sent)")
        return self._queue.put(line[:-1] if line.endswith(b"\n") else line, deadline)

    def stats(self) -> EmitterStats:
        with self._changed:
            return EmitterStats(sent=self._window.acknowledged, queued=self._queue.outstanding(),
                                dropped=self._queue.dropped, resent=self._window.retransmitted)

    def flush(self, timeout_s: float | None = None) -> bool:
        """Wait until every record sent so far is acknowledged; False if ``timeout_s`` passed first."""
        return self._queue.wait_until_settled(timeout_s)

    def close(self, timeout_s: float | None = 5.0) -> int:
        """Wait up to ``timeout_s`` for acknowledgements, then close. Returns the records not acknowledged."""
        self.flush(timeout_s)
        lost = self._queue.close()
        self._wake()
        self._thread.join()
        os.close(self._wake_r)
        os.close(self._wake_w)
        self._context.term()
        self._queue.report_loss(lost, f"not acknowledged by {', '.join(self.endpoints)}")
        return lost

    def _on_first_line(self) -> None:
        """The queue's first line: wake the I/O thread, unless it already sleeps only until the next
        message may leave (called holding the lock, as the I/O thread's choice of timeout is)."""
        if time.monotonic() >= self._next_partial_at:
            self._wake()

    def _wake(self) -> None:
        try:
            os.write(self._wake_w, b"!")
        except BlockingIOError:
            pass  # already awake-pending

    def _run(self) -> None:
        socket = self._socket
        monitor = socket.get_monitor_socket(zmq.EVENT_DISCONNECTED | zmq.EVENT_HANDSHAKE_SUCCEEDED)
        # A message sent after a connection broke but before the monitor said so can go into the dead
        # connection; so what is outstanding is sent again at the break and again at the next
        # handshake (a first connection, with nothing before it, is no such case).
        broken = False
        poller = zmq.Poller()
        poller.register(monitor, zmq.POLLIN)
        poller.register(self._wake_r, zmq.POLLIN)
        try:
            while True:
                with self._changed:
                    if self._queue.closed:
                        return
                    blocked = self._send_what_the_window_allows(socket)
                    wait_ms = self._wait_ms()
                poller.register(socket, zmq.POLLIN | (zmq.POLLOUT if blocked else 0))
                events = dict(poller.poll(wait_ms))
                if self._wake_r in events:
                    try:
                        os.read(self._wake_r, 4096)
                    except BlockingIOError:
                        pass
                if monitor in events:
                    handshake = recv_monitor_message(monitor)["event"] == zmq.EVENT_HANDSHAKE_SUCCEEDED
                    if not handshake or broken:
                        with self._changed:  # ZMQ-15: what was outstanding may have died with the connection
                            self._window.connection_lost()
                    broken = not handshake
                if events.get(socket, 0) & zmq.POLLIN:
                    self._take_acknowledgements(socket)
        finally:
            socket.disable_monitor()
            monitor.close(0)
            socket.close(0)

    def _send_what_the_window_allows(self, socket: zmq.Socket[bytes]) -> bool:
        """Send, oldest first, what the window lets out, opening messages from the queue as it makes
        room; called holding the lock. True if the socket refused one (no collector, or it is behind)."""
        window = self._window
        window.expire(time.monotonic())  # ZMQ-15: back off, and send what is outstanding again
        while True:
            first = window.next_to_send()
            if first is None:
                if not self._queue.lines or not window.room() or self._holding_partial():
                    return False
                first = window.open(self._next_message_lines(window.room()))
                self._next_partial_at = time.monotonic() + COALESCE_S
            frames = window.frames(first)
            try:  # once ZeroMQ takes a message's first frame it takes the rest (it queues whole messages)
                _send_frame(socket, frames[0], _MORE)
            except zmq.Again:
                return True
            for frame in frames[1:-1]:
                _send_frame(socket, frame, _MORE)
            _send_frame(socket, frames[-1], _LAST)
            window.sent(first, time.monotonic())

    def _next_message_lines(self, room: int) -> list[bytes]:
        """Queued lines for one message: as many as the window has room for, within ZMQ-12 (the
        emitter's side; the collector's is delivery.IncomingMessage)."""
        queued = self._queue.lines
        lines = [queued.popleft()]
        size = len(lines[0])
        while queued and len(lines) < min(room, MESSAGE_RECORDS) and size + len(queued[0]) <= MAX_MESSAGE_BYTES:
            size += len(queued[0])
            lines.append(queued.popleft())
        return lines

    def _holding_partial(self) -> bool:
        """Whether the queued lines, too few to fill a message, wait for COALESCE_S to pass."""
        queued = len(self._queue.lines)
        return queued < min(MESSAGE_RECORDS, self._window.room()) and time.monotonic() < self._next_partial_at

    def _wait_ms(self) -> int:
        """How long the poll may sleep: until the retransmission timer runs out or the next message
        may leave, at most _IDLE_POLL_MS."""
        now = time.monotonic()
        wait_s = _IDLE_POLL_MS / 1000
        timer = self._window.timer_deadline()
        if timer is not None:
            wait_s = min(wait_s, timer - now)
        if self._next_partial_at > now:  # _wake let lines arriving until then sleep
            wait_s = min(wait_s, self._next_partial_at - now)
        return max(0, math.ceil(wait_s * 1000))

    def _take_acknowledgements(self, socket: zmq.Socket[bytes]) -> None:
        settled = 0
        with self._changed:
            while True:
                try:
                    frames = socket.recv_multipart(zmq.NOBLOCK)
                except zmq.Again:
                    break
                try:
                    settled += self._window.acknowledge(frames, time.monotonic())
                except ProtocolError as error:
                    print(f"logduct: ignoring a bad acknowledgement: {error}", file=sys.stderr)
            if settled:
                self._changed.notify_all()
