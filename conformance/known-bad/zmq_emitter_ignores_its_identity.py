"""Fault: --identity is accepted and never set on the socket, so ZeroMQ makes one up (breaks ZMQ-2)."""

import sys

from conforming_emitter import ZmqEmitter, main


class IgnoresItsIdentity(ZmqEmitter):
    def __init__(self, endpoints: list[str], identity: bytes | None) -> None:
        super().__init__(endpoints, None)  # the fault


sys.exit(main(zmq_emitter=IgnoresItsIdentity))
