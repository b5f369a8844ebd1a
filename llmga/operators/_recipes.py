"""Recipes: how each share of a generation's children is made, and the split of children among them."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from llmga.backends import GenerationParams, embedded_spec, spec_kind
from llmga.errors import LLMGAError
from llmga.operators._base import Operator
from llmga.operators.graph_ga import GraphCrossover, GraphMutation, MoleculeFilter

if TYPE_CHECKING:
    from llmga.backends import Backend
    from llmga.config import Config

Log = Callable[[dict[str, Any]], None] | None

__all__ = ["Recipe", "default_recipes", "graph_recipes", "recipes_from_config", "split_counts"]


@dataclass(frozen=True)
class Recipe:
    """How one share of each generation's children is made: crossover, then maybe mutation.

    With no crossover, sampled parents are mutated (always); with no mutation,
    crossover children are kept as they are. ``share`` weighs this recipe
    against the others (shares are normalised). With ``elite = N`` the
    recipe's parents are drawn uniformly from the N best molecules scored so
    far instead of the generation's mating pool (elitism, as ExLLM and
    Chemlactica do). A "crossover" of arity 0 takes no parents: it writes
    molecules de novo (:class:`~llmga.operators.LMDeNovo`).
    """

    crossover: Operator | None
    mutation: Operator | None
    mutation_rate: float = 0.0
    share: float = 1.0
    elite: int | None = None

    def __post_init__(self) -> None:
        if self.crossover is None and self.mutation is None:
            raise ValueError("a recipe needs a crossover or a mutation operator")


def default_recipes(
    *, size_mean: float = 39.15, size_std: float = 3.50, mutation_rate: float = 0.067, mutation_only: float = 0.0
) -> list[Recipe]:
    """PMO's Graph GA: Jensen crossover for every child, then mutation at ``mutation_rate``; with
    ``mutation_only`` > 0, that share of the children is made by mutating a parent alone (as mol_ga does)."""
    crossover, mutation = GraphCrossover(size_mean, size_std), GraphMutation(size_mean, size_std)
    if mutation_only <= 0:
        return [Recipe(crossover, mutation, mutation_rate)]
    return [
        Recipe(crossover, mutation, mutation_rate, share=1.0 - mutation_only),
        Recipe(None, mutation, share=mutation_only),
    ]


def graph_recipes(config: Config) -> list[Recipe]:
    """The graph GA's recipes as ``config`` sets them (sizes, mutation rate, mutation-only share)."""
    return default_recipes(
        size_mean=config.size_mean,
        size_std=config.size_std,
        mutation_rate=config.mutation_rate,
        mutation_only=config.mutation_only,
    )


def split_counts(n: int, shares: Sequence[float] | np.ndarray) -> list[int]:
    """``n`` children split in proportion to ``shares`` (largest remainders get the rest; ties: the first)."""
    weights = np.asarray(shares, dtype=float)
    exact = n * weights / weights.sum()
    counts = np.floor(exact).astype(int)
    order = np.argsort(-(exact - counts), kind="stable")
    counts[order[: n - counts.sum()]] += 1
    return [int(c) for c in counts]


def _with_model(graph: list[Recipe], model: list[Recipe], llm_share: float) -> list[Recipe]:
    """Graph GA's recipes at ``1 - llm_share`` and the model's recipes sharing ``llm_share`` evenly."""
    share = llm_share / len(model)
    total = sum(r.share for r in graph)
    kept = [dataclasses.replace(r, share=(1.0 - llm_share) * r.share / total) for r in graph] if llm_share < 1 else []
    return kept + [dataclasses.replace(r, share=share) for r in model]


def _operator_kinds(config: Config) -> list[str]:
    return [k.strip() for k in config.llm_operators.split(",") if k.strip()]


def _text_model_recipes(config: Config, backend: Backend, log: Log) -> list[Recipe]:
    """LLM crossover (its children go on to graph mutation at ``mutation_rate``, as graph crossover
    children do) and LLM mutation (children kept as they are) over a text backend."""
    from llmga.operators.llm import ExperienceMemo, GenerationDeadline, LLMCrossover, LLMMutation, PromptOptions
    from llmga.prompting import Templates

    params = GenerationParams(temperature=config.temperature, max_new_tokens=config.max_new_tokens)
    templates = Templates.load(config.prompt_dir)
    deadline = GenerationDeadline(config.llm_deadline) if config.llm_deadline is not None else None
    shared: dict[str, Any] = {
        "k": config.children_per_call,
        "params": params,
        "templates": templates,
        "options": PromptOptions(
            style="plain" if config.prompt_style == "plain" else "chat",
            hide_objective_name=config.hide_objective_name,
            selfies=config.selfies,
            neutralize=config.neutralize,
        ),
        "molecule_filter": MoleculeFilter(config.size_mean, config.size_std),
        "log": log,
        "deadline": deadline,
    }
    if config.memo_every:
        shared["memo"] = ExperienceMemo(
            backend,
            templates,
            every=config.memo_every,
            probability=config.memo_probability,
            params=params,
            log=log,
            deadline=deadline,
            seed=config.seed,
        )
    recipes = []
    kinds = [k for k in _operator_kinds(config) if k != "denovo"]  # a text LLM edits molecules it is shown
    for kind in kinds or ["mutation"]:
        if kind == "crossover":
            mutation = GraphMutation(config.size_mean, config.size_std)
            recipes.append(
                Recipe(LLMCrossover(backend, **shared), mutation, config.mutation_rate, elite=config.llm_elite)
            )
        else:
            # Parents drawn as one-parent groups from the mating pool, one prompt per group.
            recipes.append(Recipe(LLMMutation(backend, **shared), None, elite=config.llm_elite))
    return recipes


def _embedded_model_recipes(config: Config, backend: Backend | None, log: Log) -> list[Recipe]:
    """The embedded model's crossover, mutation and de novo samples. The model is loaded (and its checksum
    checked) here, before any oracle call; the operators share it, and share the policy trainer that teaches
    it after every generation (``lm_learn``); the stall fine-tune (``lm_finetune``) is run by the first."""
    from llmga.lm import EmbeddedLM, FineTuneSettings, PolicySettings, PolicyTrainer  # torch: runs with the model
    from llmga.operators.lm import LMCrossover, LMDeNovo, LMMutation

    spec = config.llm.strip()
    folder, device, dtype = embedded_spec(spec)
    lm = EmbeddedLM.load(folder, device=device, dtype=dtype)
    finetune = (
        FineTuneSettings(
            patience=config.lm_finetune_patience, steps=config.lm_finetune_steps, top=config.lm_finetune_top
        )
        if config.lm_finetune
        else None
    )
    kinds = _operator_kinds(config)
    if "crossover" in kinds and not lm.crosses:
        if kinds == ["crossover"]:
            raise LLMGAError(
                f"--llm {spec}: this model was trained without crossover examples, so --llm-operators "
                "crossover cannot use it; use --llm-operators mutation or retrain with --crossover-share 0.3"
            )
        kinds.remove("crossover")  # the model cannot cross: its mutation gets the whole share
    policy = None
    if config.lm_learn:
        settings = PolicySettings(
            steps=config.lm_learn_steps,
            sigma=config.lm_sigma,
            lr=config.lm_lr,
            power=config.lm_reward_power,
            replay=config.lm_replay,
            anchor=config.lm_anchor,
            ga_children=config.lm_learn_ga,
        )
        policy = PolicyTrainer(lm, settings, seed=config.seed)
    shared: dict[str, Any] = {
        "temperature": config.temperature,
        "molecule_filter": MoleculeFilter(config.size_mean, config.size_std),
        "log": log,
        "policy": policy,
    }
    recipes = []
    for i, kind in enumerate(kinds):
        tune = finetune if i == 0 else None
        if kind == "crossover":
            mutation = GraphMutation(config.size_mean, config.size_std)
            cross = LMCrossover(lm, finetune=tune, **shared)
            recipes.append(Recipe(cross, mutation, config.mutation_rate, elite=config.llm_elite))
        elif kind == "denovo":
            recipes.append(Recipe(LMDeNovo(lm, finetune=tune, **shared), None))
        else:
            mutate = LMMutation(lm, keep=config.lm_keep, finetune=tune, **shared)
            recipes.append(Recipe(None, mutate, elite=config.llm_elite))
    return recipes


# What each kind of --llm spec adds to graph GA (see llmga.backends.spec_kind): the one table.
_MODEL_RECIPES: dict[str, Callable[[Config, Any, Log], list[Recipe]]] = {
    "embedded": _embedded_model_recipes,
    "text": _text_model_recipes,
}


def recipes_from_config(config: Config, backend: Backend | None, *, log: Log = None) -> list[Recipe]:
    """The recipes a configuration implies: graph GA, plus the model's operators for ``llm_share`` of the
    children, split evenly between the kinds named in ``llm_operators``. ``backend`` is the text backend
    ``config.llm`` names (``None`` for ``none`` and the embedded model); ``log`` receives each model call's
    record."""
    graph = graph_recipes(config)
    kind = spec_kind(config.llm)
    if config.llm_share == 0 or kind == "none" or (kind == "text" and backend is None):
        return graph
    return _with_model(graph, _MODEL_RECIPES[kind](config, backend, log), config.llm_share)
