"""The evolutionary engine: budgeted oracle, selection, survival and the (mu + lambda) ask/tell loop."""

from __future__ import annotations

from llmga.engine._loop import (
    EngineResult,
    GenerationReport,
    GeneticAlgorithm,
    Observer,
    Schedule,
    observer_hooks,
)
from llmga.engine._oracle import Candidate, Evaluation, Oracle
from llmga.engine._screens import Prescreen
from llmga.engine._selection import select
from llmga.engine._shares import CREDITS, SHARE_RULES, AdaptivePursuit, ProbabilityMatching, ShareRule, place_credit
from llmga.engine._survival import Individual, ParetoSurvival, Survival, Truncation, survival_for
from llmga.operators import Recipe, default_recipes

__all__ = [
    "CREDITS",
    "SHARE_RULES",
    "AdaptivePursuit",
    "Candidate",
    "EngineResult",
    "Evaluation",
    "GenerationReport",
    "GeneticAlgorithm",
    "Individual",
    "Observer",
    "Oracle",
    "ParetoSurvival",
    "Prescreen",
    "ProbabilityMatching",
    "Recipe",
    "Schedule",
    "ShareRule",
    "Survival",
    "Truncation",
    "default_recipes",
    "observer_hooks",
    "place_credit",
    "select",
    "survival_for",
]
