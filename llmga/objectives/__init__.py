"""Objectives: batched scoring functions ``Sequence[str] -> numpy.ndarray``.

Look one up by name with :func:`get_objective` (``"logp"``,
``"similarity(target=CCO)"``, ``"file.py:fn"``), list them with
:func:`available`, or write your own by subclassing :class:`Objective` or
decorating a function with :func:`objective`.
"""

from __future__ import annotations

from llmga.objectives._base import (
    BatchFunctionObjective,
    Direction,
    FunctionObjective,
    MolObjective,
    Objective,
    check_direction,
    check_scores,
    check_values,
    objective,
    value_spec,
)
from llmga.objectives._sascore import sa_score
from llmga.objectives._timeout import TimeoutObjective
from llmga.objectives.rdkit import DESCRIPTORS, SimilarityObjective, penalized_logp
from llmga.objectives.registry import (
    ENTRY_POINT_GROUP,
    REGISTRY,
    Entry,
    available,
    file_objectives,
    get_objective,
    parse_spec,
    register,
)

__all__ = [
    "DESCRIPTORS",
    "ENTRY_POINT_GROUP",
    "REGISTRY",
    "BatchFunctionObjective",
    "Direction",
    "Entry",
    "FunctionObjective",
    "MolObjective",
    "Objective",
    "SimilarityObjective",
    "TimeoutObjective",
    "available",
    "check_direction",
    "check_scores",
    "check_values",
    "file_objectives",
    "get_objective",
    "objective",
    "parse_spec",
    "penalized_logp",
    "register",
    "sa_score",
    "value_spec",
]
