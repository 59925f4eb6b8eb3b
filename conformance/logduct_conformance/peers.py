"""The suite's own peers: they send exactly the bytes a check writes and report exactly what comes back,
so that a check sees the wire, not an implementation's word for it."""

from __future__ import annotations

import uuid

import zmq

from logduct.delivery import parse_ack, parse_message

from .processes import wait_for


class RawDealer:
    """The suite's own DEALER: sends exactly the frames a test writes, and reads acknowledgements."""

    def __init__(self, endpoint: str) -> None:
        self.context: zmq.Context[zmq.Socket[bytes]] = zmq.Context()
        self.socket = self.context.socket(zmq.DEALER)
        self.socket.setsockopt(zmq.LINGER, 0)
        self.socket.connect(endpoint)

    def send(self, frames: list[bytes]) -> None:
        self.socket.send_multipart(frames)

    def acks(self, n: int, timeout_s: float = 10) -> list[tuple[uuid.UUID, int, int]]:
        got = []
        poller = zmq.Poller()
        poller.register(self.socket, zmq.POLLIN)
        wait_for(lambda: (poller.poll(50) and got.append(parse_ack(self.socket.recv_multipart()))) or len(got) >= n,
                 f"{n} acknowledgements", timeout_s=timeout_s)
        return got

    def close(self) -> None:
        self.socket.close()
        self.context.term()


class RawRouter:
    """The suite's own ROUTER: receives an emitter's messages as frames, and acknowledges only when told."""

    def __init__(self, endpoint: str) -> None:
        self.context: zmq.Context[zmq.Socket[bytes]] = zmq.Context()
        self.socket = self.context.socket(zmq.ROUTER)
        self.socket.setsockopt(zmq.LINGER, 0)
        self.socket.bind(endpoint)
        self.poller = zmq.Poller()
        self.poller.register(self.socket, zmq.POLLIN)

    def receive(self, timeout_s: float = 10) -> tuple[bytes, list[bytes]]:
        """The next message: (routing identity, frames)."""
        if not self.poller.poll(int(timeout_s * 1000)):
            raise TimeoutError(f"no message in {timeout_s} s")
        identity, *frames = self.socket.recv_multipart()
        return identity, frames

    def acknowledge(self, identity: bytes, frames: list[bytes]) -> None:
        """ZMQ-4: the acknowledgement of a well-formed message."""
        self.socket.send_multipart([identity, *parse_message(frames).ack()])

    def close(self) -> None:
        self.socket.close()
        self.context.term()
