"""A time limit per molecule for any objective: it runs in a child process that is killed when a molecule hangs."""

from __future__ import annotations

import contextlib
import math
import multiprocessing as mp
import os
import signal
import warnings
from collections.abc import Sequence
from multiprocessing.connection import Connection
from typing import Any

import numpy as np

from llmga._signals import exit_with_parent
from llmga.objectives._base import Objective, check_scores

__all__ = ["TimeoutObjective"]


def _serve(objective: Objective, smiles: list[str], conn: Connection) -> None:
    """Child process: score ``smiles`` one at a time, sending each result as soon as it is known."""
    for s in smiles:
        try:
            value = float(check_scores(objective([s]), [s], objective.name)[0])
            conn.send(("ok", value))
        except Exception as exc:  # noqa: BLE001 - reported to the parent, which decides
            conn.send(("error", f"{type(exc).__name__}: {exc}"))
    conn.close()


class _Child:
    """A child process scoring molecules and sending each result back (see :func:`_serve`).

    On Linux it is a bare ``os.fork``, so it also works inside worker
    processes (pool and Dask workers are daemonic, and multiprocessing
    lets no daemonic process have children); elsewhere a spawned process.
    The forked child ends with its parent, however the parent ends
    (:func:`llmga._signals.exit_with_parent`), and holds none of its locks.
    """

    def __init__(self, objective: Objective, smiles: list[str]) -> None:
        self.pid: int | None = None
        self.process: Any = None
        if hasattr(os, "fork"):
            read, write = os.pipe()
            parent = os.getpid()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DeprecationWarning)  # fork with threads: the child only scores
                pid = os.fork()
            if pid == 0:  # the child: score, report, and leave without running the parent's exit handlers
                code = 0
                try:
                    os.close(read)
                    signal.signal(signal.SIGINT, signal.SIG_IGN)
                    signal.signal(signal.SIGTERM, signal.SIG_DFL)
                    # The forking thread waits for this child (or kills it), so its end may end the child too.
                    exit_with_parent(parent, death_signal=True)
                    _serve(objective, smiles, Connection(write, readable=False))
                except BaseException:  # noqa: BLE001 - the parent sees the closed pipe and reports it
                    code = 1
                finally:
                    os._exit(code)
            os.close(write)
            self.pid, self.receive = pid, Connection(read, writable=False)
        else:  # pragma: no cover - Windows/macOS without fork
            context = mp.get_context("spawn")
            self.receive, send = context.Pipe(duplex=False)
            self.process = context.Process(target=_serve, args=(objective, smiles, send), daemon=True)
            self.process.start()
            send.close()

    def stop(self) -> None:
        if self.pid is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signal.SIGKILL)
            os.waitpid(self.pid, 0)
        else:  # pragma: no cover
            if self.process.is_alive():
                self.process.kill()
            self.process.join()
        self.receive.close()


class TimeoutObjective(Objective):
    """``inner`` with at most ``timeout`` seconds per molecule (``--objective-timeout``).

    Molecules are scored one by one in a child process (forked where the
    platform allows, so the objective need not pickle; on every executor's
    workers too, each forking its own); when one takes
    longer than ``timeout`` the child is killed, that molecule gets NaN with
    the reason in :attr:`failures` and a warning, and a new child goes on
    with the rest. An objective that raises still stops the run with a
    message naming the molecule, as without a time limit.
    """

    def __init__(self, inner: Objective, timeout: float) -> None:
        self.inner = inner
        self.parallel = inner.parallel
        self.timeout = float(timeout)
        self.name = inner.name
        self.direction = inner.direction
        self.description = inner.description
        self.failures: list[tuple[str, str]] = []

    def __getattr__(self, name: str) -> Any:  # cards, vectors, ... of the wrapped objective
        if name == "inner":
            raise AttributeError(name)
        return getattr(self.inner, name)

    def __call__(self, smiles: Sequence[str]) -> np.ndarray:
        from llmga.errors import ObjectiveError

        todo = list(smiles)
        out = np.full(len(todo), math.nan)
        start = 0
        while start < len(todo):
            child = _Child(self.inner, todo[start:])
            receive = child.receive
            try:
                while start < len(todo):
                    if not receive.poll(self.timeout):
                        reason = f"timed out after {self.timeout:g} s"
                        self.failures.append((todo[start], reason))
                        warnings.warn(
                            f"objective {self.name!r} {reason} on molecule {todo[start]!r}; it scores NaN",
                            RuntimeWarning,
                            stacklevel=2,
                        )
                        start += 1
                        break
                    try:
                        kind, value = receive.recv()
                    except EOFError:
                        raise ObjectiveError(
                            f"objective {self.name!r} crashed its process on molecule {todo[start]!r}"
                        ) from None
                    if kind == "error":
                        raise ObjectiveError(
                            f"objective {self.name!r} raised {value} on molecule {todo[start]!r}; make it return "
                            "NaN for molecules it cannot score (everything scored so far is saved)"
                        )
                    out[start] = value
                    start += 1
            finally:
                child.stop()
        return out

    def card(self) -> dict[str, Any]:
        return self.inner.card() | {"timeout_per_molecule_s": self.timeout}
