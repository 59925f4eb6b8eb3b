"""Fault: the delivery key is not stored, so a resent record is stored again (breaks ZMQ-6)."""

import sys

from logduct import cli, sink

sink._key = lambda delivery: (None, None)  # type: ignore[attr-defined]
sys.exit(cli.main())
