"""A run folder: its store (``run.sqlite``), configuration, and the tables exported from the store.

While a run goes, everything it computes is committed to the store (see
:mod:`llmga.store._sqlite`); the CSV tables (read them with
``pandas.read_csv``) are exports of it, written when the run ends, however
it ends, and again by ``llmga export RUN`` (after a kill -9, say).
:func:`llmga.load` reads the store itself, so it also sees a run in progress.
"""

from __future__ import annotations

import csv
import json
import re
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from llmga.engine import Evaluation, GenerationReport
from llmga.errors import ConfigError, ResumeError
from llmga.store._sqlite import LOCK_FILE, STORE_FILE, RunStore, _number, dumps
from llmga.store._sqlite import clean as _clean

__all__ = [
    "EVALUATION_COLUMNS",
    "LLM_CALLS_FILE",
    "LLM_CALL_COLUMNS",
    "RunFolder",
    "default_run_dir",
    "evaluation_table",
    "export",
]

EVALUATION_COLUMNS = ("call", "smiles", "score", "generation", "operator", "parents")
CONFIG_FILE = "config.json"
RUN_FILE = "run.json"
EVALUATIONS_FILE = "evaluations.csv"
GENERATIONS_FILE = "generations.csv"
BEST_FILE = "best.csv"
POPULATION_FILE = "population.csv"
SUMMARY_FILE = "summary.json"
LLM_CALLS_FILE = "llm_calls.csv"
PRESCREEN_FILE = "prescreen.csv"
PARETO_FILE = "pareto_front.csv"
LLM_CALL_COLUMNS = (
    "time",
    "generation",
    "operator",
    "backend",
    "model",
    "template",
    "prompt",
    "reply",
    "tokens_in",
    "tokens_out",
    "latency_s",
    "asked",
    "parsed",
    "valid",
    "new",
    "parents",
    "error",
    "error_kind",
    "finish_reason",
    "reply_chars",
)


def default_run_dir(objective_name: str, seed: int, root: str | Path = "runs") -> Path:
    """``runs/<objective>-<YYYYmmdd-HHMMSS>-s<seed>``, made unique with a suffix if needed."""
    slug = re.sub(r"[^A-Za-z0-9_.-]+", "_", objective_name).strip("_")[:40] or "run"
    base = Path(root) / f"{slug}-{time.strftime('%Y%m%d-%H%M%S')}-s{seed}"
    path, n = base, 1
    while path.exists():
        n += 1
        path = base.with_name(f"{base.name}-{n}")
    return path


def write_json(path: Path, data: dict[str, Any]) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(dumps(data, indent=2) + "\n")
    tmp.replace(path)


def _write_csv(path: Path, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    with open(tmp, "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(columns)
        writer.writerows(rows)
    tmp.replace(path)


def evaluation_table(db: RunStore) -> tuple[list[str], list[list[Any]]]:
    """The evaluations of a store as columns and rows (a Pareto run's objectives after the fixed
    columns); NaN scores are None."""
    components = list(db.meta("components") or [])
    rows = [
        [e.call, e.smiles, _number(e.score), e.generation, e.operator, " ".join(str(p) for p in e.parents)]
        + [_number(v) for v in e.components[: len(components)]]
        for e in db.evaluations()
    ]
    return [*EVALUATION_COLUMNS, *components], rows


def _tables(db: RunStore) -> list[tuple[str, list[str], list[list[Any]]]]:
    """A run's tables from its store, as (CSV file name, columns, rows); NaN and missing values are None."""
    tables: list[tuple[str, list[str], list[list[Any]]]] = [(EVALUATIONS_FILE, *evaluation_table(db))]
    generations = db.generations()
    if generations:
        fields = list(dict.fromkeys(k for _, rec, _, _ in generations for k in rec))  # every key, first seen first
        tables.append((GENERATIONS_FILE, fields, [[rec.get(k) for k in fields] for _, rec, _, _ in generations]))
    calls = db.llm_calls()
    if calls:
        tables.append((LLM_CALLS_FILE, list(LLM_CALL_COLUMNS), [[c.get(k) for k in LLM_CALL_COLUMNS] for c in calls]))
    screened = db.prescreen()
    if screened:
        columns = ["generation", "smiles", "prescreen", "scored"]
        tables.append((PRESCREEN_FILE, columns, [[g, s, _number(v), int(k)] for g, s, v, k in screened]))
    return tables


def export(path: str | Path, store: RunStore | None = None, *, fmt: str = "csv") -> list[Path]:
    """Write a run's tables from its store: evaluations, generations, LLM calls, prescreen scores.

    ``fmt`` is ``csv`` (the run folder's own tables, written whenever a
    run ends) or ``parquet`` (needs pyarrow). Returns the files written.
    Tables the run has no rows for (no LLM, no prescreen) are not written.
    """
    if fmt not in ("csv", "parquet"):
        raise ConfigError(f"--format {fmt!r}: choose csv or parquet")
    folder = Path(path)
    own = store is None
    db = RunStore.open(folder) if store is None else store
    try:
        tables = _tables(db)
    finally:
        if own:
            db.close()
    written: list[Path] = []
    for name, columns, rows in tables:
        target = folder / name
        if fmt == "csv":
            _write_csv(target, columns, ([_cell(v) for v in row] for row in rows))
        else:
            try:
                import pyarrow  # noqa: F401 - pandas writes Parquet through it
            except ImportError:
                raise ConfigError("--format parquet needs pyarrow: pip install 'llmga[parquet]' (or pyarrow)") from None
            import pandas as pd

            target = target.with_suffix(".parquet")
            pd.DataFrame(rows, columns=columns).to_parquet(target, index=False)
        written.append(target)
    return written


def _cell(value: Any) -> Any:
    """A CSV cell: empty for a missing value, ``repr`` for floats (exact round trip)."""
    if value is None:
        return ""
    return repr(value) if isinstance(value, float) else value


class RunFolder:
    """Writes one run's folder: an engine observer that commits everything to the run's store.

    :meth:`create` starts a new run; :meth:`resume` reopens a stopped one,
    after which the events the engine replays (everything up to where the
    run stopped) are checked against the record instead of written again.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.store: RunStore | None = None
        self._stored = {"evaluations": 0, "generations": 0, "llm_calls": 0, "prescreen": 0}
        self._seen = {"llm_calls": 0, "prescreen": 0}
        self._record: list[tuple[int, dict[str, Any], dict[str, Any] | None, list[int]]] = []
        self.recorded_evaluations: list[Evaluation] = []
        self.recorded_completions: list[tuple[str, dict[str, Any]]] = []

    def create(self, config: dict[str, Any], run_info: dict[str, Any], components: Sequence[str] = ()) -> None:
        """Write the configuration and run card and open the store; ``components`` names a Pareto run's
        objectives, each a column of ``evaluations.csv`` after the fixed ones."""
        # A run killed while its store was being made leaves only these; such a folder may be reused.
        leftovers = {LOCK_FILE, STORE_FILE + ".new"}
        if self.path.exists() and any(p.name not in leftovers for p in self.path.iterdir()):
            raise ConfigError(
                f"--out {str(self.path)!r} already holds files; choose a new folder (or delete that one) "
                "so no earlier run is overwritten, or continue a stopped run with --resume"
            )
        self.path.mkdir(parents=True, exist_ok=True)
        self.store = RunStore.create(
            self.path, {"config": _clean(config), "run": _clean(run_info), "components": list(components)}
        )
        write_json(self.path / CONFIG_FILE, _clean(config))
        write_json(self.path / RUN_FILE, _clean(run_info))

    def resume(self) -> dict[str, Any]:
        """Reopen the store of a stopped run (locking it) and load its record; returns its configuration."""
        self.store = RunStore.open(self.path, write=True)
        try:  # a store that cannot be read (StoreError) is released at once, its lock too
            config = self.store.config()
            self.recorded_evaluations = self.store.evaluations()
            self.recorded_completions = self.store.completions()
            self._record = self.store.generations()
            for table in self._stored:
                self._stored[table] = self.store.count(table)
        except BaseException:
            self.store.close()
            self.store = None
            raise
        return config

    def _store(self) -> RunStore:
        assert self.store is not None, "RunFolder.create() or resume() must be called first"
        return self.store

    def on_evaluations(self, evaluations: list[Evaluation]) -> None:
        store = self._store()
        fresh = [e for e in evaluations if e.call > self._stored["evaluations"]]
        if fresh:
            store.add_evaluations(fresh)

    def on_generation(self, report: GenerationReport) -> None:
        store = self._store()
        if report.generation < self._stored["generations"]:
            gen, _, rng, population = self._record[report.generation]
            same_rng = rng is None or report.rng_state is None or json.loads(dumps(report.rng_state)) == rng
            if not same_rng or list(report.population) != population:
                what = "the random generator's state" if not same_rng else "the population"
                raise ResumeError(
                    f"the resumed run in {str(self.path)!r} left its record at generation {gen}: {what} "
                    "differs from the stored one, so the operators did not make the same children (was llmga, "
                    "a model or the initial molecules changed since the run started?); the store is unchanged: "
                    "rerun with the version that made it, or start a new run"
                )
            return
        store.add_generation(report.generation, report.record, report.rng_state, report.population)

    def on_llm_call(self, record: dict[str, Any]) -> None:
        """Commit one language-model call (a prompt and its reply) to the store."""
        self._seen["llm_calls"] += 1
        if self._seen["llm_calls"] > self._stored["llm_calls"]:
            self._store().add_llm_call(record)

    def on_completions(self, rows: list[tuple[str, dict[str, Any]]]) -> None:
        """Commit an external language model's raw completions (for replay on resume)."""
        self._store().add_completions(rows)

    def on_prescreen(self, rows: list[tuple[int, str, float, bool]]) -> None:
        """Commit the prescreen scores of one generation's new children."""
        first = self._seen["prescreen"]
        self._seen["prescreen"] += len(rows)
        skip = max(0, self._stored["prescreen"] - first)
        if rows[skip:]:
            self._store().add_prescreen(rows[skip:])

    def write_table(self, name: str, columns: list[str], rows: list[tuple[Any, ...]]) -> None:
        _write_csv(self.path / name, columns, rows)

    def write_summary(self, summary: dict[str, Any]) -> None:
        write_json(self.path / SUMMARY_FILE, _clean(summary))
        if self.store is not None:
            self.store.set_meta(summary=_clean(summary))

    def close(self) -> None:
        """Export the tables as CSV and release the store."""
        if self.store is None:
            return
        try:
            export(self.path, self.store)
        finally:
            self.store.close()
            self.store = None
