"""llmga: molecular design by evolution, with language-model-guided variation.

Quick start::

    import llmga
    result = llmga.optimize("qed", budget=1000, seed=0)
    result.best(5)          # DataFrame of the best molecules
    result.history          # one row per generation
    result.summary          # PMO Top-K AUC and friends
"""

from __future__ import annotations

from importlib import metadata as _metadata

from llmga._campaign import Campaign, TellReport
from llmga._optimize import build_engine, optimize, resume, summarize
from llmga.config import Config
from llmga.engine import GeneticAlgorithm, Recipe
from llmga.errors import ConfigError, InitPopulationError, LLMGAError, ObjectiveError, OperatorError, ResumeError
from llmga.metrics import top_k_auc, top_k_mean
from llmga.objectives import Objective, available, get_objective, objective, register
from llmga.operators import Operator, Parent, VariationContext
from llmga.result import RunResult, load

try:
    __version__ = _metadata.version("llmga")
except _metadata.PackageNotFoundError:  # pragma: no cover - a source tree that was never installed
    __version__ = "0+unknown"

__all__ = [
    "Campaign",
    "Config",
    "ConfigError",
    "GeneticAlgorithm",
    "InitPopulationError",
    "LLMGAError",
    "Objective",
    "ObjectiveError",
    "Operator",
    "OperatorError",
    "Parent",
    "Recipe",
    "ResumeError",
    "RunResult",
    "TellReport",
    "VariationContext",
    "__version__",
    "available",
    "build_engine",
    "get_objective",
    "load",
    "objective",
    "optimize",
    "register",
    "resume",
    "summarize",
    "top_k_auc",
    "top_k_mean",
]
