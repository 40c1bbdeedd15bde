"""Child processes that die with their parent.

A load worker or a SPARQL query child whose parent is killed (SIGKILL, out of memory) would
otherwise run on, adopted by init, holding hundreds of megabytes until it finished or was
killed by hand. On Linux the kernel sends such a child SIGKILL as soon as its parent dies
(``prctl(PR_SET_PDEATHSIG)``); elsewhere a watchdog thread checks every second that the
parent is still there.

A child made by multiprocessing's forkserver (the SPARQL endpoint's query children) has
the forkserver as its parent, and the forkserver outlives the server while any of its
children runs (each child holds the pipe whose end tells the forkserver to stop). Such a
child watches the pipe its answer goes back on instead: when the process that reads it
dies, the pipe reports an error and the child ends (:func:`die_when_unread`).
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import select
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


def die_when_unread(fd: int) -> None:
    """End this process as soon as nobody can read the pipe ``fd`` writes to (its reader,
    the process waiting for this one's answer, has died): a watchdog thread waits for the
    pipe's error condition, which a pipe reports once its last reader is gone."""
    if not hasattr(select, "poll"):
        return

    def watch() -> None:
        poller = select.poll()
        poller.register(fd, 0)  # no events asked for: errors and hang-ups are always reported
        while True:
            for _fd, events in poller.poll():
                if events & (select.POLLERR | select.POLLHUP | select.POLLNVAL):
                    os._exit(1)

    threading.Thread(target=watch, name="cipd-reader-watchdog", daemon=True).start()
