"""Fault: every record is sent at once, however many are unacknowledged: no window (breaks ZMQ-13)."""

import sys

from logduct import cli
from logduct.delivery import Window
from logduct.sending import SendQueue

Window.room = lambda self: 10**9  # type: ignore[method-assign]
SendQueue._make_room = lambda self, deadline: True  # type: ignore[method-assign]  # no bound on the queue either
sys.exit(cli.main())
