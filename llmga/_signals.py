"""Graceful stops for command-line runs: Ctrl-C or SIGTERM ends a run between generations.

A KeyboardInterrupt raised while RDKit's C++ code is running can surface as
an ordinary error and be taken for a bad molecule, so the first Ctrl-C (or
SIGTERM) only records a stop request, which the engine checks after each
generation; a second Ctrl-C raises KeyboardInterrupt at once.

Known limit: RDKit installs its own SIGINT handler for the duration of each
substructure search (``RunReactants`` runs many). A Ctrl-C that lands inside
one is consumed by RDKit and never reaches Python; pressing Ctrl-C again
works. SIGTERM is not affected.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Callable, Iterator
from types import FrameType

__all__ = ["graceful_interrupt", "ignore_sigint"]


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
    try:
        yield requested.is_set
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


def ignore_sigint() -> None:
    """Worker-process initialiser: leave Ctrl-C to the main process, which stops the work."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
