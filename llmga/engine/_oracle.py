"""The budgeted, cached gate between candidate molecules and the objective."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from llmga.errors import ObjectiveError
from llmga.executors import Executor, SerialExecutor
from llmga.objectives import Objective, check_scores

__all__ = ["Candidate", "Evaluation", "Oracle"]


@dataclass(frozen=True)
class Candidate:
    """A canonical, valid SMILES waiting to be scored, with where it came from."""

    smiles: str
    operator: str = "init"
    parents: tuple[int, ...] = ()


@dataclass(frozen=True)
class Evaluation:
    """One oracle call: the ``call``-th unique molecule scored in this run (1-based)."""

    call: int
    smiles: str
    score: float
    generation: int
    operator: str
    parents: tuple[int, ...]
    components: tuple[float, ...] = ()  # every objective's score, for a Pareto run


class Oracle:
    """Scores unique molecules under an exact budget of oracle calls.

    * A molecule already scored is served from the cache and not counted.
    * Within one batch, repeats are scored once.
    * Once ``budget`` calls are used, further new molecules are not scored
      (their slot in the result is ``None``); the budget is never exceeded.
    * Callers hand in only valid canonical SMILES: invalid molecules never
      reach the objective.
    """

    def __init__(
        self,
        objective: Objective,
        budget: int,
        on_evaluations: Callable[[list[Evaluation]], None] | None = None,
        executor: Executor | None = None,
    ) -> None:
        self.objective = objective
        self.executor = executor if executor is not None else SerialExecutor()
        self.budget = int(budget)
        self.records: list[Evaluation] = []
        self.cache: dict[str, Evaluation] = {}
        self._on_evaluations = on_evaluations
        self.cache_hits = 0
        self.seconds = 0.0  # wall time spent inside the objective

    @property
    def used(self) -> int:
        return len(self.records)

    @property
    def remaining(self) -> int:
        return self.budget - len(self.records)

    @property
    def exhausted(self) -> bool:
        return len(self.records) >= self.budget

    def scores(self) -> np.ndarray:
        """All scores in call order (NaN where the objective could not score)."""
        return np.fromiter((r.score for r in self.records), dtype=float, count=len(self.records))

    def evaluate(self, candidates: Sequence[Candidate], generation: int) -> list[Evaluation | None]:
        """Return the evaluation of each candidate, scoring only the new ones that fit the budget."""
        new: dict[str, Candidate] = {}
        for cand in candidates:
            if cand.smiles in self.cache or cand.smiles in new:
                self.cache_hits += 1
            elif len(new) < self.remaining:
                new[cand.smiles] = cand
        if new:
            batch = list(new)
            start_time = time.perf_counter()
            try:
                scores = self._score(batch)
            finally:
                self.seconds += time.perf_counter() - start_time
            start = len(self.records)
            vectors: dict[str, tuple[float, ...]] = getattr(self.objective, "vectors", {})
            fresh = [
                Evaluation(
                    start + i + 1, smi, float(s), generation, new[smi].operator, new[smi].parents, vectors.get(smi, ())
                )
                for i, (smi, s) in enumerate(zip(batch, scores, strict=True))
            ]
            self.records.extend(fresh)
            self.cache.update((e.smiles, e) for e in fresh)
            if self._on_evaluations is not None:
                self._on_evaluations(fresh)
        return [self.cache.get(c.smiles) for c in candidates]

    def _score(self, batch: list[str]) -> np.ndarray:
        name = self.objective.name
        try:
            values = self._call(batch)
        except ObjectiveError:
            raise
        except Exception as exc:
            culprit = self._find_culprit(batch)
            where = f"on molecule {culprit!r}" if culprit else f"on a batch of {len(batch)} molecules"
            raise ObjectiveError(
                f"objective {name!r} raised {type(exc).__name__}: {exc} {where}; make it return "
                "NaN for molecules it cannot score (everything scored so far is saved)"
            ) from exc
        return check_scores(values, batch, name)

    def _call(self, batch: list[str]) -> object:
        """The objective on ``batch``: in chunks on the executor's workers when it allows."""
        workers = self.executor.workers
        if workers == 1 or not self.objective.parallel or len(batch) < 4 * workers:
            return self.objective(batch)
        size = -(-len(batch) // workers)
        chunks = [batch[i : i + size] for i in range(0, len(batch), size)]
        parts = self.executor.map(self.objective, chunks, min_items=1)
        checked = [check_scores(p, c, self.objective.name) for p, c in zip(parts, chunks, strict=True)]
        return np.concatenate(checked)

    def _find_culprit(self, batch: list[str]) -> str | None:
        for smi in batch:
            try:
                self.objective([smi])
            except Exception:  # noqa: BLE001
                return smi
        return None
