"""Fault: every rejection is stored, however fast they come: any writer can fill the disk (breaks COL-8)."""

import sys

from logduct import cli
from logduct.quarantine import QuarantineBudget

QuarantineBudget.admit = lambda self, rule, raw_bytes, now: True  # type: ignore[method-assign]
sys.exit(cli.main())
