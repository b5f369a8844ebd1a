"""Composite objectives: several objectives, each mapped to a desirability by a transform, aggregated.

The transforms follow the definitions REINVENT and MolScore use, so scoring
schemes carry over:

* ``sigmoid(low, high, k)``: rises from ~0 at ``low`` to ~1 at ``high``,
  0.5 halfway, ``k`` sets the steepness (1 / (1 + 10^(10 k (mid - x) / (high - low))));
* ``reverse_sigmoid``: 1 - sigmoid (for properties to keep low);
* ``double_sigmoid(low, high, k)``: ~1 inside the window, falling off outside it;
* ``step(low, high)``: 1 inside [low, high], else 0;
* ``clip(low, high)``: a linear ramp from 0 at ``low`` to 1 at ``high``
  (``high < low`` ramps down).

Aggregation: ``sum`` (weighted mean of the components), ``geometric``
(weighted geometric mean: one bad component pulls the whole score down, as
Derringer's desirability does) or ``product`` (of desirability^weight).
Without a transform a component's raw score is used, negated when the
component is minimised; that is allowed for ``sum`` only.

Write one in a campaign file::

    [objective]
    name = "composite"
    aggregate = "geometric"
    components = [
      {objective = "drd2", weight = 2},
      {objective = "qed", transform = "sigmoid", low = 0.3, high = 0.8},
      {objective = "sa", transform = "reverse_sigmoid", low = 2.5, high = 5.0},
    ]

or on the command line as ``composite:`` followed by the same as JSON.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from llmga.errors import ObjectiveError
from llmga.objectives._base import Objective, check_scores

__all__ = ["AGGREGATES", "TRANSFORMS", "Component", "CompositeObjective", "composite_from_spec"]


def _sigmoid(x: np.ndarray, low: float, high: float, k: float) -> np.ndarray:
    mid = (low + high) / 2
    with np.errstate(over="ignore"):
        return np.asarray(1.0 / (1.0 + 10.0 ** (10.0 * k * (mid - x) / (high - low))))


TRANSFORMS: dict[str, Callable[[np.ndarray, float, float, float], np.ndarray]] = {
    "sigmoid": _sigmoid,
    "reverse_sigmoid": lambda x, low, high, k: 1.0 - _sigmoid(x, low, high, k),
    "double_sigmoid": lambda x, low, high, k: (
        _sigmoid(x, low - (high - low) / 4, low + (high - low) / 4, k)
        * (1.0 - _sigmoid(x, high - (high - low) / 4, high + (high - low) / 4, k))
    ),
    "step": lambda x, low, high, k: ((x >= low) & (x <= high)).astype(float),
    "clip": lambda x, low, high, k: np.clip((x - low) / (high - low), 0.0, 1.0),
}
AGGREGATES = ("sum", "geometric", "product")


@dataclass(frozen=True)
class Component:
    """One objective of a composite, with its transform and weight."""

    objective: Objective
    weight: float = 1.0
    transform: str | None = None
    low: float = 0.0
    high: float = 1.0
    k: float = 0.25

    def desirability(self, raw: np.ndarray) -> np.ndarray:
        if self.transform is None:
            return raw if self.objective.direction == "maximize" else -raw
        return TRANSFORMS[self.transform](raw, self.low, self.high, self.k)


class CompositeObjective(Objective):
    """Transforms each component's scores and aggregates them into one score to maximise.

    A molecule any component cannot score (NaN) gets NaN. The raw score of
    every component for the last batch is in :attr:`last_components`.
    """

    direction = "maximize"

    def __init__(self, components: Sequence[Component], aggregate: str = "sum", name: str = "composite") -> None:
        if not components:
            raise ObjectiveError("a composite objective needs at least one component")
        if aggregate not in AGGREGATES:
            raise ObjectiveError(f"aggregate {aggregate!r} is not valid; choose one of {', '.join(AGGREGATES)}")
        for c in components:
            if c.transform is not None and c.transform not in TRANSFORMS:
                raise ObjectiveError(
                    f"transform {c.transform!r} of {c.objective.name!r} is not valid; choose one of "
                    f"{', '.join(TRANSFORMS)}"
                )
            if c.transform is not None and c.transform != "step" and c.high == c.low:
                raise ObjectiveError(f"transform of {c.objective.name!r} needs low != high")
            if aggregate != "sum" and c.transform is None:
                raise ObjectiveError(
                    f"aggregate {aggregate!r} multiplies desirabilities in [0, 1]: give {c.objective.name!r} a "
                    "transform (e.g. sigmoid with low and high), or use aggregate = 'sum'"
                )
            if not c.weight > 0:
                raise ObjectiveError(f"weight {c.weight!r} of {c.objective.name!r}: give a positive weight")
        self.components = list(components)
        self.aggregate = aggregate
        self.name = name
        self.parallel = all(c.objective.parallel for c in components)
        parts = [f"{c.weight:g} x {c.transform or 'raw'}({c.objective.name})" for c in self.components]
        self.description = f"{aggregate} of " + ", ".join(parts)
        self.last_components: dict[str, np.ndarray] = {}

    def __call__(self, smiles: Sequence[str]) -> np.ndarray:
        weights = np.array([c.weight for c in self.components])
        values = np.empty((len(self.components), len(smiles)))
        self.last_components = {}
        for row, c in enumerate(self.components):
            raw = check_scores(c.objective(list(smiles)), smiles, c.objective.name)
            self.last_components[c.objective.name] = raw
            values[row] = c.desirability(raw)
        if self.aggregate == "sum":
            out = (weights[:, None] * values).sum(axis=0) / weights.sum()
        else:
            clipped = np.clip(values, 0.0, 1.0)
            with np.errstate(divide="ignore"):
                logs = (weights[:, None] * np.log(clipped)).sum(axis=0)
            out = np.exp(logs / weights.sum()) if self.aggregate == "geometric" else np.exp(logs)
        return np.where(np.isnan(values).any(axis=0), math.nan, out)

    def card(self) -> dict[str, Any]:
        return super().card() | {
            "aggregate": self.aggregate,
            "components": [
                {"objective": c.objective.card(), "weight": c.weight, "transform": c.transform}
                | {"low": c.low, "high": c.high, "k": c.k}
                for c in self.components
            ],
        }


def composite_from_spec(text: str) -> CompositeObjective:
    """``composite:{"aggregate": ..., "components": [{"objective": "qed", ...}, ...]}`` (JSON)."""
    from llmga.objectives.registry import get_objective

    body = text.strip()[len("composite:") :]
    try:
        data = json.loads(body)
    except json.JSONDecodeError as exc:
        raise ObjectiveError(
            f'composite objective: {exc}; write composite:{{"aggregate": "sum", "components": '
            '[{"objective": "qed"}, ...]} or use a campaign file'
        ) from None
    if not isinstance(data, dict) or not isinstance(data.get("components"), list):
        raise ObjectiveError('composite objective needs "components": a list of {"objective": ..., ...} tables')
    known = {"objective", "weight", "transform", "low", "high", "k", "direction"}
    components = []
    for item in data["components"]:
        if not isinstance(item, dict) or "objective" not in item:
            raise ObjectiveError(f'composite component {item!r} needs objective = "name"')
        unknown = sorted(set(item) - known)
        if unknown:
            raise ObjectiveError(f"composite component key {unknown[0]!r} is not valid; use {', '.join(sorted(known))}")
        objective = get_objective(item["objective"], direction=item.get("direction"))
        components.append(
            Component(
                objective,
                weight=float(item.get("weight", 1.0)),
                transform=item.get("transform"),
                low=float(item.get("low", 0.0)),
                high=float(item.get("high", 1.0)),
                k=float(item.get("k", 0.25)),
            )
        )
    extra = sorted(set(data) - {"components", "aggregate", "name"})
    if extra:
        raise ObjectiveError(f"composite objective key {extra[0]!r} is not valid; use aggregate, components, name")
    return CompositeObjective(components, aggregate=data.get("aggregate", "sum"), name=data.get("name", "composite"))
