"""Fault: the retransmission timeout starts at, and never falls below, 100 ms, a LAN's round trip, under
RFC 6298's floor of 1 s: a slow collector is sent copies while it still works on the first (breaks ZMQ-14)."""

import sys

from conforming_emitter import ZmqEmitter, main


class TimesOutTooSoon(ZmqEmitter):
    RTO_FIRST = RTO_FLOOR = 0.1  # the fault; the backoff, one message at a time, is as it should be


sys.exit(main(zmq_emitter=TimesOutTooSoon))
