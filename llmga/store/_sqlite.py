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

Views give the JSON records typed columns for SQL readers
(``pandas.read_sql("SELECT * FROM llm_calls_view", sqlite3.connect(path))``):
``generations_view`` and ``llm_calls_view``. They are derived from the
tables, never read by llmga, and made again whenever a store is opened for
writing, so a store made before they existed gains them when it is resumed
and reads as before meanwhile (the schema version counts tables, not views).

A store that cannot be read (a damaged file, one cut short, no database at
all) raises :class:`StoreError`, a one-line :class:`~llmga.errors.LLMGAError`
naming the file and what to do; a damaged store is never written to.
"""

from __future__ import annotations

import contextlib
import functools
import json
import math
import os
import sqlite3
import weakref
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, TypeVar, cast

from llmga.engine import Evaluation
from llmga.errors import ConfigError, LLMGAError

__all__ = ["LOCK_FILE", "STORE_FILE", "RunStore", "StoreError", "StoreLockedError"]

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

# The keys of the JSON records the views show as columns, with their SQL types. A key a record lacks is NULL
# (front_size and hypervolume: Pareto runs only); the per-recipe share:LABEL and survived:LABEL keys of
# generations stay in the record (json_extract(record, '$."share:LABEL"')).
_GENERATION_FIELDS = {
    **dict.fromkeys(("calls", "new", "proposed", "valid", "dup", "rejected", "prescreened", "front_size"), "INTEGER"),
    **dict.fromkeys(("hypervolume", "best", "top10", "top100", "elapsed_s", "mean", "std", "min", "max"), "REAL"),
}
# Every column of llm_calls.csv (LLM_CALL_COLUMNS in _run_folder.py, checked by tests/store/test_views.py).
_LLM_CALL_FIELDS = {
    "time": "REAL",
    "generation": "INTEGER",
    **dict.fromkeys(("operator", "backend", "model", "template", "prompt", "reply"), "TEXT"),
    **dict.fromkeys(("tokens_in", "tokens_out"), "INTEGER"),
    "latency_s": "REAL",
    **dict.fromkeys(("asked", "parsed", "valid", "new"), "INTEGER"),
    **dict.fromkeys(("parents", "error"), "TEXT"),
    **dict.fromkeys(("error_kind", "finish_reason"), "TEXT"),
    "reply_chars": "INTEGER",
}


def _view(name: str, table: str, key: str, fields: dict[str, str]) -> str:
    columns = ", ".join(
        f"CAST(json_extract(record, '$.\"{field}\"') AS {kind}) AS \"{field}\"" for field, kind in fields.items()
    )
    select = f"SELECT {key}, {columns} FROM {table} ORDER BY {key}"  # noqa: S608 - this module's constants
    return f"DROP VIEW IF EXISTS {name};\nCREATE VIEW {name} AS {select};\n"


_VIEWS = _view("generations_view", "generations", "gen", _GENERATION_FIELDS) + _view(
    "llm_calls_view", "llm_calls", "id", _LLM_CALL_FIELDS
)


class StoreLockedError(ConfigError):
    """Another process holds the run folder's lock."""


class StoreError(LLMGAError):
    """A run store cannot be read or written: a damaged file, or SQLite failed (the message names the file)."""


# What a store that cannot be read raises: SQLite's errors, and records that are no longer JSON or text.
# IntegrityError and ProgrammingError are llmga's own mistakes and pass unchanged.
_FAILURES = (sqlite3.DatabaseError, json.JSONDecodeError, UnicodeDecodeError)
_MISTAKES = (sqlite3.IntegrityError, sqlite3.ProgrammingError)
_DAMAGE_SIGNS = ("malformed", "not a database", "no such table", "no such column", "decode", "corrupt")


def _store_error(path: Path, exc: BaseException) -> StoreError:
    """The one-line error for ``exc``, raised on the store at ``path``."""
    text = " ".join(str(exc).split())
    text = text if len(text) <= 300 else text[:300] + "..."
    if isinstance(exc, sqlite3.OperationalError) and not any(sign in text for sign in _DAMAGE_SIGNS):
        return StoreError(
            f"SQLite failed on {path} ({text}); check the disk (free space, permissions) and that no other program "
            "holds the file, then try again (a run can go on with --resume)"
        )
    exports = sorted(p.name for p in path.parent.glob("*.csv"))
    kept = (
        f"the CSV exports beside it ({', '.join(exports)}) hold the run as of its last export"
        if exports
        else "there are no CSV exports beside it"
    )
    return StoreError(
        f"{path} is damaged ({text}); nothing was changed, and {kept}: restore {path.name} from a copy, "
        "or start a new run"
    )


_F = TypeVar("_F", bound=Callable[..., Any])


def _guarded(method: _F) -> _F:
    """A :class:`RunStore` method with the store's failures raised as :class:`StoreError`."""

    @functools.wraps(method)
    def guarded(self: RunStore, *args: Any, **kwargs: Any) -> Any:
        try:
            return method(self, *args, **kwargs)
        except _MISTAKES:
            raise
        except _FAILURES as exc:
            raise _store_error(self.folder / STORE_FILE, exc) from exc

    return cast(_F, guarded)


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


_HELD: weakref.WeakSet[_Lock] = weakref.WeakSet()  # the locks this process holds


def _close_locks_in_child() -> None:
    """After a fork, in the child: close the copies of this process's lock descriptors.

    A forked child shares the parent's open file description, so it would
    keep the flock for as long as it lives, after its parent died too.
    Closing the child's copy (never unlocking: that would drop the parent's
    lock) leaves the lock to the parent alone, released when it ends.
    """
    for lock in list(_HELD):
        lock._forget()


if hasattr(os, "register_at_fork"):  # every fork: multiprocessing pools, time-limit children, os.fork
    os.register_at_fork(after_in_child=_close_locks_in_child)


class _Lock:
    """An exclusive advisory lock on ``run.lock`` (released by the OS when the process dies, even by kill -9).

    Only the process that took it holds it: forked children close their
    copy at once (:func:`_close_locks_in_child`), and the descriptor is not
    inherited by programs started with exec. A second lock on the same
    folder is refused, within the same process too.
    """

    def __init__(self, folder: Path) -> None:
        self.path = folder / LOCK_FILE
        self._fd: int | None = None

    def acquire(self) -> None:
        try:
            import fcntl
        except ImportError:  # pragma: no cover - Windows: no advisory locks, rely on the user
            return
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)  # held for the life of the run
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 64, 0).decode(errors="replace").strip() or "unknown"
            os.close(fd)
            raise StoreLockedError(
                f"run folder {str(self.path.parent)!r} is in use by another llmga process (pid {holder}); "
                "wait for it to finish or stop it (Ctrl-C or kill), then try again"
            ) from None
        except BaseException:
            os.close(fd)
            raise
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        self._fd = fd
        _HELD.add(self)

    def _forget(self) -> None:
        """Close this process's descriptor of a lock it does not hold (a forked child's copy)."""
        _HELD.discard(self)
        if self._fd is not None:
            with contextlib.suppress(OSError):
                os.close(self._fd)
            self._fd = None

    def release(self) -> None:
        if self._fd is not None:
            _HELD.discard(self)
            os.close(self._fd)  # closing the descriptor drops the lock
            self._fd = None

    def __del__(self) -> None:  # a store dropped without close(): its lock goes with it, as a file's would
        with contextlib.suppress(Exception):
            self.release()


def _read_only(path: Path) -> sqlite3.Connection:
    return sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, isolation_level=None)


def _check_version(conn: sqlite3.Connection, path: Path) -> None:
    """Refuse a store of a newer schema (and one without llmga's tables: SQLite says "no such table")."""
    row = conn.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone()
    version = None if row is None else json.loads(row[0])
    if version is not None and int(version) > _SCHEMA_VERSION:
        raise LLMGAError(f"{path} was written by a newer llmga (store schema {version}); upgrade llmga to read it")


def _check(path: Path) -> None:
    """Before a store is written to: its schema version, and every page of it (SQLite's quick_check), read through
    a read-only connection, so a damaged store is refused with nothing written to it."""
    conn = _read_only(path)
    try:
        _check_version(conn, path)
        problems = [str(problem) for (problem,) in conn.execute("PRAGMA quick_check(3)")]
        if problems != ["ok"]:
            text = "; ".join(problems).replace("*** in database main ***", "")
            raise sqlite3.DatabaseError(f"SQLite's check of the file says: {text.strip()}")
    finally:
        conn.close()


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
                conn.executescript(_SCHEMA + _VIEWS)
            else:
                conn = _read_only(path)
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
                conn.executescript(_SCHEMA + _VIEWS)
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
        """The store of an existing run; ``write`` locks it for this process (to resume the run).

        A store written by a newer llmga, or one that cannot be read, raises
        :class:`~llmga.errors.LLMGAError` (:class:`StoreError`); before a
        store is opened for writing, all of it is checked (``PRAGMA
        quick_check``) so a damaged one is refused before anything is written.
        """
        path = Path(folder)
        if not cls.exists(path):
            raise LLMGAError(
                f"{str(folder)!r} has no run store ({STORE_FILE}); give a run folder made by `llmga optimize` "
                "(runs made before llmga kept a store cannot be resumed)"
            )
        lock = None
        if write:
            lock = _Lock(path)
            lock.acquire()
        try:
            if write:
                _check(path / STORE_FILE)
                return cls._connect(path, write=True, lock=lock)
            store = cls._connect(path, write=False)
            try:
                _check_version(store.conn, path / STORE_FILE)
            except BaseException:
                store.close()
                raise
            return store
        except BaseException as exc:
            if lock is not None:
                lock.release()
            if isinstance(exc, _FAILURES) and not isinstance(exc, _MISTAKES):
                raise _store_error(path / STORE_FILE, exc) from exc
            raise

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
    @_guarded
    def set_meta(self, **entries: Any) -> None:
        with self._transaction():
            rows = [(k, dumps(v)) for k, v in entries.items()]
            self.conn.executemany("INSERT OR REPLACE INTO meta VALUES (?, ?)", rows)

    @_guarded
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

    @_guarded
    def add_generation(
        self, gen: int, record: dict[str, Any], rng: dict[str, Any] | None, population: Sequence[int]
    ) -> None:
        with self._transaction():
            self.conn.execute(
                "INSERT INTO generations VALUES (?, ?, ?, ?)",
                (gen, dumps(record), dumps(rng) if rng is not None else None, dumps(list(population))),
            )

    @_guarded
    def add_llm_call(self, record: dict[str, Any]) -> None:
        with self._transaction():
            self.conn.execute("INSERT INTO llm_calls (record) VALUES (?)", (dumps(record),))

    @_guarded
    def add_completions(self, rows: Sequence[tuple[str, dict[str, Any]]]) -> None:
        with self._transaction():
            self.conn.executemany(
                "INSERT INTO completions (prompt, completion) VALUES (?, ?)", [(p, dumps(c)) for p, c in rows]
            )

    @_guarded
    def add_asked(self, rows: Sequence[tuple[str, int, str, str, int]]) -> None:
        """Record molecules a campaign asked for: ``(smiles, batch, operator, parents, recipe)``
        (recipe: the index of the recipe that made it, -1 for the initial pool)."""
        with self._transaction():
            self.conn.executemany("INSERT INTO asked VALUES (?, ?, ?, ?, ?, 0)", rows)

    @_guarded
    def add_told(self, evaluations: Sequence[Evaluation]) -> None:
        """Record told scores, and mark the molecules that were asked for as told, in one transaction."""
        with self._transaction():
            self._insert_evaluations(evaluations)
            self.conn.executemany("UPDATE asked SET told = 1 WHERE smiles = ?", [(e.smiles,) for e in evaluations])

    @_guarded
    def add_prescreen(self, rows: Sequence[tuple[int, str, float, bool]]) -> None:
        with self._transaction():
            self.conn.executemany(
                "INSERT INTO prescreen (generation, smiles, prescreen, scored) VALUES (?, ?, ?, ?)",
                [(g, s, _number(v), int(k)) for g, s, v, k in rows],
            )

    # ---------------------------------------------------------------- reading
    @_guarded
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

    @_guarded
    def count(self, table: str) -> int:
        if table not in ("evaluations", "generations", "llm_calls", "completions", "prescreen", "asked"):
            raise ValueError(f"no table {table!r}")
        return int(self.conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0])  # noqa: S608 - name checked

    @_guarded
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

    @_guarded
    def generations(self) -> list[tuple[int, dict[str, Any], dict[str, Any] | None, list[int]]]:
        """Per generation: its number, statistics record, random state at its end and population calls."""
        rows = self.conn.execute("SELECT gen, record, rng, population FROM generations ORDER BY gen")
        return [
            (gen, json.loads(rec), json.loads(rng) if rng else None, json.loads(pop) if pop else [])
            for gen, rec, rng, pop in rows
        ]

    @_guarded
    def llm_calls(self) -> list[dict[str, Any]]:
        return [json.loads(r) for (r,) in self.conn.execute("SELECT record FROM llm_calls ORDER BY id")]

    @_guarded
    def completions(self) -> list[tuple[str, dict[str, Any]]]:
        rows = self.conn.execute("SELECT prompt, completion FROM completions ORDER BY id")
        return [(p, json.loads(c)) for p, c in rows]

    @_guarded
    def pending(self) -> list[tuple[str, int, str, str]]:
        """A campaign's molecules asked for and not told yet, in the order asked."""
        rows = self.conn.execute("SELECT smiles, batch, operator, parents FROM asked WHERE told = 0 ORDER BY rowid")
        return [(str(s), int(b), str(o), str(p)) for s, b, o, p in rows]

    @_guarded
    def asked(self) -> list[tuple[str, int, int, bool]]:
        """Every molecule a campaign asked for: ``(smiles, batch, recipe, told)``, in the order asked."""
        rows = self.conn.execute("SELECT smiles, batch, recipe, told FROM asked ORDER BY rowid")
        return [(str(s), int(b), int(r), bool(t)) for s, b, r, t in rows]

    @_guarded
    def prescreen(self) -> list[tuple[int, str, float, bool]]:
        rows = self.conn.execute("SELECT generation, smiles, prescreen, scored FROM prescreen ORDER BY id")
        return [(g, s, _unnumber(v), bool(k)) for g, s, v, k in rows]
