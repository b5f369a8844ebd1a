"""Variation operators: the batched seam between the engine and whatever proposes children."""

from __future__ import annotations

from llmga.operators._base import Child, Operator, Parent, VariationContext, is_fallback
from llmga.operators._recipes import Recipe, default_recipes, graph_recipes, recipes_from_config, split_counts
from llmga.operators.graph_ga import GraphCrossover, GraphMutation, MoleculeFilter, crossover, mutate, ring_ok
from llmga.operators.llm import ExperienceMemo, LLMCrossover, LLMMutation, LLMOperator, PromptOptions
from llmga.operators.lm import LMCrossover, LMDeNovo, LMMutation, LMOperator

__all__ = [
    "Child",
    "ExperienceMemo",
    "GraphCrossover",
    "GraphMutation",
    "LLMCrossover",
    "LLMMutation",
    "LLMOperator",
    "LMCrossover",
    "LMDeNovo",
    "LMMutation",
    "LMOperator",
    "MoleculeFilter",
    "Operator",
    "Parent",
    "PromptOptions",
    "Recipe",
    "VariationContext",
    "crossover",
    "default_recipes",
    "graph_recipes",
    "is_fallback",
    "mutate",
    "recipes_from_config",
    "ring_ok",
    "split_counts",
]
