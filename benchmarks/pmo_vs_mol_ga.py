"""Our graph GA (no language model) and our default against mol_ga's graph GA on PMO tasks, side by side.

What it measures: for each task and seed, one run of llmga's default
(``llmga_default``: the graph GA below beside the embedded model, which learns
after every generation; ``--no-default`` leaves it out), one run of
``llmga.optimize`` with
its graph GA defaults and no language model (``llm="none"``: population 120, 70
children per generation, mating pool drawn uniformly from 25 log-spaced top
quantiles, ~10 % of children by mutation alone, the rest Jensen crossover then
mutation at 0.01, no early stop: mol_ga's rules, which ``benchmarks/
ablation.py`` measured better than PMO's) and one run of
``mol_ga.run_ga_maximization`` (Austin Tripp's graph GA, PyPI
``mol_ga==0.2.1``) with its default operators and sampling, given population
120 and 70 children per generation. Both sides get:

* the same oracles (``llmga.objectives.get_objective(task)``, batched);
* the same budget of unique oracle calls, counted as unique canonical SMILES
  (mol_ga is stopped the moment its ``budget``-th unique molecule is scored;
  nothing beyond it is scored or counted);
* the same initial population: the first 120 distinct valid molecules of a
  ``numpy.random.default_rng(seed)`` permutation of ZINC 250k
  (``llmga.data.zinc250k()``), which is exactly llmga's own draw rule;
* the same cores (``--workers``): llmga's worker processes, and for mol_ga one
  ``joblib.Parallel(n_jobs=workers)`` used by mol_ga for its offspring (its own
  option) and by this script to score chunks of each batch, as llmga does.

What still differs: mol_ga's mating pool is 2 x 70 = 140 parents (llmga: one
group per child from a pool of population size), its mutation-only children
are at most 8 per generation, and its operators draw their own random numbers
(llmga's come from the run's seeded generator). PMO's Graph GA itself
(proportional mating, mutation at 0.067, patience 5) is ``llmga optimize
--preset pmo-graph-ga``; its published Top-10 AUC is printed beside both.

Both sides are measured identically: Top-1/10/100 AUC from the call log in
call order with ``llmga.metrics.top_k_auc`` (PMO's definition; NaN scores never
enter a top-K). mol_ga needs a number for every molecule, so an unscorable
molecule (NaN) counts as 0.0 for its selection but stays NaN in the call log.
Timing: wall seconds of the optimisation itself (llmga: ``elapsed_s`` of its
summary; mol_ga: around ``run_ga_maximization``, joblib start-up included),
milliseconds per unique oracle call, and the share of wall time spent inside
the oracle (llmga: ``oracle_s``; mol_ga: time inside the scoring wrapper).
The PMO paper's published Graph GA Top-10 AUC (``benchmarks/reference/
pmo_graph_ga.csv``, 5 seeds) is printed beside both.

Size rule: mol_ga 0.2.1 has no size limit (its README: put one into the
objective). PMO's Graph GA (and llmga) only proposes children with fewer heavy
atoms than a cap drawn from N(39.15, 3.5). Without it, mol_ga exploits oracles
that reward size (on jnk3 its best molecules pass 700 heavy atoms within 700
calls, and each generation takes longer than the last, without bound). So by
default this script applies PMO's rule inside mol_ga's scoring function: a
child over its cap (drawn once per molecule from seed and SMILES) is not
scored, not counted and gets 0.0. ``--mol-ga-no-size-cap`` turns it off
(recorded as ``mol_ga_nocap``; expect it not to finish on jnk3).

Caveat: with ``--workers`` above 1, mol_ga hands its ``random.Random`` to
joblib, which pickles a copy for every offspring task, so all children of one
generation start from the same random state (and the parent's generator is not
advanced by them). That is how mol_ga behaves as published; pass
``--mol-ga-serial-offspring`` to make its children in-process instead (proper
random streams; scoring still uses all workers), recorded as ``mol_ga_serial``.

Every finished run is a row of ``OUT/runs.csv`` (or of ``--csv FILE``: a
committed file lets a long comparison span sessions and machines); running the
same command again skips runs already there (keyed by method, task, seed, budget, workers) and
retries those that failed. llmga's run folders go under ``OUT/llmga/``,
mol_ga's call logs under ``OUT/mol_ga*/``. The script re-executes itself with
``PYTHONHASHSEED=0`` because mol_ga orders molecules by iterating over sets.

    .venv/bin/pip install mol_ga==0.2.1
    .venv/bin/python benchmarks/pmo_vs_mol_ga.py                       # 8 tasks x 3 seeds x 10,000 calls
    .venv/bin/python benchmarks/pmo_vs_mol_ga.py --tasks qed,drd2 --seeds 0 --budget 500
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import heapq
import math
import os
import random
import shutil
import sys
import time
import zlib
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from rich.console import Console
from rich.table import Table

from llmga import Config, optimize
from llmga.benchmark import load_reference, parse_seeds, parse_tasks, run_phases
from llmga.chem import canonical, to_mol, to_smiles
from llmga.data import zinc250k
from llmga.executors import available_cores, by_value_modules
from llmga.metrics import mean_pairwise_similarity, top_k_auc, top_k_mean
from llmga.objectives import Objective, check_scores, get_objective

DEFAULT_TASKS = "qed,drd2,jnk3,celecoxib_rediscovery,osimertinib_mpo,scaffold_hop,median1,isomers_c9h10n2o2pf2cl"
POPULATION = 120  # PMO's Graph GA population (llmga's default)
OFFSPRING = 70  # PMO's Graph GA children per generation (llmga's default)
SIZE_MEAN, SIZE_STD = 39.15, 3.50  # PMO's Graph GA size window (llmga's size_mean, size_std)
STALL_LIMIT = 50  # generations in a row without a new molecule end a run (as in llmga's engine)
REFERENCE = Path(__file__).resolve().parent / "reference" / "pmo_graph_ga.csv"
KEY = ("method", "task", "seed", "budget", "workers")
_GA_FIELDS = ("budget", "llm", "population", "offspring", "selection", "mutation_rate", "mutation_only", "patience")
COLUMNS = (
    *KEY,
    "top1_auc",
    "top10_auc",
    "top100_auc",
    "top10_mean",
    "calls",
    "nan_scores",
    "generations",
    "wall_s",
    "oracle_s",
    "ms_per_call",
    "oracle_share",
    "stop_reason",
    "size_rejected",
    "learn_s",
    "propose_s",
    "lm_valid",
    "top100_similarity",
    "error",
    "finished",
)

console = Console(width=None if sys.stdout.isatty() else 160)  # wide tables also in log files


# ---------------------------------------------------------------- shared pieces
def metrics(scores: Sequence[float] | np.ndarray, budget: int, direction: str) -> dict[str, Any]:
    """The PMO metrics of a call log (in call order), computed the same way for both methods."""
    arr = np.asarray(scores, dtype=float)
    out: dict[str, Any] = {"calls": len(arr), "nan_scores": int(np.isnan(arr).sum())}
    for k in (1, 10, 100):
        out[f"top{k}_auc"] = top_k_auc(arr, k, budget, direction=direction) if len(arr) else math.nan
    out["top10_mean"] = top_k_mean(arr, 10, direction)
    return out


def initial_population(pool: Sequence[str], size: int, seed: int) -> list[str]:
    """llmga's draw rule: the first ``size`` distinct valid canonical SMILES of a seeded permutation."""
    order = np.random.default_rng(seed).permutation(len(pool))
    chosen: dict[str, None] = {}
    for i in order:
        smiles = canonical(pool[int(i)])
        if smiles is not None:
            chosen.setdefault(smiles)
            if len(chosen) == size:
                break
    return list(chosen)


def timing(row: dict[str, Any]) -> dict[str, Any]:
    calls, wall, oracle = row.get("calls") or 0, row.get("wall_s"), row.get("oracle_s")
    return {
        "ms_per_call": 1000 * wall / calls if calls and wall else math.nan,
        "oracle_share": oracle / wall if wall and oracle is not None else math.nan,
    }


# ---------------------------------------------------------------- llmga
def run_llmga(task: str, seed: int, budget: int, workers: int, folder: Path, *, llm: str = "none") -> dict[str, Any]:
    """One run of llmga with its defaults: ``llm="none"``, its graph GA alone; ``llm="embedded"``, its
    default (the graph GA beside the embedded model, which learns after every generation). A finished
    folder run with the same settings is reused."""
    result = None
    if folder.exists():
        with contextlib.suppress(Exception):  # any unreadable folder is simply redone
            from llmga.result import load

            old = load(folder)
            wanted = Config().replace(llm=llm, budget=budget)
            same = all(getattr(old.config, k) == getattr(wanted, k) for k in _GA_FIELDS)
            if old.summary.get("status") == "finished" and same:
                result = old
        if result is None:
            shutil.rmtree(folder)
    if result is None:
        folder.parent.mkdir(parents=True, exist_ok=True)
        result = optimize(task, budget=budget, seed=seed, out=str(folder), workers=workers, llm=llm)
    summary = result.summary
    if summary.get("status") != "finished":
        raise RuntimeError(f"llmga run ended with status {summary.get('status')!r}: {summary.get('error')}")
    scores = result.evaluations["score"].to_numpy(dtype=float)  # call order
    row = metrics(scores, budget, result.direction)
    row.update(
        generations=summary.get("generations"),
        wall_s=summary.get("elapsed_s"),
        oracle_s=summary.get("oracle_s"),
        stop_reason=summary.get("stop_reason"),
    )
    row.update(run_phases(folder, result.direction))  # seconds training and proposing, validity, diversity
    return row


# ---------------------------------------------------------------- mol_ga
class BudgetReached(Exception):
    """The budget-th unique molecule has been scored: stop mol_ga here."""


class Stalled(Exception):
    """mol_ga proposed no new molecule for STALL_LIMIT generations."""


class BudgetedScorer:
    """mol_ga's scoring function: llmga's oracle behind a cache of unique canonical SMILES and an exact budget.

    mol_ga calls it once per generation with the SMILES missing from its own
    (raw-string) cache. New canonical molecules are scored in call order until
    ``budget`` of them have been scored; then :class:`BudgetReached` is raised
    and nothing further is scored. Invalid SMILES are never sent to the
    oracle and are not counted (as in llmga).

    With ``size_cap``, a child (not an initial molecule) with at least as many
    heavy atoms as a cap drawn from N(39.15, 3.5) is treated like an invalid
    one: not scored, not counted, 0.0 for mol_ga. That is PMO's (and llmga's)
    size rule, moved from the operators into the objective as mol_ga's README
    advises; the cap is drawn once per molecule from (seed, SMILES), so the run
    stays deterministic.
    """

    def __init__(
        self, objective: Objective, budget: int, parallel: Any, workers: int, *, size_cap: bool, seed: int
    ) -> None:
        self.objective, self.budget, self.parallel, self.workers = objective, budget, parallel, workers
        self.size_cap, self.seed = size_cap, seed
        self.sign = 1.0 if objective.direction == "maximize" else -1.0
        self.known: dict[str, float] = {}
        self.too_big: set[str] = set()
        self.log: list[tuple[str, float, int]] = []  # (smiles, score, generation) in call order
        self.seconds = 0.0
        self.generation = 0  # number of calls so far; the first scores the initial population
        self.stale = 0

    def _score(self, batch: list[str]) -> np.ndarray:
        import joblib

        name = self.objective.name
        if self.parallel is None or not self.objective.parallel or len(batch) < 4 * self.workers:
            return check_scores(self.objective(batch), batch, name)
        size = -(-len(batch) // self.workers)
        chunks = [batch[i : i + size] for i in range(0, len(batch), size)]
        parts = self.parallel(joblib.delayed(self.objective)(chunk) for chunk in chunks)
        return np.concatenate([check_scores(p, c, name) for p, c in zip(parts, chunks, strict=True)])

    def _fits(self, smiles: str, n_atoms: int) -> bool:
        cap = np.random.default_rng([self.seed, zlib.crc32(smiles.encode())]).normal(SIZE_MEAN, SIZE_STD)
        return bool(n_atoms < cap)

    def __call__(self, smiles: list[str]) -> list[float]:
        mols = [to_mol(s) for s in smiles]
        canon = [to_smiles(m) for m in mols]
        new: dict[str, None] = {}
        room = self.budget - len(self.log)
        for c, mol in zip(canon, mols, strict=True):
            if c is None or c in self.known or c in new or c in self.too_big or len(new) >= room:
                continue
            if self.size_cap and self.generation > 0 and not self._fits(c, mol.GetNumAtoms()):
                self.too_big.add(c)
            else:
                new.setdefault(c)
        if new:
            batch = list(new)
            start = time.perf_counter()
            try:
                values = self._score(batch)
            finally:
                self.seconds += time.perf_counter() - start
            for s, v in zip(batch, values, strict=True):
                self.known[s] = float(v)
                self.log.append((s, float(v), self.generation))
        self.generation += 1
        self.stale = 0 if new else self.stale + 1
        if len(self.log) >= self.budget:
            raise BudgetReached
        if self.stale >= STALL_LIMIT:
            raise Stalled
        return [self._for_ga(c) for c in canon]

    def _for_ga(self, smiles: str | None) -> float:
        value = self.known.get(smiles, math.nan) if smiles is not None else math.nan  # too big: NaN too
        return 0.0 if math.isnan(value) else self.sign * value


def _send_user_modules_by_value() -> None:
    """joblib's workers are fresh processes that cannot import an objective loaded from FILE.py (its module
    exists only here): have joblib's cloudpickle send such modules' functions by value."""
    import cloudpickle  # what joblib's loky workers unpickle with

    for name in by_value_modules():
        module = sys.modules.get(name)
        if module is not None:
            cloudpickle.register_pickle_by_value(module)


def run_mol_ga(
    task: str,
    seed: int,
    budget: int,
    workers: int,
    pool: Sequence[str],
    folder: Path,
    *,
    serial_offspring: bool,
    size_cap: bool,
) -> dict[str, Any]:
    """One mol_ga run (its default sampling and operators) until exactly ``budget`` unique molecules are scored."""
    import joblib
    from mol_ga import run_ga_maximization
    from mol_ga.graph_ga.gen_candidates import graph_ga_blended_generation
    from mol_ga.sample_population import uniform_quantile_sampling

    objective = get_objective(task)
    start_smiles = initial_population(pool, POPULATION, seed)
    stop = "max_generations"
    with contextlib.ExitStack() as stack:
        t0 = time.perf_counter()
        if workers > 1:
            _send_user_modules_by_value()
        parallel = stack.enter_context(joblib.Parallel(n_jobs=workers)) if workers > 1 else None
        scorer = BudgetedScorer(objective, budget, parallel, workers, size_cap=size_cap, seed=seed)
        try:
            run_ga_maximization(
                scoring_func=scorer,
                starting_population_smiles=set(start_smiles),
                sampling_func=uniform_quantile_sampling,
                offspring_gen_func=graph_ga_blended_generation,
                selection_func=heapq.nlargest,
                max_generations=10**9,  # the budget (or a stall) ends the run
                population_size=POPULATION,
                offspring_size=OFFSPRING,
                rng=random.Random(seed),
                parallel=None if serial_offspring else parallel,
            )
        except BudgetReached:
            stop = "budget"
        except Stalled:
            stop = "stalled"
        wall = time.perf_counter() - t0
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / "calls.csv").open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["call", "smiles", "score", "generation"])
        writer.writerows((i + 1, s, "" if math.isnan(v) else v, g) for i, (s, v, g) in enumerate(scorer.log))
    row = metrics([v for _, v, _ in scorer.log], budget, objective.direction)
    row.update(
        generations=scorer.generation - 1,
        wall_s=wall,
        oracle_s=scorer.seconds,
        stop_reason=stop,
        size_rejected=len(scorer.too_big),
        top100_similarity=_top100_similarity(scorer.log, objective.direction),
    )
    return row


def _top100_similarity(log: Sequence[tuple[str, float, int]], direction: str) -> float | None:
    """The mean pairwise Tanimoto of the 100 best molecules of a call log (as ``run_phases`` has it for llmga)."""
    scored = [(v, s) for s, v, _ in log if not math.isnan(v)]
    scored.sort(key=lambda item: item[0], reverse=direction != "minimize")
    value = mean_pairwise_similarity([s for _, s in scored[:100]])
    return None if math.isnan(value) else round(value, 3)


# ---------------------------------------------------------------- results file
def load_rows(path: Path) -> pd.DataFrame:
    if not path.exists():
        return pd.DataFrame(columns=list(COLUMNS))
    frame = pd.read_csv(path, keep_default_na=False, na_values={c: [""] for c in COLUMNS if c != "error"})
    return frame.reindex(columns=list(COLUMNS))


def save_rows(path: Path, frame: pd.DataFrame) -> None:
    tmp = path.with_suffix(".csv.tmp")
    frame = frame.copy()
    for name in ("seed", "budget", "workers", "calls", "nan_scores", "generations", "size_rejected"):
        frame[name] = pd.to_numeric(frame[name]).astype("Int64")
    frame.to_csv(tmp, index=False)
    tmp.replace(path)


def is_done(frame: pd.DataFrame, key: tuple[Any, ...]) -> bool:
    mask = np.ones(len(frame), dtype=bool)
    for name, value in zip(KEY, key, strict=True):
        mask &= (frame[name] == value).to_numpy()
    return bool(mask.any()) and not bool(frame.loc[mask, "error"].astype(str).str.len().gt(0).any())


def put_row(frame: pd.DataFrame, row: dict[str, Any]) -> pd.DataFrame:
    mask = np.ones(len(frame), dtype=bool)
    for name in KEY:
        mask &= (frame[name] == row[name]).to_numpy()
    new = pd.DataFrame([{c: row.get(c) for c in COLUMNS}], columns=list(COLUMNS))
    kept = frame.loc[~mask]
    return new if kept.empty else pd.concat([kept, new], ignore_index=True)


# ---------------------------------------------------------------- report
def _fmt(value: float, digits: int = 3) -> str:
    return "–" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:.{digits}f}"


def report(frame: pd.DataFrame, methods: Sequence[str], tasks: Sequence[str], reference: dict[str, float]) -> None:
    ok = frame[frame["error"].astype(str).str.len() == 0]
    *ours, theirs = methods  # llmga's arms, then mol_ga's
    stats: dict[tuple[str, str], dict[str, float]] = {}
    for task in tasks:
        for method in methods:
            sub = ok[(ok["task"] == task) & (ok["method"] == method)]
            n = len(sub)
            calls = sub["calls"].astype(float)
            stats[task, method] = {
                "n": n,
                "auc": float(sub["top10_auc"].mean()) if n else math.nan,
                "std": float(sub["top10_auc"].std(ddof=0)) if n else math.nan,
                "wall": float(sub["wall_s"].mean()) if n else math.nan,
                "wall_sum": float(sub["wall_s"].sum()) if n else math.nan,
                "ms": float(1000 * sub["wall_s"].sum() / calls.sum()) if n and calls.sum() else math.nan,
                "share": float(sub["oracle_s"].sum() / sub["wall_s"].sum()) if n and sub["wall_s"].sum() else math.nan,
                "calls": float(calls.mean()) if n else math.nan,
                "calls_sum": float(calls.sum()) if n else math.nan,
                "oracle_sum": float(sub["oracle_s"].sum()) if n else math.nan,
            }

    auc = Table(title="Top-10 AUC (mean ± std over seeds)")
    columns = ["task", "PMO Graph GA (paper)", *methods, *(f"{m}/{theirs}" for m in ours), "seeds"]
    for col in columns:
        auc.add_column(col, justify="left" if col == "task" else "right")
    for task in tasks:
        got = [stats[task, m] for m in methods]
        auc.add_row(
            task,
            _fmt(reference.get(task, math.nan)),
            *(f"{_fmt(g['auc'])} ± {_fmt(g['std'])}" for g in got),
            *(_fmt(stats[task, m]["auc"] / got[-1]["auc"] if got[-1]["auc"] else math.nan) for m in ours),
            "/".join(str(g["n"]) for g in got),
        )
    # Sum row over the tasks where every method has results (the reference summed over the same tasks).
    both = [t for t in tasks if all(stats[t, m]["n"] for m in methods)]
    sums = {m: sum(stats[t, m]["auc"] for t in both) for m in methods}
    sum_ref = sum(reference.get(t, math.nan) for t in both) if both else math.nan
    auc.add_section()
    auc.add_row(
        f"sum ({len(both)} tasks)",
        _fmt(sum_ref),
        *(_fmt(sums[m] if both else math.nan) for m in methods),
        *(_fmt(sums[m] / sums[theirs] if both and sums[theirs] else math.nan) for m in ours),
        "",
    )
    console.print(auc)
    if "llmga_default" in methods and "llmga_ga" in methods and both:
        wins = sum(stats[t, "llmga_default"]["auc"] >= stats[t, "llmga_ga"]["auc"] for t in both)
        console.print(f"llmga_default >= llmga_ga (the same graph GA without the model) on {wins} of {len(both)} tasks")

    per_gen = Table(title="Per generation (mean over runs): seconds training the model, proposing with it, "
                    "in the oracle; validity of the model's children; mean pairwise Tanimoto of the top 100")
    per_gen.add_column("method")
    for col in ("runs", "generations", "learn s/gen", "propose s/gen", "oracle s/gen", "lm valid", "top-100 sim"):
        per_gen.add_column(col, justify="right")
    for method in methods:
        sub = ok[(ok["method"] == method) & ok["task"].isin(tasks)]
        gens = pd.to_numeric(sub["generations"], errors="coerce")

        def per(column: str, sub: pd.DataFrame = sub, gens: pd.Series = gens) -> float:
            values = pd.to_numeric(sub[column], errors="coerce")
            return float((values / gens).mean()) if values.notna().any() else math.nan

        def mean(column: str, sub: pd.DataFrame = sub) -> float:
            values = pd.to_numeric(sub[column], errors="coerce")
            return float(values.mean()) if values.notna().any() else math.nan

        per_gen.add_row(
            method, str(len(sub)), _fmt(float(gens.mean()) if len(sub) else math.nan, 0), _fmt(per("learn_s"), 2),
            _fmt(per("propose_s"), 2), _fmt(per("oracle_s"), 3), _fmt(mean("lm_valid")),
            _fmt(mean("top100_similarity")),
        )  # fmt: skip
    console.print(per_gen)

    cost = Table(title="Cost per run (mean over seeds)")
    cost.add_column("task")
    for method in methods:
        for what in ("calls", "wall s", "ms/call", "oracle %"):
            cost.add_column(f"{method}\n{what}", justify="right")
    for task in tasks:
        cells = [task]
        for method in methods:
            s = stats[task, method]
            cells += [_fmt(s["calls"], 0), _fmt(s["wall"], 1), _fmt(s["ms"], 2), _fmt(100 * s["share"], 0)]
        cost.add_row(*cells)
    cost.add_section()
    cells = [f"sum ({len(both)} tasks)"]
    for method in methods:
        calls = sum(stats[t, method]["calls_sum"] for t in both)
        wall = sum(stats[t, method]["wall_sum"] for t in both)
        oracle = sum(stats[t, method]["oracle_sum"] for t in both)
        cells += [
            _fmt(calls, 0) if both else "–",
            _fmt(wall, 1) if both else "–",
            _fmt(1000 * wall / calls if calls else math.nan, 2),
            _fmt(100 * oracle / wall if wall else math.nan, 0),
        ]
    cost.add_row(*cells)
    console.print(cost)
    console.print("[dim]sum row of the cost table: calls and wall seconds summed over all runs of those tasks[/dim]")

    errors = frame[frame["error"].astype(str).str.len() > 0]
    for _, row in errors.iterrows():
        console.print(f"[red]failed[/red] {row['method']} {row['task']} seed {row['seed']}: {row['error']}")


# ---------------------------------------------------------------- main
def _fixed_hash_seed() -> None:
    """Re-execute with PYTHONHASHSEED=0: mol_ga's call order comes from iterating over sets of strings."""
    if os.environ.get("PYTHONHASHSEED") != "0":
        os.environ["PYTHONHASHSEED"] = "0"
        os.execv(sys.executable, [sys.executable, *sys.orig_argv[1:]])


def _version(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "not installed"


def _tasks(text: str) -> list[str]:
    """PMO task names and tags, and objectives of one's own (``path/to/file.py:function``, loaded here so
    that a bad one fails before any run)."""
    own = [t.strip() for t in text.split(",") if ":" in t]
    for spec in own:
        get_objective(spec)
    named = ",".join(t for t in text.split(",") if t.strip() and ":" not in t)
    return [*(parse_tasks(named) if named else []), *own]


def _folder_name(task: str) -> str:
    """A run folder's name for ``task``: the name itself, or ``file_function`` for ``path/file.py:function``."""
    if ":" not in task:
        return task
    path, _, function = task.rpartition(":")
    return f"{Path(path).stem}_{function}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--tasks", default=DEFAULT_TASKS, help="comma-separated task names or tags, or path/to/file.py:function"
    )
    parser.add_argument("--seeds", default="0,1,2", help="comma-separated seeds")
    parser.add_argument("--budget", type=int, default=10_000, help="unique oracle calls per run")
    parser.add_argument("--workers", type=int, default=0, help="cores for each side (0: all available)")
    parser.add_argument("--out", default="runs/pmo_vs_mol_ga", help="results folder (runs.csv, run folders)")
    parser.add_argument(
        "--csv",
        default=None,
        help="the rows file (default OUT/runs.csv); give a committed file, e.g. benchmarks/results/pmo23.csv, so "
        "that a run spanning sessions and machines skips the rows already there",
    )
    parser.add_argument(
        "--mol-ga-no-size-cap",
        action="store_true",
        help="run mol_ga without PMO's size rule (as published; on jnk3 its molecules then grow to hundreds "
        "of atoms and its operators slow down without bound)",
    )
    parser.add_argument(
        "--mol-ga-serial-offspring",
        action="store_true",
        help="make mol_ga's children in-process (no joblib copies of its random generator); "
        "scoring still uses all workers",
    )
    parser.add_argument(
        "--no-default",
        action="store_true",
        help="leave out the third arm, llmga's default (the graph GA beside the learning embedded model)",
    )
    args = parser.parse_args()
    _fixed_hash_seed()

    tasks, seeds = _tasks(args.tasks), parse_seeds(args.seeds)
    if args.budget <= 0:
        parser.error("--budget must be positive")
    workers = available_cores() if args.workers == 0 else args.workers
    mol_label = (
        "mol_ga" + ("_serial" if args.mol_ga_serial_offspring else "") + ("_nocap" if args.mol_ga_no_size_cap else "")
    )
    methods = ("llmga_ga", *(() if args.no_default else ("llmga_default",)), mol_label)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    csv_path = Path(args.csv) if args.csv else out / "runs.csv"
    csv_path.parent.mkdir(parents=True, exist_ok=True)
    frame = load_rows(csv_path)
    reference = load_reference(REFERENCE)
    console.print(
        f"llmga {_version('llmga')} vs mol_ga {_version('mol_ga')} (joblib {_version('joblib')}, "
        f"rdkit {_version('rdkit')}); budget {args.budget}, {workers} worker(s), seeds {seeds}; results {csv_path}"
    )

    todo = [(m, t, s) for t in tasks for s in seeds for m in methods]
    pool: list[str] | None = None
    for i, (method, task, seed) in enumerate(todo, 1):
        key = (method, task, seed, args.budget, workers)
        label = f"[{i}/{len(todo)}] {method} {task} seed {seed}"
        if is_done(frame, key):
            console.print(f"{label}: already in {csv_path.name}, skipped")
            continue
        folder = out / method / f"b{args.budget}-w{workers}" / _folder_name(task) / f"s{seed}"
        row: dict[str, Any] = dict(zip(KEY, key, strict=True))
        try:
            if method in ("llmga_ga", "llmga_default"):
                llm = "none" if method == "llmga_ga" else "embedded"
                row.update(run_llmga(task, seed, args.budget, workers, folder, llm=llm))
            else:
                pool = pool if pool is not None else zinc250k()
                row.update(
                    run_mol_ga(
                        task,
                        seed,
                        args.budget,
                        workers,
                        pool,
                        folder,
                        serial_offspring=args.mol_ga_serial_offspring,
                        size_cap=not args.mol_ga_no_size_cap,
                    )
                )
            row.update(timing(row), error="")
            console.print(
                f"{label}: top-10 AUC {row['top10_auc']:.4f}, {row['calls']} calls, {row['wall_s']:.1f} s "
                f"({row['ms_per_call']:.2f} ms/call, oracle {100 * row['oracle_share']:.0f}%), {row['stop_reason']}"
            )
        except Exception as exc:  # noqa: BLE001 - one method failing on one task must not stop the comparison
            row["error"] = f"{type(exc).__name__}: {exc}".replace("\n", " ")[:500]
            console.print(f"{label}: [red]failed[/red]: {row['error']}")
        row["finished"] = time.strftime("%Y-%m-%dT%H:%M:%S%z")
        frame = put_row(frame, row)
        save_rows(csv_path, frame)

    current = frame[
        (frame["budget"] == args.budget)
        & (frame["workers"] == workers)
        & frame["task"].isin(tasks)
        & frame["seed"].isin(seeds)
        & frame["method"].isin(methods)
    ]
    report(current, methods, tasks, reference)


if __name__ == "__main__":
    main()
