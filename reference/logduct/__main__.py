"""``python -m logduct``: the ``logduct`` command without the console script on PATH."""

import sys

from .cli import main

sys.exit(main())
