"""Executors: run a function over a list of work items, in order, on one or more cores."""

from __future__ import annotations

import math
import multiprocessing
import os
import pickle
import threading
import time
import warnings
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from typing import Any, TypeVar

from llmga._signals import init_worker
from llmga.errors import ConfigError

__all__ = [
    "Executor",
    "ProcessExecutor",
    "SerialExecutor",
    "available_cores",
    "by_value_modules",
    "make_executor",
    "send_by_value",
]

# Modules no other machine can import (an objective loaded from FILE.py lives in one): executors that send
# work elsewhere (Dask) pickle their functions by value. Filled by whoever creates such a module.
_BY_VALUE: set[str] = set()


def send_by_value(module_name: str) -> None:
    """Mark ``module_name`` as one that executors on other machines must receive by value."""
    _BY_VALUE.add(module_name)


def by_value_modules() -> frozenset[str]:
    """The modules marked by :func:`send_by_value`."""
    return frozenset(_BY_VALUE)

_CLOSE_GRACE_S = 5.0  # how long closing waits for the workers to end by themselves

T = TypeVar("T")
R = TypeVar("R")


def available_cores() -> int:
    """Cores this process may run on (respects CPU affinity, e.g. in containers)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - macOS/Windows
        return os.cpu_count() or 1


class Executor(ABC):
    """Runs ``fn`` over ``items`` and returns the results in item order.

    Contract: ``map(fn, items) == [fn(x) for x in items]`` for any
    deterministic ``fn``, whatever the number of workers — so a run's result
    never depends on how many cores it had. Randomised work must carry its
    own seed inside each item.
    """

    workers: int = 1

    @abstractmethod
    def map(
        self,
        fn: Callable[[T], R],
        items: Sequence[T],
        *,
        min_items: int | None = None,
        fallback: Callable[[T, str], R] | None = None,
    ) -> list[R]:
        """``[fn(x) for x in items]``, possibly computed in parallel.

        ``min_items`` overrides the executor's own threshold below which a
        batch runs in the calling process (pass 1 when each item is already
        a large chunk of work). ``fallback(item, reason)`` gives the result
        of an item whose work was lost with the worker running it, again and
        again (executors that can lose workers call it; without it they raise).
        """

    def close(self) -> None:  # noqa: B027 - optional hook, a no-op by default
        """Release workers (a no-op for the serial executor)."""

    def __enter__(self) -> Executor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class SerialExecutor(Executor):
    """Runs everything in the calling process."""

    def map(
        self,
        fn: Callable[[T], R],
        items: Sequence[T],
        *,
        min_items: int | None = None,
        fallback: Callable[[T, str], R] | None = None,
    ) -> list[R]:
        return [fn(x) for x in items]


def _run_chunk(fn: Callable[[T], R], chunk: Sequence[T]) -> list[R]:
    return [fn(x) for x in chunk]


class ProcessExecutor(Executor):
    """Runs chunks of items in worker processes (forked on Linux, started on first use).

    Workers hold no lock of the parent's (a run store's lock is closed in
    every forked child, see :mod:`llmga.store._sqlite`) and end by
    themselves when the parent dies, even by SIGKILL
    (:func:`llmga._signals.init_worker`); SIGTERM ends them too.

    Work whose function cannot be pickled (a lambda, say) runs serially,
    with one warning naming it. Batches smaller than ``min_items`` run in
    the calling process, where inter-process overhead would dominate.
    """

    def __init__(self, workers: int, *, min_items: int = 8) -> None:
        self.workers = max(1, int(workers))
        self.min_items = min_items
        self._pool: ProcessPoolExecutor | None = None
        self._unpicklable: set[int] = set()

    def _get_pool(self) -> ProcessPoolExecutor:
        if self._pool is None:
            method = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
            # A fork context starts every worker at the first submit, in the thread that calls map() next.
            main = threading.current_thread() is threading.main_thread()
            self._pool = ProcessPoolExecutor(
                self.workers,
                mp_context=multiprocessing.get_context(method),
                initializer=init_worker,
                initargs=(os.getpid(), main),
            )
        return self._pool

    def _picklable(self, fn: Callable[..., Any]) -> bool:
        key = id(getattr(fn, "__self__", fn))
        if key in self._unpicklable:
            return False
        try:
            pickle.dumps(fn)
        except Exception as exc:  # noqa: BLE001 - any pickling failure means "run serially"
            self._unpicklable.add(key)
            name = getattr(fn, "__qualname__", repr(fn))
            warnings.warn(
                f"{name} cannot be sent to worker processes ({type(exc).__name__}: {exc}); "
                "it runs on one core. Define it at module level (not a lambda) to use all cores.",
                RuntimeWarning,
                stacklevel=3,
            )
            return False
        return True

    def map(
        self,
        fn: Callable[[T], R],
        items: Sequence[T],
        *,
        min_items: int | None = None,
        fallback: Callable[[T, str], R] | None = None,
    ) -> list[R]:
        threshold = self.min_items if min_items is None else min_items
        if self.workers == 1 or len(items) < threshold or not self._picklable(fn):
            return [fn(x) for x in items]
        size = max(1, math.ceil(len(items) / (self.workers * 4)))
        chunks = [items[i : i + size] for i in range(0, len(items), size)]
        pool = self._get_pool()
        futures = [pool.submit(_run_chunk, fn, chunk) for chunk in chunks]
        out: list[R] = []
        for future in futures:
            out.extend(future.result())
        return out

    def close(self) -> None:
        if self._pool is None:
            return
        pool, self._pool = self._pool, None
        # A worker that died (killed, say) may have held a lock of the task queue: the others then wait on it
        # for ever, and so would a plain shutdown(wait=True), whose end-of-work messages they cannot read.
        # So the wait is bounded: workers still there after it (idle or stuck: every result was collected,
        # or the run is ending) are killed.
        workers = list((getattr(pool, "_processes", None) or {}).values())
        lost = getattr(pool, "_broken", False) or any(not w.is_alive() for w in workers)
        grace = 0.0 if lost else _CLOSE_GRACE_S
        pool.shutdown(wait=False, cancel_futures=True)
        deadline = time.monotonic() + grace
        for w in workers:
            w.join(max(0.0, deadline - time.monotonic()))
        for w in workers:
            if w.is_alive():
                w.kill()
                w.join(1.0)
        manager = getattr(pool, "_executor_manager_thread", None)
        if manager is not None:
            manager.join(_CLOSE_GRACE_S)


def make_executor(workers: int, kind: str = "processes", scheduler: str | None = None) -> Executor:
    """An executor of ``kind``: ``processes`` (``workers`` of them, 0: one per available core; serial when
    that is 1), ``serial``, or ``dask`` (a LocalCluster of that many workers, or the cluster at ``scheduler``)."""
    n = available_cores() if workers == 0 else workers
    if kind == "dask":
        try:
            from llmga.executors._dask import DaskExecutor
        except ImportError:
            raise ConfigError(
                "--executor dask needs Dask's distributed scheduler: pip install 'llmga[dask]' (or distributed)"
            ) from None
        return DaskExecutor(n, scheduler)
    if kind == "serial":
        return SerialExecutor()
    return SerialExecutor() if n <= 1 else ProcessExecutor(n)
