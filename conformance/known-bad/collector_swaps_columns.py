"""Fault: log_event and trace_id land in each other's column (breaks PG-1)."""

import sys

from logduct import cli, copy_format

columns = list(copy_format.LOGS_COLUMNS)
i, j = columns.index("log_event"), columns.index("trace_id")
columns[i], columns[j] = columns[j], columns[i]
copy_format.LOGS_COLUMNS = tuple(columns)
sys.exit(cli.main())
