"""Fault: when the timeout runs out, every late message goes again and the timeout stays as it was:
a slow collector gets copies of everything it is working on, again and again (breaks ZMQ-15)."""

import sys

from conforming_emitter import ZmqEmitter, main


class Storms(ZmqEmitter):
    def expire(self, now: float) -> None:
        for message in list(self.messages.values()):
            if message.in_flight and message.sent_at + self.rto <= now:
                self.send_again(message)  # the fault: all of them, no backoff, the window as it was


sys.exit(main(zmq_emitter=Storms))
