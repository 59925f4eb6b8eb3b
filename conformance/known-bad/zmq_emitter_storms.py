"""Fault: a fixed 2 s timeout that sends every unacknowledged message again, with no backoff and a
window as deep as the queue: a slow collector is buried under copies (breaks ZMQ-15)."""

import sys

from logduct import cli
from logduct.delivery import Window


def expire(self: Window, now: float) -> bool:
    """The fault: every message outstanding for 2 s goes again, all at once, and the timeout stays 2 s."""
    late = [m for m in self._in_flight.values() if m.outstanding and now - m.sent_at >= 2.0]
    for message in late:
        message.outstanding, message.urgent = False, True
        self.records_outstanding -= len(message.records)
    return bool(late)


def timer_deadline(self: Window) -> float | None:
    sent = [m.sent_at for m in self._in_flight.values() if m.outstanding]
    return min(sent) + 2.0 if sent else None


Window.room = lambda self: max(0, 10_000 - self.records_outstanding)  # type: ignore[method-assign]
Window.expire = expire  # type: ignore[method-assign]
Window.timer_deadline = timer_deadline  # type: ignore[method-assign]
sys.exit(cli.main())
