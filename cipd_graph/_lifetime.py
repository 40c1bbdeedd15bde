"""Child processes that die with their parent.

A load worker or a SPARQL query child whose parent is killed (SIGKILL, out of memory) would
otherwise run on, adopted by init, holding hundreds of megabytes until it finished or was
killed by hand. On Linux the kernel sends such a child SIGKILL as soon as its parent dies
(``prctl(PR_SET_PDEATHSIG)``); elsewhere a watchdog thread checks every second that the
parent is still there.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import sys
import threading
import time

#: ``PR_SET_PDEATHSIG`` from <linux/prctl.h>.
_PR_SET_PDEATHSIG = 1
#: Seconds between the watchdog's looks at the parent (where there is no prctl).
WATCHDOG_S = 1.0


def _arm_parent_death_signal() -> bool:
    """Ask Linux to SIGKILL this process when the thread that forked it ends."""
    if not sys.platform.startswith("linux"):
        return False
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(None, use_errno=True)
        return bool(libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) == 0)
    return False


def die_with_parent(parent: int | None = None) -> None:
    """Make this (child) process end when its parent does.

    ``parent`` is the parent's pid as the parent saw it before forking: if the parent has
    already gone by the time the signal is armed, this process exits at once. Without it,
    a process already adopted by init (parent pid 1) exits. Call it first thing in a child.
    """
    armed = _arm_parent_death_signal()
    orphaned = os.getppid() != parent if parent is not None else os.getppid() == 1
    if orphaned:
        os._exit(1)
    if armed:
        return
    expected = os.getppid()

    def watch() -> None:
        while True:
            time.sleep(WATCHDOG_S)
            if os.getppid() != expected:
                os._exit(1)

    threading.Thread(target=watch, name="cipd-parent-watchdog", daemon=True).start()
