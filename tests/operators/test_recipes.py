"""From a configuration to recipes: graph GA, a mutation-only share, and the model's share."""

from __future__ import annotations

import pytest

from llmga.backends import ReplayBackend
from llmga.config import Config
from llmga.errors import ConfigError
from llmga.operators import GraphCrossover, GraphMutation, LLMCrossover, LLMMutation, recipes_from_config, split_counts


def test_graph_ga_alone_is_pmo_s_recipe_under_its_preset():
    (recipe,) = recipes_from_config(Config.from_preset("pmo-graph-ga"), None)
    assert isinstance(recipe.crossover, GraphCrossover) and isinstance(recipe.mutation, GraphMutation)
    assert (recipe.mutation_rate, recipe.share) == (0.067, 1.0)


def test_the_default_graph_ga_makes_a_tenth_of_its_children_by_mutation_alone():
    cross, mutate = recipes_from_config(Config(llm="none"), None)
    assert (cross.mutation_rate, cross.share) == (0.01, pytest.approx(0.9))
    assert cross.crossover is not None and mutate.crossover is None and mutate.share == pytest.approx(0.1)


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


def test_the_embedded_model_edits_and_writes_de_novo_and_one_policy_teaches_both():
    from llmga.operators import LMDeNovo, LMMutation

    recipes = recipes_from_config(Config(), None)
    mutate, denovo = recipes[-2].mutation, recipes[-1].crossover  # the shipped model cannot cross
    assert isinstance(mutate, LMMutation) and isinstance(denovo, LMDeNovo) and recipes[-1].mutation is None
    assert denovo.arity == 0 and denovo.fallback is None  # no parents; an empty slot stays empty
    assert mutate.policy is not None and mutate.policy is denovo.policy and mutate.lm is denovo.lm
    assert [r.share for r in recipes] == pytest.approx([0.45, 0.05, 0.25, 0.25])
    unlearnt = recipes_from_config(Config(lm_learn=False), None)[-2].mutation
    assert isinstance(unlearnt, LMMutation) and unlearnt.policy is None
