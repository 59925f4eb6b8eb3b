"""Fault: given `--zmq` with no endpoint, the collector binds every interface, tcp://*:5570, so that
any host that can reach the machine can write its logs (breaks ZMQ-1: loopback unless told otherwise)."""

import sys

import zmq
from conforming_collector import DEFAULT_ENDPOINT, Collector, main


class BindsEveryInterface(Collector):
    def bind(self, context: zmq.Context[zmq.Socket[bytes]], endpoint: str) -> zmq.Socket[bytes]:
        if endpoint == DEFAULT_ENDPOINT:
            endpoint = "tcp://*:5570"  # the fault: "*", every interface
        return super().bind(context, endpoint)


sys.exit(main(BindsEveryInterface))
