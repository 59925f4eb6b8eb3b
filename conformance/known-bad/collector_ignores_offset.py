"""Fault: the UTC offset of a time is dropped, the local time stored as if it were UTC (breaks REC-5)."""

import re
import sys

from logduct import cli, rfc3339

original = rfc3339.parse
rfc3339.parse = lambda text: original(re.sub(r"(?:[+-]\d\d:\d\d|[zZ])$", "Z", text))
sys.exit(cli.main())
