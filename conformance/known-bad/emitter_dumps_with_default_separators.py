"""Fault: records are written by json.dumps with its default separators, ", " and ": " (breaks ENC-5: no whitespace)."""

import json
import sys
from typing import Any

from conforming_emitter import FifoEmitter, ZmqEmitter, main


def encode(self: Any, record: dict[str, Any]) -> bytes:
    return json.dumps(record, ensure_ascii=False).encode() + b"\n"  # the fault: separators=(",", ":") left out


# Over either transport: the encoding is the emitter's, not the transport's.
sys.exit(main(fifo=type("Fifo", (FifoEmitter,), {"encode": encode}),
              zmq_emitter=type("Zmq", (ZmqEmitter,), {"encode": encode})))
