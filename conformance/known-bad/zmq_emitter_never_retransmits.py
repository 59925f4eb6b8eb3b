"""Fault: ZeroMQ queues and reconnects by itself, so a message is sent once and, when it should go again,
only its timer restarted: what a collector loses when it dies is never sent again (breaks ZMQ-5)."""

import sys

from conforming_emitter import Message, ZmqEmitter, main


class NeverRetransmits(ZmqEmitter):
    def send_frames(self, message: Message) -> bool:
        if message.sends:
            return True  # the fault: "ZeroMQ has it already"
        return super().send_frames(message)


sys.exit(main(zmq_emitter=NeverRetransmits))
