"""Fault: a record longer than PIPE_BUF is written anyway, in one non-atomic write (breaks FIFO-2)."""

import sys

from logduct import cli
from logduct.fifo import FifoWriter

FifoWriter.check_size = lambda self, line: None  # type: ignore[method-assign]
sys.exit(cli.main())
