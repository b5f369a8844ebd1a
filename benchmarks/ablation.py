"""What each rule of llmga's default is worth: its graph GA's rules and its learning model, side by side.

Every variant runs on the same tasks, seeds, budget and initial populations
(llmga's own draw from ZINC 250k). The graph-GA variants have no language model
(``llm="none"``) and move PMO's Graph GA toward mol_ga's (``mol_ga==0.2.1``,
Tripp and Hernandez-Lobato 2023) one rule at a time:

* ``pmo``: PMO's Graph GA (the preset ``pmo-graph-ga``: score-proportional
  mating, crossover for every child then mutation at 0.067, patience 5: the
  run stops after 5 generations in which no child entered the population, and
  its Top-K AUC is extended flat to the budget);
* ``no_patience``: ``pmo`` without the early stop (the whole budget is used);
* ``quantile``: ``no_patience`` with mol_ga's mating rule (equal uniform draws
  from the top 0.1 % ... 100 %, 25 log-spaced fractions);
* ``mutation_only``: ``no_patience`` with mol_ga's children: 10 % by
  mutation alone, the rest crossover then mutation at 0.01 (shares fixed);
* ``mol_ga_rules``: all three, shares fixed;
* ``ga_default``: llmga's default graph GA (mol_ga's rules, adaptive shares
  with a floor of 0.03);
* ``ga_floor_0.1``: ``ga_default`` with the older share floor, 0.1.
* ``ga_matching``: ``ga_default`` with probability matching for the shares.

The model variants use the embedded model:

* ``default``: llmga's default (the model learns after every generation and
  proposes edits and de novo molecules beside the graph GA; adaptive shares
  with a floor of 0.03, so a recipe whose children do not survive is cut to
  2 children a generation);
* ``floor_0.1``: ``default`` with the older floor of 0.1 (a gsk3b run gave its
  de novo samples, held at the floor, 16 % of the calls for 1 survivor in
  1,600);
* ``no_learning``: ``floor_0.1`` with ``lm_learn=False`` (the model as shipped);
* ``edits_only``: ``default`` without de novo samples;
* ``no_replay``, ``no_ga_children``, ``no_anchor``: ``default`` without its
  replay buffer of the best, without the graph GA's children in training
  (only the model's own and the initial molecules), without the prior in the
  target;
* ``power_4``: ``default`` with the rank reward raised to the power 4 (the
  best weigh more; a middling molecule's target stays near the prior);
* ``lr_3e-4``: ``default`` with the policy's learning rate 3e-4 (1e-4);
* ``steps_1``: ``default`` with one policy step per generation (2): half the
  training time;
* ``matching``: ``default`` with probability matching instead of adaptive
  pursuit for the shares (each recipe's share in proportion to its credit);
* ``matching_rank``: ``matching`` with credit by rank: a child that enters
  the population earns ``(P - place) / P`` instead of 1 (a new best 1, the
  last place ``1/P``), so a recipe whose children lead the population earns
  more than one whose children only just survive;
* ``ga_matching_rank``: ``ga_matching`` with credit by rank;
* ``old_default``: the default before the policy (PMO's rules, the model's
  mutation with its stall fine-tune).

Each finished run is a row of ``benchmarks/results/ablation.csv``
(variant, task, seed, budget, Top-1/10/100 AUC, calls, generations, stop
reason, wall seconds; then seconds in the oracle, training the model and
proposing with it, the share of the model's children that were valid, and
the mean pairwise Tanimoto of the final top 100), written as it finishes (the
variants with the model run before a46d15b, when it ran in emulated bfloat16, are
kept apart in ``ablation_bf16_emulated.csv``, and those run before the model
could edit parents holding a token it does not know and before fallback
children stopped earning their recipe credit in
``ablation_before_fallback_credit.csv``); running the command again skips
the rows already there, so the table can be built over several sessions (run
folders go under ``--out``, git-ignored). The table printed at the end puts the
variants' Top-10 AUC side by side per task, with their sums and each
variant's ratio to ``pmo``.

    python benchmarks/ablation.py --tasks gsk3b,median1 --seeds 0 --variants ga_default,default
"""

from __future__ import annotations

import argparse
import csv
import time
from pathlib import Path
from typing import Any

import pandas as pd

from llmga.benchmark import benchmark_config, run_benchmark
from llmga.config import PRESETS

PMO = PRESETS["pmo-graph-ga"]
_MOL_GA = {"patience": 0, "selection": "quantile", "mutation_only": 0.1, "mutation_rate": 0.01}
VARIANTS: dict[str, dict[str, Any]] = {
    "pmo": PMO,
    "no_patience": PMO | {"patience": 0},
    "quantile": PMO | {"patience": 0, "selection": "quantile"},
    "mutation_only": PMO | {"patience": 0, "mutation_only": 0.1, "mutation_rate": 0.01, "adaptive": False},
    "mol_ga_rules": PMO | _MOL_GA | {"adaptive": False},
    "ga_default": {"llm": "none"},
    "ga_floor_0.1": {"llm": "none", "share_floor": 0.1},
    "ga_matching": {"llm": "none", "share_rule": "matching"},
    "default": {},
    "floor_0.1": {"share_floor": 0.1},
    "no_learning": {"lm_learn": False, "share_floor": 0.1},
    "edits_only": {"llm_operators": "crossover,mutation"},
    "no_replay": {"lm_replay": 0},
    "no_ga_children": {"lm_learn_ga": False},
    "no_anchor": {"lm_anchor": False},
    "power_4": {"lm_reward_power": 4.0},
    "lr_3e-4": {"lm_lr": 3e-4},
    "steps_1": {"lm_learn_steps": 1},
    "matching": {"share_rule": "matching"},
    "matching_rank": {"share_rule": "matching", "share_credit": "rank"},
    "ga_matching_rank": {"llm": "none", "share_rule": "matching", "share_credit": "rank"},
    "old_default": PMO
    | {"llm": "embedded", "llm_operators": "crossover,mutation", "lm_learn": False, "lm_finetune": True}
    | {"share_floor": 0.1},
}
COLUMNS = ["variant", "task", "seed", "budget", "top1_auc", "top10_auc", "top100_auc", "calls", "generations",
           "stop_reason", "wall_s", "oracle_s", "learn_s", "propose_s", "lm_valid", "top100_similarity"]  # fmt: skip
RESULTS = Path(__file__).parent / "results" / "ablation.csv"


def _done(path: Path) -> set[tuple[str, str, int, int]]:
    if not path.exists():
        return set()
    frame = pd.read_csv(path)
    return {(r.variant, r.task, int(r.seed), int(r.budget)) for r in frame.itertuples()}


def _append(path: Path, row: dict[str, Any]) -> None:
    if path.exists():
        with path.open() as fh:
            header = fh.readline().strip().split(",")
        if header != COLUMNS:  # a table from before a column was added: rewrite it with the new columns empty
            pd.read_csv(path).reindex(columns=COLUMNS).to_csv(path, index=False)
    new = not path.exists()
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=COLUMNS)
        if new:
            writer.writeheader()
        writer.writerow({k: row.get(k) for k in COLUMNS})


def run(tasks: list[str], seeds: list[int], budget: int, variants: list[str], out: Path, results: Path) -> None:
    done = _done(results)
    for variant in variants:
        todo = [s for s in seeds if any((variant, t, s, budget) not in done for t in tasks)]
        if not todo:
            continue
        config = benchmark_config(**({"budget": budget, "workers": 1} | VARIANTS[variant]))
        for task in tasks:
            for seed in seeds:
                if (variant, task, seed, budget) in done:
                    continue
                started = time.perf_counter()
                root = out / variant / str(budget)
                frame = run_benchmark([task], [seed], root, config=config)
                row = frame[(frame["task"] == task) & (frame["seed"] == seed)].iloc[0].to_dict()
                wall = row.get("wall_s")
                row.update(variant=variant, budget=budget)
                row["wall_s"] = wall if wall is not None else time.perf_counter() - started
                _append(results, row)
                print(f"{variant:>14} {task:>24} s{seed}: top-10 AUC {row['top10_auc']:.3f} ({row['wall_s']:.0f} s)")


def table(results: Path, budget: int) -> pd.DataFrame:
    frame = pd.read_csv(results)
    frame = frame[frame["budget"] == budget]
    wide = frame.pivot_table(index="task", columns="variant", values="top10_auc", aggfunc="mean")
    wide = wide[[v for v in VARIANTS if v in wide.columns]]
    complete = wide.dropna()
    sums = complete.sum()
    wide.loc["sum (tasks with every variant)"] = sums
    if "pmo" in sums and sums["pmo"] > 0:
        wide.loc["ratio to pmo"] = sums / sums["pmo"]
    return wide


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--tasks", default="qed,gsk3b,mestranol_similarity,sitagliptin_mpo,median1")
    parser.add_argument("--seeds", default="0")
    parser.add_argument("--budget", type=int, default=10_000)
    parser.add_argument("--variants", default=",".join(VARIANTS))
    parser.add_argument("--out", default="runs/ablation")
    parser.add_argument("--results", default=str(RESULTS))
    args = parser.parse_args()
    variants = [v.strip() for v in args.variants.split(",") if v.strip()]
    unknown = [v for v in variants if v not in VARIANTS]
    if unknown:
        parser.error(f"unknown variant {unknown[0]!r}; choose from {', '.join(VARIANTS)}")
    tasks = [t.strip() for t in args.tasks.split(",") if t.strip()]
    seeds = [int(s) for s in args.seeds.split(",") if s.strip()]
    run(tasks, seeds, args.budget, variants, Path(args.out), Path(args.results))
    with pd.option_context("display.width", 160, "display.float_format", lambda x: f"{x:.3f}"):
        print(table(Path(args.results), args.budget).to_string(na_rep="-"))


if __name__ == "__main__":
    main()
