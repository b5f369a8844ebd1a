"""From a configuration to recipes: graph GA, a mutation-only share, and the model's share."""

from __future__ import annotations

import pytest

from llmga.backends import ReplayBackend
from llmga.config import Config
from llmga.errors import ConfigError
from llmga.operators import GraphCrossover, GraphMutation, LLMCrossover, LLMMutation, recipes_from_config, split_counts


def test_graph_ga_alone_is_pmo_s_recipe():
    (recipe,) = recipes_from_config(Config(llm="none"), None)
    assert isinstance(recipe.crossover, GraphCrossover) and isinstance(recipe.mutation, GraphMutation)
    assert (recipe.mutation_rate, recipe.share) == (0.067, 1.0)


def test_a_mutation_only_share_and_the_model_share_split_the_children():
    config = Config(llm="replay:x", mutation_only=0.1, mutation_rate=0.01, llm_share=0.5)
    recipes = recipes_from_config(config, ReplayBackend(["CCO"]))
    kinds = [(type(r.crossover).__name__, type(r.mutation).__name__) for r in recipes]
    assert kinds == [
        ("GraphCrossover", "GraphMutation"),
        ("NoneType", "GraphMutation"),
        ("LLMCrossover", "GraphMutation"),
        ("LLMMutation", "NoneType"),
    ]
    assert [r.share for r in recipes] == pytest.approx([0.45, 0.05, 0.25, 0.25])
    assert recipes[0].mutation_rate == 0.01 and isinstance(recipes[2].crossover, LLMCrossover)
    assert isinstance(recipes[3].crossover, LLMMutation)
    assert split_counts(70, [r.share for r in recipes]) == [32, 4, 17, 17]  # ties: the earlier recipe


def test_a_bad_mutation_only_share_names_the_flag():
    with pytest.raises(ConfigError, match=r"--mutation-only 1.0 is not valid"):
        Config(mutation_only=1.0)
