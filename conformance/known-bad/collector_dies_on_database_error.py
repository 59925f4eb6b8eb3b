"""Fault: a database that refuses writes ends the collector, and what it had read is lost (breaks COL-9)."""

import sys

from logduct import cli
from logduct.sink import PostgresSink

PostgresSink._until_done = lambda self, attempt, argument: attempt(argument)  # type: ignore[method-assign]
sys.exit(cli.main())
