"""No process of the bench outlives it: each child is killed by the kernel when the bench dies.

    python -m bench.orphans PARENT_PID COMMAND [ARG...]

runs COMMAND (by exec, so it keeps this process's id) with Linux's parent-death signal set: when
PARENT_PID dies, however it dies, even by SIGKILL from a test's timeout, the kernel sends COMMAND
SIGKILL. The bench starts ``logduct collect`` and the peers this way; its own workers call
``die_with_parent`` themselves, which spares them a second interpreter start.

Cleaning up in ``finally`` blocks and signal handlers (``bench.__main__`` does that too) covers
SIGTERM and Ctrl-C, but not SIGKILL: nothing runs in a process killed so. Before this, four
``logduct collect`` were found running with parent PID 1 after ``tests/test_bench.py`` timed out.
SIGKILL, not SIGTERM, because a collector told to stop commits first, and waits out a database that
may be going away with the bench (COL-9).
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys

PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>


def die_with_parent(parent_pid: int) -> None:
    """Have the kernel SIGKILL this process when ``parent_pid``, its parent, dies; exit now if it
    already has (it may have died between our fork and this call). Elsewhere than Linux, nothing."""
    if not sys.platform.startswith("linux"):
        return
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_PDEATHSIG) failed")
    if os.getppid() != parent_pid:
        os._exit(1)


def main() -> None:
    parent, *command = sys.argv[1:]
    die_with_parent(int(parent))
    os.execvp(command[0], command)  # the parent-death signal survives exec


if __name__ == "__main__":
    main()
