"""Graceful stops for command-line runs: Ctrl-C or SIGTERM ends a run between generations.

A KeyboardInterrupt raised while RDKit's C++ code is running can surface as
an ordinary error and be taken for a bad molecule, so the first Ctrl-C (or
SIGTERM) only records a stop request, which the engine checks after each
generation; a second Ctrl-C raises KeyboardInterrupt at once.

Known limit: RDKit installs its own SIGINT handler for the duration of each
substructure search (``RunReactants`` runs many). A Ctrl-C that lands inside
one is consumed by RDKit and never reaches Python (and cuts that search
short); pressing Ctrl-C again works. Measured: about one press in four is
lost during a run. Blocking SIGINT and waiting for it in a thread does not
help: numpy's BLAS threads, started at import, leave it unblocked, and the
kernel hands it to them, where RDKit's handler runs just the same. SIGTERM
is not affected.

Processes forked to do a run's work (pool workers, per-molecule time-limit
children) must not outlive it: :func:`exit_with_parent` ends such a process
as soon as its parent is gone, even when the parent died by SIGKILL and had
no chance to stop them.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from types import FrameType
from typing import Any

__all__ = ["exit_with_parent", "graceful_interrupt", "init_worker"]

_PR_SET_PDEATHSIG = 1  # linux/prctl.h


@contextlib.contextmanager
def graceful_interrupt() -> Iterator[Callable[[], bool]]:
    """Within the block, SIGINT/SIGTERM request a stop; yields the function that reads the request."""
    requested = threading.Event()
    if threading.current_thread() is not threading.main_thread():
        yield requested.is_set
        return

    def handler(signum: int, frame: FrameType | None) -> None:
        if requested.is_set() and signum == signal.SIGINT:
            raise KeyboardInterrupt
        requested.set()

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}

    def stop_requested() -> bool:
        # RDKit swaps its own SIGINT handler in and out around substructure searches, at the C level where
        # Python does not see it; one that lands in that window can leave the default (kill) behind. So the
        # handler is put back each time the engine asks (after every generation), in case it was lost.
        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGINT, handler)
        return requested.is_set()

    try:
        yield stop_requested
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


def _libc_prctl() -> Any:
    """libc's ``prctl`` on Linux, else None; looked up at import, so a forked child never loads a library."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        import ctypes

        return ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):  # pragma: no cover - a libc without prctl
        return None


_PRCTL = _libc_prctl()


def _parent_death_signal() -> bool:
    """Have the kernel SIGKILL this process when the thread that forked it ends (Linux); whether it could."""
    return _PRCTL is not None and int(_PRCTL(_PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)) == 0


def exit_with_parent(parent: int, *, death_signal: bool = False, interval: float = 0.5) -> None:
    """In a child process: exit (``os._exit``) as soon as ``parent`` is no longer its parent.

    ``parent`` is the pid of the process that forked this one, taken before
    the fork (an orphan is re-parented to init or a subreaper, so
    ``os.getppid()`` then changes). A daemon thread checks every
    ``interval`` seconds, which works whichever thread of the parent forked;
    it needs the GIL, so a child stuck in C code that holds it is caught
    only by ``death_signal``: on Linux, also ask the kernel to SIGKILL this
    process when the parent's *forking thread* ends (``PR_SET_PDEATHSIG``).
    Pass it only where that thread lives as long as the child's work
    should: the main thread, or a thread that waits for the child.
    """
    if death_signal:
        _parent_death_signal()
    if os.getppid() != parent:  # the parent died before this child got here
        os._exit(1)

    def watch() -> None:
        while True:
            time.sleep(interval)
            if os.getppid() != parent:
                os._exit(1)

    threading.Thread(target=watch, name="llmga-parent-watch", daemon=True).start()


def init_worker(parent: int, main_thread: bool = False) -> None:
    """Worker-process initialiser: leave Ctrl-C to the main process, which stops the work; end at SIGTERM
    (not the parent's graceful handler, inherited by a fork); exit when the parent ``parent`` dies, however
    it dies (:func:`exit_with_parent`; ``main_thread``: the pool was started by the parent's main thread)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    exit_with_parent(parent, death_signal=main_thread)
