"""logduct: structured log records from applications to PostgreSQL over a FIFO or ZeroMQ.

The protocol is SPEC.md; every error names the rule it enforces.
"""

from .errors import LogductError, ProtocolError
from .record import MAX_RECORD_BYTES, Record, decode, encode

__all__ = ["MAX_RECORD_BYTES", "LogductError", "ProtocolError", "Record", "decode", "encode"]
__version__ = "0.1.0"
