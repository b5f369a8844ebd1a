"""Which scored molecules stay in the population, and how parents are ranked for mating.

One strategy per run, picked from the objective's directions by
:func:`survival_for`: :class:`Truncation` (the best ``size`` by score) for
one value per molecule, :class:`ParetoSurvival` (NSGA-II) for several.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Any

import numpy as np
from deap import base, tools

from llmga.engine._oracle import Evaluation
from llmga.operators import Parent

__all__ = ["Individual", "ParetoSurvival", "Survival", "Truncation", "survival_for"]


class MaxFitness(base.Fitness):
    weights = (1.0,)


class MinFitness(base.Fitness):
    weights = (-1.0,)


class Individual:
    """A scored molecule in the population, with a DEAP fitness."""

    __slots__ = ("call", "fitness", "generation", "operator", "smiles")

    def __init__(self, evaluation: Evaluation, fitness_class: type[base.Fitness]) -> None:
        self.smiles = evaluation.smiles
        self.call = evaluation.call
        self.generation = evaluation.generation
        self.operator = evaluation.operator
        self.fitness = fitness_class(evaluation.components or (evaluation.score,))

    @property
    def score(self) -> float:
        return float(self.fitness.values[0])

    def as_parent(self) -> Parent:
        return Parent(self.smiles, self.score, self.call)

    def __repr__(self) -> str:
        return f"Individual({self.smiles!r}, score={self.score:.4g}, call={self.call})"


class Survival(ABC):
    """The survival strategy of a run.

    Contract: :meth:`survivors` returns at most ``size`` of the given
    individuals (distinct SMILES, the first of each kept), best first, and
    is deterministic; :meth:`mating_fitness` gives one larger-is-better
    number per population member, in order; :meth:`observe` sees every
    evaluation once, in call order, and returns extra fields for the
    generation's record (none by default). ``fitness_class`` is the DEAP
    fitness the individuals carry; ``directions`` has one entry per value.
    """

    fitness_class: type[base.Fitness]

    def __init__(self, directions: Sequence[str]) -> None:
        self.directions = tuple(directions)
        self.weights = tuple(1.0 if d == "maximize" else -1.0 for d in self.directions)

    def individuals(self, evaluations: Sequence[Evaluation | None]) -> list[Individual]:
        """The scored (not NaN) evaluations as individuals, each SMILES once."""
        seen: dict[str, Individual] = {}
        for ev in evaluations:
            if ev is not None and not math.isnan(ev.score) and ev.smiles not in seen:
                seen[ev.smiles] = Individual(ev, self.fitness_class)
        return list(seen.values())

    def survivors(self, candidates: Sequence[Individual], size: int) -> list[Individual]:
        unique: dict[str, Individual] = {}
        for ind in candidates:
            unique.setdefault(ind.smiles, ind)
        return self._select(list(unique.values()), size)

    @abstractmethod
    def _select(self, unique: list[Individual], size: int) -> list[Individual]: ...

    @abstractmethod
    def mating_fitness(self, population: Sequence[Individual]) -> np.ndarray: ...

    def observe(self, evaluations: Sequence[Evaluation]) -> dict[str, Any]:
        return {}


class Truncation(Survival):
    """The best ``size`` by score (ties: the earlier call), as PMO's Graph GA keeps them."""

    def __init__(self, direction: str) -> None:
        super().__init__((direction,))
        self.fitness_class = MaxFitness if direction == "maximize" else MinFitness

    def _select(self, unique: list[Individual], size: int) -> list[Individual]:
        return sorted(unique, key=lambda i: (-i.fitness.wvalues[0], i.call))[:size]

    def mating_fitness(self, population: Sequence[Individual]) -> np.ndarray:
        return np.array([ind.fitness.wvalues[0] for ind in population])


class ParetoSurvival(Survival):
    """NSGA-II over every value (DEAP weights = directions); mating ranks by front.

    It also keeps the non-dominated molecules among all scored so far
    (``front``) and their hypervolume, against a reference point set from the
    first evaluations: each objective's worst value, a little further out
    (``hv_reference``, in minimisation form).
    """

    def __init__(self, directions: Sequence[str]) -> None:
        super().__init__(directions)
        self.fitness_class = type("ParetoFitness", (base.Fitness,), {"weights": self.weights})
        self.front: list[Evaluation] = []
        self.hv_reference: np.ndarray | None = None

    def _select(self, unique: list[Individual], size: int) -> list[Individual]:
        return list(tools.selNSGA2(unique, size))

    def mating_fitness(self, population: Sequence[Individual]) -> np.ndarray:
        fronts = tools.sortNondominated(list(population), len(population))
        rank = {id(ind): len(fronts) - i for i, front in enumerate(fronts) for ind in front}
        return np.array([float(rank[id(ind)]) for ind in population])

    def observe(self, evaluations: Sequence[Evaluation]) -> dict[str, Any]:
        from llmga.objectives.pareto import hypervolume, non_dominated

        weights = np.array(self.weights)
        new = [e for e in evaluations if e.components and not math.isnan(e.score)]
        pool = self.front + new
        # Every objective in minimisation form (smaller is better), one row per molecule.
        minimised = -weights * np.array([e.components for e in pool], dtype=float).reshape(len(pool), len(weights))
        if self.hv_reference is None and pool:
            span = np.ptp(minimised, axis=0)
            self.hv_reference = minimised.max(axis=0) + 0.1 * np.where(span > 0, span, 1.0)
        keep = non_dominated(-minimised) if pool else np.zeros(0, dtype=np.int64)
        self.front = [pool[int(i)] for i in keep]
        volume = hypervolume(minimised[keep], self.hv_reference) if self.hv_reference is not None else 0.0
        return {"front_size": len(self.front), "hypervolume": volume}


def survival_for(directions: Sequence[str]) -> Survival:
    """Truncation for one value per molecule, NSGA-II for several."""
    return ParetoSurvival(directions) if len(directions) > 1 else Truncation(directions[0])
