"""Run many tasks × seeds as ordinary run folders and summarise them as PMO does.

Layout of a benchmark folder::

    DIR/benchmark.json          settings shared by every run (checked on re-runs)
    DIR/<task>/s<seed>/         one ordinary run folder per task and seed
    DIR/summary.csv             one row per finished run

Finished runs are never redone: running the same command again after an
interruption skips them and continues with the rest.
"""

from __future__ import annotations

import difflib
import json
import math
import multiprocessing
import os
import shutil
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from pathlib import Path
from typing import Any

import pandas as pd

from llmga._signals import init_worker
from llmga.config import PMO_BUDGET, Config
from llmga.errors import ConfigError
from llmga.objectives import available
from llmga.store import SUMMARY_FILE

__all__ = [
    "SUMMARY_COLUMNS",
    "benchmark_config",
    "check_settings",
    "load_reference",
    "parse_seeds",
    "parse_tasks",
    "run_benchmark",
    "run_folder",
    "run_phases",
    "task_table",
    "write_summary",
]

def benchmark_config(**options: Any) -> Config:
    """The settings shared by a benchmark's runs: ``options`` (Config fields) over PMO's budget of
    10,000 unique oracle calls per run. :func:`run_benchmark` uses this when given no configuration."""
    return Config().replace(**({"budget": PMO_BUDGET} | options))


SUMMARY_COLUMNS = (
    "task",
    "seed",
    "top1_auc",
    "top10_auc",
    "top100_auc",
    "top10_mean",
    "calls",
    "wall_s",
    "oracle_s",
    "stop_reason",
    "generations",
    "learn_s",
    "propose_s",
    "lm_valid",
    "top100_similarity",
)
_SETTINGS_FILE = "benchmark.json"


def parse_tasks(text: str) -> list[str]:
    """Task names from ``"qed,drd2"``; a tag (``pmo``) stands for every objective carrying it."""
    registry = available()
    tags = sorted({t for entry in registry.values() for t in entry.tags})
    tasks: list[str] = []
    for item in (part.strip() for part in text.split(",")):
        if not item:
            continue
        if item in registry:
            tasks.append(item)
        elif item in tags:
            tasks.extend(name for name, entry in registry.items() if item in entry.tags)
        else:
            close = difflib.get_close_matches(item, [*registry, *tags], n=3, cutoff=0.5)
            hint = f" (closest: {', '.join(close)})" if close else ""
            raise ConfigError(
                f"unknown task {item!r}{hint}; valid tasks: {', '.join(registry)}; tags: {', '.join(tags)}"
            )
    if not tasks:
        raise ConfigError(f"--tasks {text!r} names no task; give e.g. --tasks qed,drd2 or --tasks pmo")
    return list(dict.fromkeys(tasks))


def parse_seeds(text: str) -> list[int]:
    """Seeds from ``"0,1,2"`` (non-negative integers)."""
    seeds = []
    for item in (part.strip() for part in text.split(",")):
        if not item:
            continue
        try:
            seed = int(item)
        except ValueError:
            raise ConfigError(f"--seeds: {item!r} is not an integer; give e.g. --seeds 0,1,2") from None
        if seed < 0:
            raise ConfigError(f"--seeds: {seed} is negative; seeds are non-negative integers")
        seeds.append(seed)
    if not seeds:
        raise ConfigError(f"--seeds {text!r} names no seed; give e.g. --seeds 0,1,2")
    return list(dict.fromkeys(seeds))


def load_reference(path: str | Path) -> dict[str, float]:
    """Reference Top-10 AUC per task from a CSV with columns ``task,auc`` (``#`` lines are comments)."""
    p = Path(path)
    if not p.is_file():
        raise ConfigError(f"--compare file {str(path)!r} does not exist")
    frame = pd.read_csv(p, comment="#")
    missing = [c for c in ("task", "auc") if c not in frame.columns]
    if missing:
        raise ConfigError(
            f"--compare file {str(path)!r} lacks column {missing[0]!r}; its columns are: {', '.join(frame.columns)}"
        )
    return {str(t): float(a) for t, a in zip(frame["task"], frame["auc"], strict=True)}


def run_folder(out: str | Path, task: str, seed: int) -> Path:
    """The folder of ``task``'s run with ``seed`` in a benchmark under ``out`` (its files: llmga.load)."""
    return Path(out) / task / f"s{seed}"


def run_phases(folder: str | Path, direction: str) -> dict[str, Any]:
    """Where a finished run's time went and what its model wrote, from its files.

    ``learn_s``: seconds training the embedded model (its ``lm_learn`` rows of
    ``llm_calls.csv``); ``propose_s``: seconds of the model's other calls
    (writing children); ``lm_valid``: the share of the children asked of the
    model that were valid molecules; ``top100_similarity``: the mean pairwise
    Tanimoto of the run's 100 best molecules (a collapse onto one scaffold
    shows as a value near 1). A run without the model has no ``learn_s``,
    ``propose_s`` or ``lm_valid`` (None).
    """
    from llmga.metrics import mean_pairwise_similarity

    folder = Path(folder)
    out: dict[str, Any] = {"learn_s": None, "propose_s": None, "lm_valid": None, "top100_similarity": None}
    calls = folder / "llm_calls.csv"
    if calls.exists():
        frame = pd.read_csv(calls, usecols=["operator", "latency_s", "asked", "valid"])
        model = frame[frame["operator"].astype(str).str.startswith("lm_")]
        if len(model):
            learn = model["operator"] == "lm_learn"
            out["learn_s"] = round(float(model.loc[learn, "latency_s"].sum()), 1)
            out["propose_s"] = round(float(model.loc[~learn, "latency_s"].sum()), 1)
            asked = float(model.loc[~learn, "asked"].sum())
            out["lm_valid"] = round(float(model.loc[~learn, "valid"].sum()) / asked, 3) if asked else None
    evaluations = folder / "evaluations.csv"
    if evaluations.exists():
        scored = pd.read_csv(evaluations, usecols=["smiles", "score"]).dropna()
        top = scored.sort_values("score", ascending=direction == "minimize", kind="stable").head(100)
        similarity = mean_pairwise_similarity(top["smiles"].tolist())
        out["top100_similarity"] = None if math.isnan(similarity) else round(similarity, 3)
    return out


def _finished_row(folder: Path, task: str, seed: int) -> dict[str, Any] | None:
    path = folder / SUMMARY_FILE
    if not path.exists():
        return None
    summary = json.loads(path.read_text())
    if summary.get("status") != "finished":
        return None
    return {
        "task": task,
        "seed": seed,
        "top1_auc": summary.get("top1_auc"),
        "top10_auc": summary.get("top10_auc"),
        "top100_auc": summary.get("top100_auc"),
        "top10_mean": summary.get("top10_mean"),
        "calls": summary.get("calls"),
        "wall_s": summary.get("elapsed_s"),
        "oracle_s": summary.get("oracle_s"),
        "stop_reason": summary.get("stop_reason"),
        "generations": summary.get("generations"),
        **run_phases(folder, summary.get("direction", "maximize")),
    }


def _one_run(
    task: str, seed: int, config: Config, folder: str, stop: Callable[[], bool] | None = None
) -> tuple[str, int]:
    """One ordinary run (identical to running it alone); ``stop`` ends it early between generations."""
    from llmga._optimize import optimize

    optimize(task, config=config.replace(objective=task, seed=seed, out=folder), stop=stop)
    return task, seed


def _one_run_in_worker(task: str, seed: int, config: Config, folder: str, event: Any) -> tuple[str, int]:
    """Worker-process entry point: the stop request arrives through a shared event."""
    return _one_run(task, seed, config, folder, event.is_set)


def check_settings(out: str | Path, config: Config) -> None:
    """Refuse to mix runs with different settings in one benchmark folder (first use records them).

    A setting the folder's record lacks was added to llmga after it was written; its runs used what the
    setting's default now names, so it is read as that default."""
    out = Path(out)
    per_run = ("objective", "seed", "out", "workers")
    settings = {k: v for k, v in config.to_dict().items() if k not in per_run}
    path = out / _SETTINGS_FILE
    if path.exists():
        defaults = {k: v for k, v in Config().to_dict().items() if k not in per_run}
        before = defaults | json.loads(path.read_text())
        changed = [k for k in sorted(set(before) | set(settings)) if before.get(k) != settings.get(k)]
        if changed:
            k = changed[0]
            raise ConfigError(
                f"{str(out)!r} holds a benchmark run with {k}={before.get(k)!r}, not {settings.get(k)!r}; "
                "use a new --out folder so results with different settings are not mixed"
            )
    else:
        out.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(settings, indent=2) + "\n")


def write_summary(out: Path, tasks: Sequence[str], seeds: Sequence[int]) -> pd.DataFrame:
    """Rows of the finished runs among ``tasks`` x ``seeds`` under ``out``, also written to ``out/summary.csv``."""
    rows = [
        row
        for task in tasks
        for seed in seeds
        if (row := _finished_row(run_folder(out, task, seed), task, seed)) is not None
    ]
    frame = pd.DataFrame(rows, columns=list(SUMMARY_COLUMNS))
    tmp = out / "summary.csv.tmp"
    frame.to_csv(tmp, index=False)
    tmp.replace(out / "summary.csv")
    return frame


def run_benchmark(
    tasks: Sequence[str],
    seeds: Sequence[int],
    out: str | Path,
    *,
    config: Config | None = None,
    jobs: int = 1,
    on_done: Callable[[str, int, dict[str, Any] | None], None] | None = None,
    stop: Callable[[], bool] | None = None,
) -> pd.DataFrame:
    """Run every task × seed under ``out`` and return the summary (one row per finished run).

    ``config`` holds the settings shared by all runs (its objective, seed and
    out are replaced per run). Runs already finished under ``out`` are
    skipped; an unfinished one is kept as ``s<seed>.interrupted`` and redone.
    ``jobs`` runs go in parallel processes; each run equals its serial self.
    ``on_done(task, seed, row)`` is called as each run finishes (row None when skipped as done before).
    When ``stop()`` turns True, running runs end after their current generation
    (status "interrupted", redone next time) and no new run starts.
    """
    base = config or benchmark_config()
    root = Path(out)
    check_settings(root, base)
    if jobs < 1:
        raise ConfigError(f"--jobs {jobs} is not valid: give 1 or more parallel runs")
    todo: list[tuple[str, int]] = []
    for task in tasks:
        for seed in seeds:
            folder = run_folder(root, task, seed)
            if _finished_row(folder, task, seed) is not None:
                if on_done is not None:
                    on_done(task, seed, None)
                continue
            if folder.exists():
                stale = folder.with_name(folder.name + ".interrupted")
                shutil.rmtree(stale, ignore_errors=True)
                folder.rename(stale)
            folder.parent.mkdir(parents=True, exist_ok=True)
            todo.append((task, seed))

    def finished(task: str, seed: int) -> None:
        write_summary(root, tasks, seeds)
        row = _finished_row(run_folder(root, task, seed), task, seed)
        if on_done is not None and row is not None:
            on_done(task, seed, row)

    stopped = stop or (lambda: False)
    try:
        if jobs == 1 or len(todo) <= 1:
            for task, seed in todo:
                if stopped():
                    break
                _one_run(task, seed, base, str(run_folder(root, task, seed)), stopped)
                finished(task, seed)
        else:
            _run_parallel(todo, base, root, jobs, finished, stopped)
    finally:
        summary = write_summary(root, tasks, seeds)
    return summary


def _run_parallel(
    todo: list[tuple[str, int]],
    base: Config,
    root: Path,
    jobs: int,
    finished: Callable[[str, int], None],
    stopped: Callable[[], bool],
) -> None:
    context = multiprocessing.get_context("spawn")  # fresh interpreters: no inherited threads or state
    with (
        context.Manager() as manager,
        ProcessPoolExecutor(
            min(jobs, len(todo)),
            mp_context=context,
            initializer=init_worker,  # runs in workers end with the benchmark, however it ends
            initargs=(os.getpid(), threading.current_thread() is threading.main_thread()),
        ) as pool,
    ):
        event = manager.Event()
        pending: set[Future[tuple[str, int]]] = {
            pool.submit(_one_run_in_worker, task, seed, base, str(run_folder(root, task, seed)), event)
            for task, seed in todo
        }
        try:
            while pending:
                done, pending = wait(pending, timeout=0.25, return_when=FIRST_COMPLETED)
                if stopped() and not event.is_set():
                    event.set()  # running runs end after their generation; queued ones never start
                    for future in pending:
                        future.cancel()
                for future in done:
                    if not future.cancelled():
                        task, seed = future.result()
                        finished(task, seed)
        except BaseException:
            event.set()
            for future in pending:
                future.cancel()
            raise


def task_table(summary: pd.DataFrame, reference: dict[str, float] | None = None) -> pd.DataFrame:
    """Mean and standard deviation of each metric per task, plus a ``sum`` row (as PMO reports).

    With ``reference`` (task -> Top-10 AUC), adds ``reference`` and ``ratio`` columns.
    """
    if summary.empty:
        return pd.DataFrame()
    grouped = summary.groupby("task", sort=False)
    table = pd.DataFrame(
        {
            "runs": grouped.size(),
            "top10_auc_mean": grouped["top10_auc"].mean(),
            "top10_auc_std": grouped["top10_auc"].std(ddof=0),
            "top1_auc_mean": grouped["top1_auc"].mean(),
            "top100_auc_mean": grouped["top100_auc"].mean(),
            "top10_mean": grouped["top10_mean"].mean(),
            "wall_s": grouped["wall_s"].mean(),
            "oracle_s": grouped["oracle_s"].mean(),
        }
    )
    if reference is not None:
        table["reference"] = [reference.get(t, math.nan) for t in table.index]
        table["ratio"] = table["top10_auc_mean"] / table["reference"]
    total = table.sum(numeric_only=True)
    total["top10_auc_std"] = math.nan
    if reference is not None:
        # Compare sums over the tasks that have a reference value only.
        known = table["reference"].notna()
        ours = table.loc[known, "top10_auc_mean"].sum()
        total["ratio"] = ours / total["reference"] if known.any() and total["reference"] else math.nan
    table.loc["sum"] = total
    return table
