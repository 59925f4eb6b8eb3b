"""Fault: a message of any number of records and any size is taken whole (breaks ZMQ-12)."""

import sys

from logduct import cli, delivery

delivery.MAX_MESSAGE_RECORDS = 10**9
delivery.MAX_MESSAGE_BYTES = 10**12
sys.exit(cli.main())
