"""The evolutionary engine: budgeted oracle, selection and the (mu + lambda) loop."""

from __future__ import annotations

from llmga.engine._loop import (
    EngineResult,
    GenerationReport,
    GeneticAlgorithm,
    Individual,
    Observer,
    Recipe,
    default_recipes,
    observer_hooks,
)
from llmga.engine._oracle import Candidate, Evaluation, Oracle
from llmga.engine._selection import select

__all__ = [
    "Candidate",
    "EngineResult",
    "Evaluation",
    "GenerationReport",
    "GeneticAlgorithm",
    "Individual",
    "Observer",
    "Oracle",
    "Recipe",
    "default_recipes",
    "observer_hooks",
    "select",
]
