"""The budgeted, cached gate between candidate molecules and the objective."""

from __future__ import annotations

import math
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from llmga.errors import ObjectiveError, ResumeError
from llmga.executors import Executor, SerialExecutor
from llmga.objectives import Objective, check_values, value_spec

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
    components: tuple[float, ...] = ()  # every value of an objective with several (a Pareto run); () for one


class Oracle:
    """Scores unique molecules under an exact budget of oracle calls.

    * A molecule already scored is served from the cache and not counted.
    * Within one batch, repeats are scored once.
    * Once ``budget`` calls are used, further new molecules are not scored
      (their slot in the result is ``None``); the budget is never exceeded.
    * Callers hand in only valid canonical SMILES: invalid molecules never
      reach the objective.
    * A batch is scored in chunks of about ``chunk_seconds`` of objective
      time (on all workers), each handed to ``on_evaluations`` as soon as it
      is scored, so a slow objective's results are saved one chunk at a time.
    * ``replay`` (a stopped run's evaluations, in call order) answers the
      first calls instead of the objective; each must be the molecule the
      record has at that call, or :class:`~llmga.errors.ResumeError` says
      where the run left its record.
    * An objective with ``k > 1`` directions gives ``(n, k)`` values: each
      evaluation keeps its row in ``components`` and scores the first value
      (NaN when any value is NaN). With one direction ``components`` is ``()``.
    """

    def __init__(
        self,
        objective: Objective,
        budget: int,
        on_evaluations: Callable[[list[Evaluation]], None] | None = None,
        executor: Executor | None = None,
        *,
        replay: Sequence[Evaluation] = (),
        chunk_seconds: float = 1.0,
    ) -> None:
        self.objective = objective
        self.width = len(value_spec(objective)[0])  # values per molecule
        self.executor = executor if executor is not None else SerialExecutor()
        self.budget = int(budget)
        self.records: list[Evaluation] = []
        self.cache: dict[str, Evaluation] = {}
        self._on_evaluations = on_evaluations
        self.cache_hits = 0
        self.seconds = 0.0  # wall time spent inside the objective
        self.replay = list(replay)
        self.failures: list[tuple[str, str]] = []  # molecules given NaN because their worker kept dying
        self.chunk_seconds = chunk_seconds
        self._per_molecule: float | None = None  # objective seconds per molecule, on all workers, so far

    @property
    def used(self) -> int:
        return len(self.records)

    @property
    def remaining(self) -> int:
        return self.budget - len(self.records)

    @property
    def exhausted(self) -> bool:
        return len(self.records) >= self.budget

    def record(self, evaluations: Sequence[Evaluation]) -> None:
        """Take evaluations scored elsewhere (a lab's results told to a campaign) into the record and cache,
        in order; those already recorded (everything :meth:`evaluate` returned) are skipped."""
        for e in evaluations:
            if e.smiles not in self.cache:
                self.records.append(e)
                self.cache[e.smiles] = e

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
            start = len(self.records)
            recorded = self.replay[start : start + len(batch)]
            for i, (rec, smi) in enumerate(zip(recorded, batch, strict=False)):
                if rec.smiles != smi:
                    raise ResumeError(
                        f"the resumed run left its record at oracle call {start + i + 1}: the record has "
                        f"{rec.smiles!r}, the run now asks for {smi!r} (was llmga, a model, the objective's "
                        "code or the initial molecules changed since the run started?); the record is unchanged"
                    )
            if recorded:
                self._check_replay(recorded, start)
                self._add([(rec.smiles, rec.score, rec.components) for rec in recorded], new, generation)
            rest = batch[len(recorded) :]
            while rest:
                size = self._chunk(len(rest))
                part, rest = rest[:size], rest[size:]
                started = time.perf_counter()
                try:
                    values = self._score(part)
                finally:
                    elapsed = time.perf_counter() - started
                    self.seconds += elapsed
                self._per_molecule = elapsed / len(part)
                self._add([(smi, *self._split(row)) for smi, row in zip(part, values, strict=True)], new, generation)
        return [self.cache.get(c.smiles) for c in candidates]

    def _split(self, row: np.ndarray) -> tuple[float, tuple[float, ...]]:
        """A molecule's score and components from its row of values."""
        if self.width == 1:
            return float(row[0]), ()
        components = tuple(float(v) for v in row)
        return (math.nan if any(math.isnan(v) for v in components) else components[0]), components

    def _check_replay(self, recorded: Sequence[Evaluation], start: int) -> None:
        """Each replayed evaluation must hold as many values as the objective gives (none for one value)."""
        want = self.width if self.width > 1 else 0
        for i, rec in enumerate(recorded):
            if len(rec.components) != want:
                raise ResumeError(
                    f"the resumed run left its record at oracle call {start + i + 1}: the record has "
                    f"{len(rec.components)} values for {rec.smiles!r}, objective {self.objective.name!r} gives "
                    f"{self.width} (was the objective changed since the run started?); the record is unchanged"
                )

    def _chunk(self, n: int) -> int:
        """How many of ``n`` molecules to score next: about ``chunk_seconds`` of work for all workers."""
        workers = self.executor.workers if self.objective.parallel else 1
        least = 4 * workers if workers > 1 else 1  # the smallest batch that _call spreads over the workers
        if self._per_molecule is None or self._per_molecule <= 0:
            return min(n, least)
        return min(n, max(least, round(self.chunk_seconds * workers / self._per_molecule)))

    def _add(
        self, scored: list[tuple[str, float, tuple[float, ...]]], new: dict[str, Candidate], generation: int
    ) -> None:
        """Record scored molecules as the next calls and hand them to the observer."""
        start = len(self.records)
        fresh = [
            Evaluation(start + i + 1, smi, score, generation, new[smi].operator, new[smi].parents, components)
            for i, (smi, score, components) in enumerate(scored)
        ]
        self.records.extend(fresh)
        self.cache.update((e.smiles, e) for e in fresh)
        if self._on_evaluations is not None:
            self._on_evaluations(fresh)

    def _score(self, batch: list[str]) -> np.ndarray:
        """The ``(len(batch), width)`` values of ``batch``, checked."""
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
        return check_values(values, batch, name, self.width)

    def _call(self, batch: list[str]) -> object:
        """The objective on ``batch``: in chunks on the executor's workers when it allows."""
        workers = self.executor.workers
        if workers == 1 or not self.objective.parallel or len(batch) < 4 * workers:
            return self.objective(batch)
        size = -(-len(batch) // workers)
        chunks = [batch[i : i + size] for i in range(0, len(batch), size)]
        parts = self.executor.map(self.objective, chunks, min_items=1, fallback=self._rescue)
        name = self.objective.name
        return np.concatenate([check_values(p, c, name, self.width) for p, c in zip(parts, chunks, strict=True)])

    def _rescue(self, chunk: list[str], reason: str, alone: bool = False) -> np.ndarray:
        """Values of a chunk whose worker kept dying: each molecule again on its own, and one that fails
        again once more with nothing else running beside it (a dying worker takes the tasks queued on it
        down too); a row of NaN for a molecule that kills its worker even then (the reason in :attr:`failures`)."""
        name = self.objective.name
        if len(chunk) > 1:
            singles = self.executor.map(self.objective, [[s] for s in chunk], min_items=1, fallback=self._rescue)
            return np.concatenate([check_values(p, [s], name, self.width) for p, s in zip(singles, chunk, strict=True)])
        if not alone:
            retry = self.executor.map(self.objective, [chunk], min_items=1, fallback=self._rescue_alone)
            return check_values(retry[0], chunk, name, self.width)
        self.failures.append((chunk[0], reason))
        warnings.warn(
            f"objective {name!r} lost its worker on molecule {chunk[0]!r} again and again ({reason}); it scores NaN",
            RuntimeWarning,
            stacklevel=2,
        )
        return np.full((1, self.width), math.nan)

    def _rescue_alone(self, chunk: list[str], reason: str) -> np.ndarray:
        return self._rescue(chunk, reason, alone=True)

    def _find_culprit(self, batch: list[str]) -> str | None:
        for smi in batch:
            try:
                self.objective([smi])
            except Exception:  # noqa: BLE001
                return smi
        return None
