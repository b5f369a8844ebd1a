"""The run store: one SQLite database (WAL mode) per run folder, written as the run goes.

Every evaluation is committed as soon as it is scored, with the
generations (their statistics, the random generator's state at the
boundary and the population's calls), the language-model calls, the
prescreen scores and the raw completions of external language models (so a
resumed run can be replayed without asking the model again). A commit is
durable (``synchronous=FULL``) and atomic: a run killed at any instant,
including during a write, leaves a consistent store that holds everything
committed before it. A lock file keeps a second process from writing the
same run.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import sqlite3
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import IO, Any

from llmga.engine import Evaluation
from llmga.errors import ConfigError, LLMGAError

__all__ = ["LOCK_FILE", "STORE_FILE", "RunStore", "StoreLockedError"]

STORE_FILE = "run.sqlite"
LOCK_FILE = "run.lock"
_SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS evaluations (
    call INTEGER PRIMARY KEY, smiles TEXT NOT NULL UNIQUE, score REAL, generation INTEGER NOT NULL,
    operator TEXT NOT NULL, parents TEXT NOT NULL, components TEXT
);
CREATE TABLE IF NOT EXISTS generations (
    gen INTEGER PRIMARY KEY, record TEXT NOT NULL, rng TEXT, population TEXT
);
CREATE TABLE IF NOT EXISTS llm_calls (id INTEGER PRIMARY KEY, record TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS completions (id INTEGER PRIMARY KEY, prompt TEXT NOT NULL, completion TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS asked (
    smiles TEXT PRIMARY KEY, batch INTEGER NOT NULL, operator TEXT NOT NULL, parents TEXT NOT NULL,
    recipe INTEGER NOT NULL, told INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS prescreen (
    id INTEGER PRIMARY KEY, generation INTEGER NOT NULL, smiles TEXT NOT NULL, prescreen REAL, scored INTEGER NOT NULL
);
"""


class StoreLockedError(ConfigError):
    """Another process holds the run folder's lock."""


def _number(value: float) -> float | None:
    return value if math.isfinite(value) else None


def _unnumber(value: float | None) -> float:
    return math.nan if value is None else float(value)


def clean(data: Any) -> Any:
    """``data`` with NaN/inf floats replaced by None (standard JSON), through dicts, lists and tuples."""
    if isinstance(data, float):
        return data if math.isfinite(data) else None
    if isinstance(data, dict):
        return {k: clean(v) for k, v in data.items()}
    if isinstance(data, (list, tuple)):
        return [clean(v) for v in data]
    return data


def _json_default(value: Any) -> Any:
    """numpy scalars as numbers (NaN as null), anything else JSON cannot write as its text."""
    if hasattr(value, "item"):
        return clean(value.item())
    return str(value)


def dumps(data: Any, **options: Any) -> str:
    """Standard JSON of ``data``: NaN/inf as null, numpy scalars as numbers; ``options`` go to json.dumps."""
    return json.dumps(clean(data), default=_json_default, allow_nan=False, **options)


class _Lock:
    """An exclusive advisory lock on ``run.lock`` (released by the OS when the process dies, even by kill -9)."""

    def __init__(self, folder: Path) -> None:
        self.path = folder / LOCK_FILE
        self._fh: IO[str] | None = None

    def acquire(self) -> None:
        try:
            import fcntl
        except ImportError:  # pragma: no cover - Windows: no advisory locks, rely on the user
            return
        fh = open(self.path, "a+")  # noqa: SIM115 - held for the life of the run
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            fh.seek(0)
            holder = fh.read().strip() or "unknown"
            fh.close()
            raise StoreLockedError(
                f"run folder {str(self.path.parent)!r} is in use by another llmga process (pid {holder}); "
                "wait for it to finish or stop it (Ctrl-C or kill), then try again"
            ) from None
        fh.seek(0)
        fh.truncate()
        fh.write(f"{os.getpid()}\n")
        fh.flush()
        self._fh = fh

    def release(self) -> None:
        if self._fh is not None:
            self._fh.close()  # closing the descriptor drops the lock
            self._fh = None


class RunStore:
    """One run's SQLite database. Open it with :meth:`create` (a new run), :meth:`open` (read or resume)."""

    def __init__(self, folder: Path, conn: sqlite3.Connection, lock: _Lock | None) -> None:
        self.folder = folder
        self.conn = conn
        self._lock = lock

    # ---------------------------------------------------------------- opening
    @staticmethod
    def exists(folder: str | Path) -> bool:
        return (Path(folder) / STORE_FILE).is_file()

    @classmethod
    def _connect(cls, folder: Path, *, write: bool, lock: _Lock | None = None) -> RunStore:
        if write and lock is None:
            lock = _Lock(folder)
            lock.acquire()
        try:
            path = folder / STORE_FILE
            if write:
                conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
                conn.execute("PRAGMA journal_mode=WAL")
                conn.execute("PRAGMA synchronous=FULL")
                conn.executescript(_SCHEMA)
            else:
                conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, isolation_level=None)
            conn.execute("PRAGMA busy_timeout=10000")
        except BaseException:
            if lock is not None:
                lock.release()
            raise
        return cls(folder, conn, lock)

    @classmethod
    def create(cls, folder: str | Path, meta: dict[str, Any]) -> RunStore:
        """A new store in ``folder`` (made if missing), locked for this process, with ``meta`` entries."""
        path = Path(folder)
        path.mkdir(parents=True, exist_ok=True)
        lock = _Lock(path)
        lock.acquire()
        try:
            # Tables and configuration are written to a new file that then replaces the store's name,
            # so a reader (llmga.load of a run just starting) never finds a store without them.
            fresh = path / (STORE_FILE + ".new")
            fresh.unlink(missing_ok=True)
            conn = sqlite3.connect(fresh)
            try:
                conn.executescript(_SCHEMA)
                conn.executemany(
                    "INSERT OR REPLACE INTO meta VALUES (?, ?)",
                    [("schema", str(_SCHEMA_VERSION)), *((k, dumps(v)) for k, v in meta.items())],
                )
                conn.commit()
            finally:
                conn.close()
            os.replace(fresh, path / STORE_FILE)
            return cls._connect(path, write=True, lock=lock)
        except BaseException:
            lock.release()
            raise

    @classmethod
    def open(cls, folder: str | Path, *, write: bool = False) -> RunStore:
        """The store of an existing run; ``write`` locks it for this process (to resume the run)."""
        path = Path(folder)
        if not cls.exists(path):
            raise LLMGAError(
                f"{str(folder)!r} has no run store ({STORE_FILE}); give a run folder made by `llmga optimize` "
                "(runs made before llmga kept a store cannot be resumed)"
            )
        store = cls._connect(path, write=write)
        version = store.meta("schema")
        if version is not None and int(version) > _SCHEMA_VERSION:
            store.close()
            raise LLMGAError(
                f"{path / STORE_FILE} was written by a newer llmga (store schema {version}); upgrade llmga to read it"
            )
        return store

    def close(self) -> None:
        with contextlib.suppress(sqlite3.Error):
            self.conn.close()
        if self._lock is not None:
            self._lock.release()
            self._lock = None

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[None]:
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        self.conn.execute("COMMIT")

    # ---------------------------------------------------------------- writing
    def set_meta(self, **entries: Any) -> None:
        with self._transaction():
            rows = [(k, dumps(v)) for k, v in entries.items()]
            self.conn.executemany("INSERT OR REPLACE INTO meta VALUES (?, ?)", rows)

    def add_evaluations(self, evaluations: Sequence[Evaluation]) -> None:
        with self._transaction():
            self._insert_evaluations(evaluations)

    def _insert_evaluations(self, evaluations: Sequence[Evaluation]) -> None:
        rows = [
            (
                e.call,
                e.smiles,
                _number(e.score),
                e.generation,
                e.operator,
                " ".join(str(p) for p in e.parents),
                dumps(e.components) if e.components else None,
            )
            for e in evaluations
        ]
        self.conn.executemany("INSERT INTO evaluations VALUES (?, ?, ?, ?, ?, ?, ?)", rows)

    def add_generation(
        self, gen: int, record: dict[str, Any], rng: dict[str, Any] | None, population: Sequence[int]
    ) -> None:
        with self._transaction():
            self.conn.execute(
                "INSERT INTO generations VALUES (?, ?, ?, ?)",
                (gen, dumps(record), dumps(rng) if rng is not None else None, dumps(list(population))),
            )

    def add_llm_call(self, record: dict[str, Any]) -> None:
        with self._transaction():
            self.conn.execute("INSERT INTO llm_calls (record) VALUES (?)", (dumps(record),))

    def add_completions(self, rows: Sequence[tuple[str, dict[str, Any]]]) -> None:
        with self._transaction():
            self.conn.executemany(
                "INSERT INTO completions (prompt, completion) VALUES (?, ?)", [(p, dumps(c)) for p, c in rows]
            )

    def add_asked(self, rows: Sequence[tuple[str, int, str, str, int]]) -> None:
        """Record molecules a campaign asked for: ``(smiles, batch, operator, parents, recipe)``
        (recipe: the index of the recipe that made it, -1 for the initial pool)."""
        with self._transaction():
            self.conn.executemany("INSERT INTO asked VALUES (?, ?, ?, ?, ?, 0)", rows)

    def add_told(self, evaluations: Sequence[Evaluation]) -> None:
        """Record told scores, and mark the molecules that were asked for as told, in one transaction."""
        with self._transaction():
            self._insert_evaluations(evaluations)
            self.conn.executemany("UPDATE asked SET told = 1 WHERE smiles = ?", [(e.smiles,) for e in evaluations])

    def add_prescreen(self, rows: Sequence[tuple[int, str, float, bool]]) -> None:
        with self._transaction():
            self.conn.executemany(
                "INSERT INTO prescreen (generation, smiles, prescreen, scored) VALUES (?, ?, ?, ?)",
                [(g, s, _number(v), int(k)) for g, s, v, k in rows],
            )

    # ---------------------------------------------------------------- reading
    def meta(self, key: str) -> Any:
        row = self.conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else json.loads(row[0])

    def config(self) -> dict[str, Any]:
        """The run's configuration (a :class:`~llmga.config.Config` as a dict)."""
        config = self.meta("config")
        if not isinstance(config, dict):
            raise LLMGAError(
                f"the run in {str(self.folder)!r} was stopped before its configuration was saved, so nothing "
                "was scored: delete the folder and start the run again"
            )
        return config

    def count(self, table: str) -> int:
        if table not in ("evaluations", "generations", "llm_calls", "completions", "prescreen", "asked"):
            raise ValueError(f"no table {table!r}")
        return int(self.conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0])  # noqa: S608 - name checked

    def evaluations(self) -> list[Evaluation]:
        """Every evaluation, in call order."""
        rows = self.conn.execute(
            "SELECT call, smiles, score, generation, operator, parents, components FROM evaluations ORDER BY call"
        )
        return [
            Evaluation(
                call,
                smiles,
                _unnumber(score),
                generation,
                operator,
                tuple(int(p) for p in parents.split()),
                tuple(_unnumber(v) for v in json.loads(comps)) if comps else (),
            )
            for call, smiles, score, generation, operator, parents, comps in rows
        ]

    def generations(self) -> list[tuple[int, dict[str, Any], dict[str, Any] | None, list[int]]]:
        """Per generation: its number, statistics record, random state at its end and population calls."""
        rows = self.conn.execute("SELECT gen, record, rng, population FROM generations ORDER BY gen")
        return [
            (gen, json.loads(rec), json.loads(rng) if rng else None, json.loads(pop) if pop else [])
            for gen, rec, rng, pop in rows
        ]

    def llm_calls(self) -> list[dict[str, Any]]:
        return [json.loads(r) for (r,) in self.conn.execute("SELECT record FROM llm_calls ORDER BY id")]

    def completions(self) -> list[tuple[str, dict[str, Any]]]:
        rows = self.conn.execute("SELECT prompt, completion FROM completions ORDER BY id")
        return [(p, json.loads(c)) for p, c in rows]

    def pending(self) -> list[tuple[str, int, str, str]]:
        """A campaign's molecules asked for and not told yet, in the order asked."""
        rows = self.conn.execute("SELECT smiles, batch, operator, parents FROM asked WHERE told = 0 ORDER BY rowid")
        return [(str(s), int(b), str(o), str(p)) for s, b, o, p in rows]

    def asked(self) -> list[tuple[str, int, int, bool]]:
        """Every molecule a campaign asked for: ``(smiles, batch, recipe, told)``, in the order asked."""
        rows = self.conn.execute("SELECT smiles, batch, recipe, told FROM asked ORDER BY rowid")
        return [(str(s), int(b), int(r), bool(t)) for s, b, r, t in rows]

    def prescreen(self) -> list[tuple[int, str, float, bool]]:
        rows = self.conn.execute("SELECT generation, smiles, prescreen, scored FROM prescreen ORDER BY id")
        return [(g, s, _unnumber(v), bool(k)) for g, s, v, k in rows]
