"""The Python entry point: ``llmga.optimize(...)`` runs the GA and writes a run folder."""

from __future__ import annotations

import math
import platform
import time
from collections.abc import Callable, Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

from llmga.config import Config
from llmga.data import read_smiles_file, zinc250k
from llmga.engine import EngineResult, GeneticAlgorithm, Observer, Recipe, default_recipes
from llmga.engine._oracle import Evaluation
from llmga.metrics import top_k_auc, top_k_mean
from llmga.objectives import Objective, get_objective
from llmga.result import RunResult, load
from llmga.store import BEST_FILE, POPULATION_FILE, RunFolder, default_run_dir

__all__ = ["optimize", "summarize"]


def _version(dist: str) -> str | None:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


def summarize(evaluations: Sequence[Evaluation], budget: int, direction: str) -> dict[str, Any]:
    """PMO metrics of a run's evaluations (in call order) under ``budget``."""
    scores = np.array([e.score for e in evaluations], dtype=float)
    out: dict[str, Any] = {"calls": len(evaluations), "budget": budget, "direction": direction}
    for k in (1, 10, 100):
        out[f"top{k}_auc"] = top_k_auc(scores, k, budget, direction=direction) if len(scores) else math.nan
        out[f"top{k}_mean"] = top_k_mean(scores, k, direction)
    out["nan_scores"] = int(np.isnan(scores).sum())
    init = scores[[e.generation == 0 for e in evaluations]] if len(scores) else scores
    out["init_best"] = top_k_mean(init, 1, direction) if init.size else math.nan
    return out


def _label(objective: object) -> str:
    if isinstance(objective, str):
        return objective
    name = getattr(objective, "name", None) or getattr(objective, "__name__", type(objective).__name__)
    return f"python:{name}"


def optimize(
    objective: str | Objective | Callable[..., object] | None = None,
    *,
    config: Config | None = None,
    recipes: Sequence[Recipe] | None = None,
    observers: Sequence[Observer] = (),
    stop: Callable[[], bool] | None = None,
    **options: Any,
) -> RunResult:
    """Optimise ``objective`` with the genetic algorithm and return the run's result.

    ``objective`` is a registered name (``"logp"``, ``"similarity(target=CCO)"``),
    a ``"file.py:function"`` spec, an :class:`~llmga.objectives.Objective`, or any
    per-molecule function ``f(smiles: str) -> float``. ``options`` are
    :class:`~llmga.config.Config` fields (``budget=``, ``seed=``, ``population=``,
    ``out=`` ...), applied on top of ``config``. ``recipes`` replaces the
    default graph-GA operators; ``observers`` receive progress events; ``stop``
    is asked after each generation and ends the run early (status
    ``"interrupted"``) when it returns True.

    The run folder (``out``, default ``runs/<objective>-<time>-s<seed>``)
    receives every evaluation as it is scored, so an error or Ctrl-C loses
    nothing already computed.
    """
    base = config or Config()
    if objective is not None:
        options["objective"] = _label(objective)
    cfg = base.replace(**options)
    obj = get_objective(objective if objective is not None else cfg.objective, direction=cfg.direction)
    pool = read_smiles_file(cfg.init) if cfg.init else zinc250k()
    out = Path(cfg.out) if cfg.out else default_run_dir(obj.name, cfg.seed)
    cfg = cfg.replace(out=str(out))
    recipe_list = list(recipes) if recipes is not None else default_recipes(cfg)

    folder = RunFolder(out)
    folder.create(
        cfg.to_dict(),
        {
            "objective": obj.card(),
            "recipes": [
                {
                    "crossover": r.crossover.card() if r.crossover else None,
                    "mutation": r.mutation.card() if r.mutation else None,
                    "mutation_rate": r.mutation_rate,
                    "share": r.share,
                }
                for r in recipe_list
            ],
            "init": cfg.init or "zinc250k (shipped)",
            "init_pool_size": len(pool),
            "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "versions": {
                "llmga": _version("llmga"),
                "rdkit": _version("rdkit"),
                "deap": _version("deap"),
                "numpy": np.__version__,
                "python": platform.python_version(),
            },
        },
    )
    ga = GeneticAlgorithm(obj, cfg, pool, recipes=recipe_list, observers=[folder, *observers], stop=stop)
    try:
        result = ga.run()
    except BaseException as exc:
        reason = "interrupted" if isinstance(exc, KeyboardInterrupt) else "failed"
        _finish(folder, ga, None, reason, f"{type(exc).__name__}: {exc}")
        raise
    _finish(folder, ga, result, "interrupted" if result.stop_reason == "interrupted" else "finished", None)
    return load(out)


def _finish(
    folder: RunFolder, ga: GeneticAlgorithm, result: EngineResult | None, status: str, error: str | None
) -> None:
    """Write best molecules, final population and summary (also after a failure)."""
    evaluations = ga.oracle.records
    direction = ga.direction
    sign = -1.0 if direction == "maximize" else 1.0
    scored = sorted((e for e in evaluations if not math.isnan(e.score)), key=lambda e: (sign * e.score, e.call))[:100]
    columns = ["rank", "smiles", "score", "call", "generation", "operator"]
    folder.write_table(
        BEST_FILE, columns, [(i + 1, e.smiles, e.score, e.call, e.generation, e.operator) for i, e in enumerate(scored)]
    )
    folder.write_table(
        POPULATION_FILE,
        columns,
        [(i + 1, p.smiles, p.score, p.call, p.generation, p.operator) for i, p in enumerate(ga.population)],
    )
    summary = summarize(evaluations, ga.config.budget, direction)
    summary.update(
        status=status,
        stop_reason=result.stop_reason if result else status,
        generations=result.generations if result else len(ga.logbook) - 1,
        elapsed_s=round(result.elapsed_s, 3) if result else None,
        best_smiles=scored[0].smiles if scored else None,
        best_score=scored[0].score if scored else None,
        cache_hits=ga.oracle.cache_hits,
        oracle_s=round(ga.oracle.seconds, 3),
        error=error,
        finished=time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    )
    folder.write_summary(summary)
    folder.close()
