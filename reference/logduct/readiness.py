"""Waiting on every source of a collector at once, whatever its transport.

``zmq.Poller`` (zmq_poll) waits on ZeroMQ sockets and plain file descriptors alike, level-triggered,
so one poll serves every transport: a FIFO's descriptor, a ROUTER socket, a test's pipe.
"""

from __future__ import annotations

from collections.abc import Sequence

import zmq

from .source import Source


class Readiness:
    """The sources, and which of them have input."""

    def __init__(self, sources: Sequence[Source]) -> None:
        self._poller = zmq.Poller()
        self._by_target: dict[object, Source] = {}
        self._also: int | None = None
        for source in sources:
            target = source.poll_target()
            self._by_target[target] = source
            self._poller.register(target, zmq.POLLIN)  # an fd or a socket

    def wait(self, timeout_s: float, also: int | None = None) -> list[Source]:
        """The sources with input, once one has some, ``also`` (a descriptor that is not a source:
        the database's connection) is readable, or ``timeout_s`` has passed."""
        if also != self._also:
            if self._also is not None:
                self._poller.unregister(self._also)
            if also is not None:
                self._poller.register(also, zmq.POLLIN)
            self._also = also
        return [self._by_target[target] for target, _ in self._poller.poll(int(timeout_s * 1000))
                if target != also]
