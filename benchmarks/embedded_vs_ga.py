"""The default optimiser (embedded model + graph GA) against the graph GA alone, on PMO.

What it runs, through ``llmga benchmark`` (``llmga.benchmark.run_benchmark``),
one ordinary run folder per arm, task and seed, with PMO's settings (budget
10,000 unique oracle calls, population 120, 70 children per generation):

* ``default``: ``llmga optimize`` with no options: the embedded chemical
  language model (mutation and conditioned crossover) beside the graph GA,
  adaptive operator shares and online fine-tuning;
* ``none``: ``--llm none``, the graph GA alone (PMO's Graph GA);
* ablations on ``--ablation-tasks`` x ``--ablation-seeds``: ``no_finetune``
  (``--no-lm-finetune``) and ``fixed_shares`` (``--no-adaptive``: the model
  keeps ``--llm-share``).

Order: arms of one task and seed run back to back, so every finished pair is
comparable even when the script is stopped; phase 1 is all 23 PMO tasks with
seed 0, phase 2 seeds 1 and 2 of the eight tasks PMO papers report most
(``--seeded-tasks``), phase 3 the ablations. Running the command again skips
finished runs (a run cut off is redone), so the benchmark can be spread over
several sittings (``--stop-after`` minutes).

Printed: per task, Top-10 AUC mean (± std over seeds) of each arm, the
difference default - none, wall seconds of each; the sums over tasks that
have both arms; wins/losses; the ablation table; the shares of evaluated
molecules and of final survivors that the model made. The published PMO sums
are printed for scale: Graph GA 13.751 (``benchmarks/reference/pmo_graph_ga.csv``)
and Genetic GFN 16.213 (Kim et al. 2024, the stretch goal of issue 6).

    .venv/bin/python benchmarks/embedded_vs_ga.py --out runs/embedded_vs_ga
    .venv/bin/python benchmarks/embedded_vs_ga.py --out runs/embedded_vs_ga --stop-after 60
    .venv/bin/python benchmarks/embedded_vs_ga.py --out runs/embedded_vs_ga --report   # table only
"""

from __future__ import annotations

import argparse
import json
import math
import time
from pathlib import Path
from typing import Any

import pandas as pd
from rich.console import Console
from rich.table import Table

from llmga.benchmark import load_reference, parse_tasks, run_benchmark, write_summary
from llmga.config import Config

SEEDED_TASKS = "qed,drd2,jnk3,celecoxib_rediscovery,osimertinib_mpo,scaffold_hop,median1,isomers_c9h10n2o2pf2cl"
ABLATION_TASKS = "celecoxib_rediscovery,median1,osimertinib_mpo,scaffold_hop"
REFERENCE = Path(__file__).parent / "reference" / "pmo_graph_ga.csv"
GENETIC_GFN_SUM = 16.213
ARMS: dict[str, dict[str, Any]] = {
    "default": {},
    "none": {"llm": "none"},
    "no_finetune": {"lm_finetune": False},
    "fixed_shares": {"adaptive": False},
}

console = Console()


def plan(
    tasks: list[str], seeded: list[str], ablation: list[str], seeds: list[int], ablation_seeds: list[int]
) -> list[tuple[str, str, int]]:
    """(arm, task, seed) in run order: phase 1, phase 2, phase 3 (ablations; their default/none runs too)."""
    todo = [(arm, t, 0) for t in tasks for arm in ("default", "none")]
    todo += [(arm, t, s) for s in seeds if s != 0 for t in seeded for arm in ("default", "none")]
    for s in ablation_seeds:
        for t in ablation:
            todo += [(arm, t, s) for arm in ARMS if (arm, t, s) not in todo]
    return todo


def _lm_share(table: Path) -> float:
    """Share of a run table's children (generation > 0) that the model's operators made; NaN if none."""
    if not table.exists():
        return math.nan
    frame = pd.read_csv(table, usecols=["generation", "operator"])
    kids = frame[frame["generation"] > 0]
    return float(kids["operator"].astype(str).str.startswith("lm_").mean()) if len(kids) else math.nan


def model_shares(folder: Path) -> tuple[float, float]:
    """Shares of evaluated children and of the final population's children made by the model's operators."""
    return _lm_share(folder / "evaluations.csv"), _lm_share(folder / "population.csv")


def collect(out: Path, arm: str, tasks: list[str], seeds: list[int]) -> pd.DataFrame:
    root = out / arm
    if not root.exists():
        return pd.DataFrame()
    frame = write_summary(root, tasks, seeds)
    if frame.empty:
        return frame
    frame = frame.copy()
    frame["arm"] = arm
    shares = [model_shares(root / t / f"s{s}") for t, s in zip(frame["task"], frame["seed"], strict=True)]
    frame["lm_children"] = [a for a, _ in shares]
    frame["lm_survivors"] = [b for _, b in shares]
    return frame


def _std(x: pd.Series) -> str:
    return f" ± {x.std(ddof=0):.3f}" if len(x) > 1 else ""


def report(out: Path, tasks: list[str], ablation: list[str], seeds: list[int], ablation_seeds: list[int]) -> None:
    frames = [collect(out, arm, tasks, sorted(set(seeds) | set(ablation_seeds))) for arm in ARMS]
    runs = (
        pd.concat([f for f in frames if not f.empty], ignore_index=True) if any(not f.empty for f in frames) else None
    )
    if runs is None:
        console.print("no finished runs yet")
        return
    runs.to_csv(out / "runs.csv", index=False)
    reference = load_reference(REFERENCE)

    # Pairs: (task, seed) finished in both default and none.
    wide = runs.pivot_table(index=["task", "seed"], columns="arm", values=["top10_auc", "wall_s"])
    table = Table(title="Top-10 AUC, default (embedded model) vs --llm none (pairs finished in both)")
    for col in ("task", "seeds", "default", "none", "diff", "wall default s", "wall none s", "lm children", "PMO GA"):
        table.add_column(col, justify="left" if col == "task" else "right")
    sums = {"default": 0.0, "none": 0.0}
    wins = losses = 0
    for task in tasks:
        if ("top10_auc", "default") not in wide or ("top10_auc", "none") not in wide:
            break
        if task not in wide.index.get_level_values("task"):
            continue
        rows = pd.DataFrame(wide.xs(task, level="task"))
        both = rows.dropna(subset=[("top10_auc", "default"), ("top10_auc", "none")])
        if both.empty:
            continue
        d, n = both[("top10_auc", "default")], both[("top10_auc", "none")]
        sums["default"] += d.mean()
        sums["none"] += n.mean()
        diff = d.mean() - n.mean()
        wins += diff > 0
        losses += diff < 0
        share = runs[(runs.arm == "default") & (runs.task == task)]["lm_children"].mean()
        table.add_row(
            task,
            str(len(both)),
            f"{d.mean():.3f}{_std(d)}",
            f"{n.mean():.3f}{_std(n)}",
            f"{diff:+.3f}",
            f"{both[('wall_s', 'default')].mean():.0f}",
            f"{both[('wall_s', 'none')].mean():.0f}",
            f"{share:.2f}",
            f"{reference.get(task, math.nan):.3f}",
        )
    table.add_row("sum", "", f"{sums['default']:.3f}", f"{sums['none']:.3f}", f"{sums['default'] - sums['none']:+.3f}")
    console.print(table)
    console.print(
        f"default wins {wins}, loses {losses}; published PMO sums over 23 tasks: Graph GA 13.751, "
        f"Genetic GFN {GENETIC_GFN_SUM} (stretch goal)"
    )

    abl = Table(title=f"Ablations: Top-10 AUC, mean over seeds {ablation_seeds} (runs)")
    for col in ("task", *ARMS):
        abl.add_column(col, justify="left" if col == "task" else "right")
    totals = dict.fromkeys(ARMS, 0.0)
    for task in ablation:
        cells = []
        for arm in ARMS:
            hit = runs[(runs.arm == arm) & (runs.task == task) & runs.seed.isin(ablation_seeds)]["top10_auc"]
            cells.append(f"{hit.mean():.3f} ({len(hit)})" if len(hit) else "-")
            totals[arm] += hit.mean() if len(hit) else math.nan
        abl.add_row(task, *cells)
    abl.add_row("sum", *(f"{totals[arm]:.3f}" for arm in ARMS))
    console.print(abl)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default="runs/embedded_vs_ga", help="benchmark folder (one sub-folder per arm)")
    parser.add_argument("--tasks", default="pmo", help="phase-1 tasks (seed 0): names or the tag pmo")
    parser.add_argument("--seeded-tasks", default=SEEDED_TASKS, help="phase-2 tasks (all --seeds)")
    parser.add_argument("--seeds", default="0,1,2", help="seeds of the phase-2 tasks")
    parser.add_argument("--ablation-tasks", default=ABLATION_TASKS, help="phase-3 tasks")
    parser.add_argument("--ablation-seeds", default="0", help="seeds of the phase-3 tasks")
    parser.add_argument("--budget", type=int, default=10_000, help="unique oracle calls per run")
    parser.add_argument("--stop-after", type=float, default=None, help="start no run after this many minutes")
    parser.add_argument("--report", action="store_true", help="print the tables of finished runs; run nothing")
    args = parser.parse_args()

    out = Path(args.out)
    tasks = parse_tasks(args.tasks)
    seeded = parse_tasks(args.seeded_tasks)
    ablation = parse_tasks(args.ablation_tasks)
    seeds = [int(s) for s in args.seeds.split(",")]
    ablation_seeds = [int(s) for s in args.ablation_seeds.split(",")]
    all_tasks = list(dict.fromkeys(tasks + seeded + ablation))
    if not args.report:
        started = time.perf_counter()
        todo = plan(tasks, seeded, ablation, seeds, ablation_seeds)
        for i, (arm, task, seed) in enumerate(todo, 1):
            if args.stop_after is not None and time.perf_counter() - started > args.stop_after * 60:
                console.print(f"--stop-after {args.stop_after} minutes reached; run again to continue")
                break
            config = Config(budget=args.budget).replace(**ARMS[arm])
            clock = time.perf_counter()
            rows = run_benchmark([task], [seed], out / arm, config=config)
            hit = rows[(rows.task == task) & (rows.seed == seed)]
            auc = float(hit["top10_auc"].iloc[0]) if len(hit) else math.nan
            console.print(
                f"[{i}/{len(todo)}] {arm} {task} s{seed}: top-10 AUC {auc:.3f} ({time.perf_counter() - clock:.0f} s)"
            )
        (out / "plan.json").write_text(json.dumps({"tasks": tasks, "seeded": seeded, "ablation": ablation}) + "\n")
    report(out, all_tasks, ablation, seeds, ablation_seeds)


if __name__ == "__main__":
    main()
