"""Several objectives optimised together (``--objectives qed,sa --pareto``): the engine keeps a Pareto set.

:class:`ParetoObjective` scores every component for each molecule and keeps
the vectors (:attr:`ParetoObjective.vectors`); its one-number ``score`` is the
first component's, so Top-K AUC and the best-molecule tables speak of the
first objective, while survivors are chosen by NSGA-II on all of them (see
:mod:`llmga.engine`). Each component keeps its own direction.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from llmga.errors import ObjectiveError
from llmga.objectives._base import Objective, check_scores

__all__ = ["ParetoObjective", "dominates", "hypervolume", "non_dominated", "split_specs"]


def split_specs(text: str) -> list[str]:
    """Objective specs from ``"qed,sa,similarity(target=CC,O)"`` (commas inside brackets or quotes stay)."""
    from llmga.objectives.registry import _split_args

    return _split_args(text)


class ParetoObjective(Objective):
    """Scores each molecule on every component; ``score`` is the first component's."""

    parallel = False  # the vectors are kept in this process; the components may use workers themselves

    def __init__(self, components: Sequence[Objective]) -> None:
        if len(components) < 2:
            raise ObjectiveError("--pareto needs at least two objectives, e.g. --objectives qed,sa")
        names = [c.name for c in components]
        if len(set(names)) != len(names):
            raise ObjectiveError(f"--objectives names an objective twice ({', '.join(names)}); give each once")
        self.components = list(components)
        self.names = names
        self.weights = tuple(1.0 if c.direction == "maximize" else -1.0 for c in components)
        self.direction = components[0].direction
        self.name = "pareto(" + ",".join(names) + ")"
        self.description = "Pareto front of " + "; ".join(
            f"{c.name} ({c.direction}): {c.description}" for c in components
        )
        self.vectors: dict[str, tuple[float, ...]] = {}

    def __call__(self, smiles: Sequence[str]) -> np.ndarray:
        smiles = list(smiles)
        columns = [check_scores(c(smiles), smiles, c.name) for c in self.components]
        matrix = np.column_stack(columns) if smiles else np.zeros((0, len(columns)))
        for s, row in zip(smiles, matrix, strict=True):
            self.vectors[s] = tuple(float(v) for v in row)
        first = matrix[:, 0].copy() if smiles else np.zeros(0)
        first[np.isnan(matrix).any(axis=1)] = math.nan  # a molecule one component cannot score is not scored
        return first

    def card(self) -> dict[str, Any]:
        return super().card() | {"components": [c.card() for c in self.components]}


def dominates(a: Sequence[float], b: Sequence[float]) -> bool:
    """Whether ``a`` dominates ``b`` (both in larger-is-better form)."""
    return all(x >= y for x, y in zip(a, b, strict=True)) and any(x > y for x, y in zip(a, b, strict=True))


def non_dominated(points: np.ndarray) -> np.ndarray:
    """Indices of the rows of ``points`` (larger is better in every column) that no other row dominates."""
    keep = []
    for i, p in enumerate(points):
        if not any(dominates(q, p) for j, q in enumerate(points) if j != i):
            keep.append(i)
    return np.array(keep, dtype=np.int64)


def hypervolume(points: np.ndarray, reference: Sequence[float] | np.ndarray) -> float:
    """The volume that ``points`` (smaller is better in every column) dominate up to ``reference``.

    Exact, by slicing along the last objective (fine for the fronts of a
    GA: hundreds of points, a few objectives). Points not strictly better
    than the reference in every objective add nothing.
    """
    ref = np.asarray(reference, dtype=float)
    pts = np.asarray(points, dtype=float).reshape(-1, len(ref))
    pts = pts[(pts < ref).all(axis=1)]
    if not len(pts):
        return 0.0
    if len(ref) == 1:
        return float(ref[0] - pts[:, 0].min())
    pts = pts[np.argsort(pts[:, -1], kind="stable")]
    volume = 0.0
    for i in range(len(pts)):
        top = pts[i + 1, -1] if i + 1 < len(pts) else ref[-1]
        depth = top - pts[i, -1]
        if depth > 0:
            volume += depth * hypervolume(pts[: i + 1, :-1], ref[:-1])
    return float(volume)
