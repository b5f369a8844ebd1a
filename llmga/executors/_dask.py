"""Scoring on a Dask cluster: a LocalCluster on this machine, or any scheduler (``dask scheduler``, dask-jobqueue)."""

from __future__ import annotations

import hashlib
import logging
import math
import sys
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from distributed.diagnostics.plugin import WorkerPlugin

from llmga.errors import ConfigError
from llmga.executors._base import Executor

__all__ = ["DaskExecutor"]

T = TypeVar("T")
R = TypeVar("R")

_loaded: dict[str, Any] = {}  # on a worker: the functions installed by _Install, by the digest of their bytes


class _Install(WorkerPlugin):
    """Puts one pickled function on every worker, including workers that join or restart later."""

    def __init__(self, digest: str, blob: bytes) -> None:
        self.digest = digest
        self.blob = blob

    def setup(self, worker: Any) -> None:
        import cloudpickle

        _loaded[self.digest] = cloudpickle.loads(self.blob)


def _run_installed(digest: str, chunk: Sequence[Any]) -> list[Any]:
    """Worker side: ``[fn(x) for x in chunk]`` for the function installed under ``digest``."""
    fn = _loaded[digest]
    return [fn(x) for x in chunk]


def _reachable(address: str) -> None:
    """Fail at once (OSError) when nothing listens at a ``tcp://HOST:PORT`` address, instead of retrying."""
    import socket
    from urllib.parse import urlsplit

    parts = urlsplit(address if "://" in address else f"tcp://{address}")
    if parts.scheme != "tcp" or parts.hostname is None or parts.port is None:
        return  # tls://, inproc:// ...: let Dask connect
    with socket.create_connection((parts.hostname, parts.port), timeout=10):
        pass


class DaskExecutor(Executor):
    """Runs work on the workers of a Dask cluster, in item order (the :class:`Executor` contract).

    With ``scheduler`` (``tcp://HOST:PORT``) it connects to a running
    scheduler; without, it starts a LocalCluster of ``workers`` single-thread
    worker processes on first use. A task whose worker dies is rerun on
    another worker by Dask itself; one that keeps killing workers (Dask's
    ``distributed.scheduler.allowed-failures``) is handed to ``fallback``,
    when given, instead of failing the whole map.
    """

    def __init__(self, workers: int = 2, scheduler: str | None = None) -> None:
        self.scheduler = scheduler
        self.workers = max(1, int(workers))
        self._client: Any = None
        self._cluster: Any = None
        self._shared: dict[int, tuple[Any, str]] = {}  # id(fn) -> (fn, digest of its bytes), installed
        if scheduler:  # connect now: a wrong address fails before any oracle call
            self.client()

    def client(self) -> Any:
        """The Dask client, connecting (or starting the LocalCluster) on first use."""
        if self._client is None:
            from distributed import Client, LocalCluster

            if self.scheduler:
                try:
                    _reachable(self.scheduler)
                    self._client = Client(self.scheduler, timeout="20s")
                    self._client.wait_for_workers(1, timeout=120)
                except (OSError, TimeoutError) as exc:
                    raise ConfigError(
                        f"--scheduler {self.scheduler!r}: no Dask scheduler with workers answers there ({exc}); "
                        "start one with `dask scheduler` and workers with `dask worker ADDRESS`, or leave "
                        "--scheduler out for a LocalCluster"
                    ) from None
                self.workers = max(1, len(self._client.scheduler_info().get("workers", {})))
            else:
                self._cluster = LocalCluster(
                    n_workers=self.workers,
                    threads_per_worker=1,
                    processes=True,
                    dashboard_address=None,
                    silence_logs=logging.ERROR,
                )
                self._client = Client(self._cluster)
        return self._client

    def _remote(self, fn: Callable[..., Any]) -> str:
        """``fn`` pickled (by value where it comes from a file) and installed once on every worker, present
        and future (a model objective can be large); the digest that tasks name it by."""
        key = id(fn)
        if key not in self._shared:
            import cloudpickle

            from llmga.executors._base import by_value_modules

            # Objectives loaded from FILE.py live in modules the workers cannot import: they travel by value.
            for name in by_value_modules():
                module = sys.modules.get(name)
                if module is not None and name not in cloudpickle.list_registry_pickle_by_value():
                    cloudpickle.register_pickle_by_value(module)
            blob = cloudpickle.dumps(fn)
            digest = hashlib.sha256(blob).hexdigest()
            self.client().register_plugin(_Install(digest, blob), name=f"llmga-{digest[:16]}")
            self._shared[key] = (fn, digest)
        return self._shared[key][1]

    def map(
        self,
        fn: Callable[[T], R],
        items: Sequence[T],
        *,
        min_items: int | None = None,
        fallback: Callable[[T, str], R] | None = None,
    ) -> list[R]:
        if not items:
            return []
        if min_items is None and len(items) < 8:
            return [fn(x) for x in items]  # a few light items: not worth a round trip to the cluster
        from distributed import KilledWorker

        client = self.client()
        digest = self._remote(fn)
        # One task per item when each is already a chunk of work (min_items=1); else chunks of items.
        size = 1 if min_items == 1 else max(1, math.ceil(len(items) / (self.workers * 4)))
        chunks = [list(items[i : i + size]) for i in range(0, len(items), size)]
        futures = [client.submit(_run_installed, digest, chunk, pure=False) for chunk in chunks]
        out: list[R] = []
        for chunk, future in zip(chunks, futures, strict=True):
            try:
                out.extend(future.result())
            except KilledWorker as exc:
                if fallback is None:
                    raise
                out.extend(fallback(item, f"its task killed Dask workers ({exc})") for item in chunk)
        return out

    def close(self) -> None:
        self._shared.clear()
        if self._client is not None:
            self._client.close()
            self._client = None
        if self._cluster is not None:
            self._cluster.close()
            self._cluster = None
