"""The result of a run, read from its folder: DataFrames and the best molecules."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd

from llmga.config import Config
from llmga.errors import LLMGAError
from llmga.store import (
    CONFIG_FILE,
    EVALUATION_COLUMNS,
    EVALUATIONS_FILE,
    GENERATIONS_FILE,
    LLM_CALL_COLUMNS,
    LLM_CALLS_FILE,
    PARETO_FILE,
    RUN_FILE,
    STORE_FILE,
    SUMMARY_FILE,
    RunStore,
    evaluation_table,
)

__all__ = ["RunResult", "load"]


# Text columns of the LLM call log; every other column of it is a number.
_LLM_TEXT_COLUMNS = (
    "operator", "backend", "model", "template", "prompt", "reply", "parents", "error", "error_kind", "finish_reason"
)  # fmt: skip


def _typed_llm_calls(frame: pd.DataFrame) -> pd.DataFrame:
    """The LLM call log with text columns as strings (empty, never NaN, even when every reply is empty)
    and the other columns as numbers (NaN where a value is missing)."""
    for column in frame.columns:
        if column in _LLM_TEXT_COLUMNS:
            frame[column] = frame[column].astype(object).fillna("").astype(str)  # also a column no record has
        else:
            frame[column] = pd.to_numeric(frame[column].replace("", None), errors="coerce")
    return frame


class RunResult:
    """A finished (or interrupted) run.

    ``evaluations`` holds every oracle call in call order (``call``,
    ``smiles``, ``score``, ``generation``, ``operator``, ``parents``);
    ``history`` one row per generation; ``summary`` the PMO metrics and why
    the run stopped; :meth:`best` the top molecules.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        if (self.path / CONFIG_FILE).exists():
            self.config = Config.from_json(self.path / CONFIG_FILE)
            self.run_info: dict[str, Any] = _read_json(self.path / RUN_FILE)
        else:  # a run whose store has just appeared, before its JSON files: the store has both
            store = RunStore.open(self.path)
            try:
                self.config = Config.from_dict(store.config())
                self.run_info = store.meta("run") or {}
            finally:
                store.close()
        summary_path = self.path / SUMMARY_FILE
        self.summary: dict[str, Any] = _read_json(summary_path) if summary_path.exists() else {}
        self._evaluations: pd.DataFrame | None = None
        self._history: pd.DataFrame | None = None

    @property
    def direction(self) -> str:
        return str(self.run_info.get("objective", {}).get("direction", "maximize"))

    @property
    def evaluations(self) -> pd.DataFrame:
        if self._evaluations is None:
            if RunStore.exists(self.path):
                self._evaluations = self._from_store()[0]
            else:  # a folder written before runs kept a store
                self._evaluations = pd.read_csv(
                    self.path / EVALUATIONS_FILE,
                    dtype={"smiles": str, "operator": str, "parents": str},
                    keep_default_na=False,
                    na_values={"score": [""]},
                )
        return self._evaluations

    @property
    def history(self) -> pd.DataFrame:
        if self._history is None:
            path = self.path / GENERATIONS_FILE
            if RunStore.exists(self.path):
                self._history = self._from_store()[1]
            else:
                self._history = pd.read_csv(path) if path.exists() else pd.DataFrame()
        return self._history

    def _from_store(self) -> tuple[pd.DataFrame, pd.DataFrame]:
        """Evaluations and history read from the run's store (also while the run goes on)."""
        store = RunStore.open(self.path)
        try:
            columns, rows = evaluation_table(store)
            generations = [record for _, record, _, _ in store.generations()]
        finally:
            store.close()
        numbers = {c: float for c in columns if c not in EVALUATION_COLUMNS} | {"score": float}
        evaluations = pd.DataFrame(rows, columns=columns).astype(numbers)
        history = pd.DataFrame(generations)
        self._evaluations, self._history = evaluations, history
        return evaluations, history

    @property
    def llm_calls(self) -> pd.DataFrame:
        """Every language-model call (embedded model, LLM operators, memos), one row each."""
        if RunStore.exists(self.path):
            store = RunStore.open(self.path)
            try:
                calls = store.llm_calls()
            finally:
                store.close()
            return _typed_llm_calls(pd.DataFrame(calls, columns=list(LLM_CALL_COLUMNS)))
        path = self.path / LLM_CALLS_FILE
        if not path.exists():
            return _typed_llm_calls(pd.DataFrame(columns=list(LLM_CALL_COLUMNS)))
        return _typed_llm_calls(pd.read_csv(path, dtype={c: str for c in _LLM_TEXT_COLUMNS}, keep_default_na=False))

    def populations(self) -> dict[int, list[int]]:
        """The population after each generation, as the calls of its molecules (best first)."""
        if not RunStore.exists(self.path):
            return {}
        store = RunStore.open(self.path)
        try:
            return {gen: calls for gen, _, _, calls in store.generations() if calls}
        finally:
            store.close()

    def objective_names(self) -> list[str]:
        """The objectives of a Pareto run (one column each in :attr:`evaluations`), else ``[]``."""
        return [c for c in self.evaluations.columns if c not in EVALUATION_COLUMNS]

    def pareto_front(self) -> pd.DataFrame:
        """A Pareto run's non-dominated molecules (empty for a one-objective run)."""
        path = self.path / PARETO_FILE
        return pd.read_csv(path) if path.exists() else pd.DataFrame()

    def _repr_html_(self) -> str:
        """How a result shows itself in Jupyter: the summary, the optimisation curve and the best molecules."""
        from llmga.report import result_html

        return result_html(self)

    def to_frame(self) -> pd.DataFrame:
        """A copy of every evaluation, in call order."""
        return self.evaluations.copy()

    def best(self, n: int = 10) -> pd.DataFrame:
        """The ``n`` best scored molecules (best first; NaN scores excluded)."""
        df = self.evaluations.dropna(subset=["score"])
        ascending = self.direction == "minimize"
        return df.sort_values(["score", "call"], ascending=[ascending, True]).head(n).reset_index(drop=True)

    @property
    def best_smiles(self) -> str | None:
        top = self.best(1)
        return None if top.empty else str(top.loc[0, "smiles"])

    @property
    def best_score(self) -> float | None:
        top = self.best(1)
        return None if top.empty else float(top["score"].iloc[0])

    def __repr__(self) -> str:
        s = self.summary
        return (
            f"<RunResult {self.config.objective!r} calls={s.get('calls', len(self.evaluations))} "
            f"best={self.best_score} top10_auc={s.get('top10_auc')} path={str(self.path)!r}>"
        )


def _read_json(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text())
    return data


def load(path: str | Path) -> RunResult:
    """Open a run folder written by :func:`llmga.optimize` or ``llmga optimize``."""
    p = Path(path)
    if not (p / STORE_FILE).exists() and not ((p / CONFIG_FILE).exists() and (p / EVALUATIONS_FILE).exists()):
        raise LLMGAError(
            f"{str(path)!r} is not a run folder (it lacks {CONFIG_FILE} or {STORE_FILE}); "
            "give a folder made by `llmga optimize`, e.g. runs/logp-20260101-120000-s0"
        )
    return RunResult(p)
