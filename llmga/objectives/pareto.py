"""Several objectives optimised together (``--objectives qed,sa --pareto``): the engine keeps a Pareto set.

:class:`ParetoObjective` scores every component for each molecule and
returns the ``(n, k)`` matrix of their values, declaring each component's
direction and name (:attr:`~llmga.objectives.Objective.directions`,
:attr:`~llmga.objectives.Objective.value_names`). Like any objective with
several values, its one-number ``score`` is the first value, so Top-K AUC
and the best-molecule tables speak of the first objective, while survivors
are chosen by NSGA-II on all of them (see :mod:`llmga.engine`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from llmga.errors import ObjectiveError
from llmga.objectives._base import Direction, Objective, check_values, value_spec

__all__ = ["ParetoObjective", "dominates", "hypervolume", "non_dominated", "split_specs"]


def split_specs(text: str) -> list[str]:
    """Objective specs from ``"qed,sa,similarity(target=CC,O)"`` (commas inside brackets or quotes stay)."""
    from llmga.objectives.registry import _split_args

    return _split_args(text)


class ParetoObjective(Objective):
    """Every component's values for each molecule, side by side: an ``(n, k)`` array.

    Its values are its components' values in order (a component with
    several values gives all of them), with their directions and names. It
    is scored on worker processes when every component may be
    (``parallel``).
    """

    def __init__(self, components: Sequence[Objective]) -> None:
        if len(components) < 2:
            raise ObjectiveError("--pareto needs at least two objectives, e.g. --objectives qed,sa")
        specs = [value_spec(c) for c in components]
        names = [n for _, value_names in specs for n in value_names]
        if len(set(names)) != len(names):
            raise ObjectiveError(f"--objectives names an objective twice ({', '.join(names)}); give each once")
        self.components = list(components)
        self.names = names
        self._directions: tuple[Direction, ...] = tuple(d for directions, _ in specs for d in directions)
        self._widths = [len(directions) for directions, _ in specs]
        self.weights = tuple(1.0 if d == "maximize" else -1.0 for d in self._directions)
        self.direction = self._directions[0]
        self.parallel = all(c.parallel for c in components)
        self.name = "pareto(" + ",".join(c.name for c in components) + ")"
        self.description = "Pareto front of " + "; ".join(
            f"{c.name} ({', '.join(d)}): {c.description}" for c, (d, _) in zip(components, specs, strict=True)
        )

    @property
    def directions(self) -> tuple[Direction, ...]:
        return self._directions

    @property
    def value_names(self) -> tuple[str, ...]:
        return tuple(self.names)

    def __call__(self, smiles: Sequence[str]) -> np.ndarray:
        smiles = list(smiles)
        parts = [
            check_values(c(smiles), smiles, c.name, width)
            for c, width in zip(self.components, self._widths, strict=True)
        ]
        return np.hstack(parts)

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
