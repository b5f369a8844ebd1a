"""A time limit per molecule for any objective: it runs in a child process that is killed when a molecule hangs."""

from __future__ import annotations

import math
import multiprocessing as mp
import warnings
from collections.abc import Sequence
from multiprocessing.connection import Connection
from typing import Any

import numpy as np

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


class TimeoutObjective(Objective):
    """``inner`` with at most ``timeout`` seconds per molecule (``--objective-timeout``).

    Molecules are scored one by one in a child process (forked where the
    platform allows, so the objective need not pickle); when one takes
    longer than ``timeout`` the child is killed, that molecule gets NaN with
    the reason in :attr:`failures` and a warning, and a new child goes on
    with the rest. An objective that raises still stops the run with a
    message naming the molecule, as without a time limit.
    """

    parallel = False

    def __init__(self, inner: Objective, timeout: float) -> None:
        self.inner = inner
        self.timeout = float(timeout)
        self.name = inner.name
        self.direction = inner.direction
        self.description = inner.description
        self.failures: list[tuple[str, str]] = []
        methods = mp.get_all_start_methods()
        self._context: Any = mp.get_context("fork" if "fork" in methods else "spawn")

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
            receive, send = self._context.Pipe(duplex=False)
            child = self._context.Process(target=_serve, args=(self.inner, todo[start:], send), daemon=True)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DeprecationWarning)  # fork with threads: the child only scores
                child.start()
            send.close()
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
                if child.is_alive():
                    child.kill()
                child.join()
                receive.close()
        return out

    def card(self) -> dict[str, Any]:
        return self.inner.card() | {"timeout_per_molecule_s": self.timeout}
