"""The Python entry point: ``llmga.optimize(...)`` runs the GA and writes a run folder."""

from __future__ import annotations

import math
import platform
import time
import warnings
from collections.abc import Callable, Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

from llmga.backends import BackendError, GenerationParams, RecordedBackend, Usage, make_backend
from llmga.chem import StandardizationReport
from llmga.config import Config
from llmga.data import initial_pool
from llmga.engine import (
    SHARE_RULES,
    EngineResult,
    Evaluation,
    GenerationReport,
    GeneticAlgorithm,
    Observer,
    ParetoSurvival,
    Prescreen,
    Recipe,
    Schedule,
    ShareRule,
    observer_hooks,
)
from llmga.errors import ConfigError, LLMGAError
from llmga.executors import Executor, make_executor
from llmga.filters import filters_from_config
from llmga.metrics import top_k_auc, top_k_mean
from llmga.objectives import Objective, get_objective
from llmga.operators import graph_recipes, recipes_from_config
from llmga.result import RunResult, load
from llmga.store import BEST_FILE, PARETO_FILE, POPULATION_FILE, RunFolder, default_run_dir

__all__ = ["build_engine", "optimize", "resume", "summarize"]


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
    observers: Sequence[Observer | Callable[[GenerationReport], object]] = (),
    callbacks: Sequence[Callable[[GenerationReport], object]] = (),
    stop: Callable[[], bool | str | None] | None = None,
    **options: Any,
) -> RunResult:
    """Optimise ``objective`` with the genetic algorithm and return the run's result.

    ``objective`` is a registered name (``"logp"``, ``"similarity(target=CCO)"``),
    a ``"file.py:function"`` spec, an :class:`~llmga.objectives.Objective`, or any
    per-molecule function ``f(smiles: str) -> float``. ``options`` are
    :class:`~llmga.config.Config` fields (``budget=``, ``seed=``, ``population=``,
    ``out=`` ...), applied on top of ``config``. ``recipes`` replaces the
    default graph-GA operators; ``observers`` receive progress events (any
    subset of the hooks of :class:`~llmga.engine.Observer`); each of
    ``callbacks`` (Optuna style) is called with every generation's
    :class:`~llmga.engine.GenerationReport`; ``stop`` is asked after each
    generation and ends the run early (status ``"interrupted"``) when it
    returns True.

    The run folder (``out``, default ``runs/<objective>-<time>-s<seed>``)
    commits every evaluation to its store as it is scored, so an error,
    Ctrl-C or kill loses nothing already computed, and :func:`resume`
    continues the run from there.
    """
    base = config or Config()
    if objective is not None:
        options["objective"] = _label(objective)
    cfg = base.replace(**options)
    obj = _make_objective(cfg, objective)
    out = Path(cfg.out) if cfg.out else default_run_dir(obj.name, cfg.seed)
    cfg = cfg.replace(out=str(out))
    return _run(cfg, obj, RunFolder(out), recipes, [*observers, *callbacks], stop, resumed=False)


def resume(
    path: str | Path,
    objective: Objective | Callable[..., object] | None = None,
    *,
    recipes: Sequence[Recipe] | None = None,
    observers: Sequence[Observer | Callable[[GenerationReport], object]] = (),
    callbacks: Sequence[Callable[[GenerationReport], object]] = (),
    stop: Callable[[], bool | str | None] | None = None,
) -> RunResult:
    """Continue a run that stopped (Ctrl-C, SIGTERM, kill -9, a power cut, an error) where it stopped.

    The run is retraced from its seed with its configuration, answering
    every oracle call and external language-model prompt it recorded from
    the record (nothing recorded is scored, asked or counted again), and
    then goes on. With a deterministic objective the finished run equals
    one that was never stopped. A run of a Python objective needs it again
    (``objective=``), as do runs with custom ``recipes``. A resumed run that
    leaves its record (llmga or a model changed) raises
    :class:`~llmga.errors.ResumeError` and changes nothing.
    """
    folder = RunFolder(path)
    saved = folder.resume()
    try:
        cfg = Config.from_dict(saved)
        if cfg.objective.startswith("campaign:"):
            raise LLMGAError(
                f"{str(path)!r} is an ask/tell campaign, not a run: continue it with `llmga ask {path} --n N` "
                "and `llmga tell`"
            )
        if objective is None and cfg.objective.startswith("python:"):
            raise LLMGAError(
                f"the run in {str(path)!r} optimised a Python object ({cfg.objective}); pass it again: "
                f"llmga.resume({str(path)!r}, objective=...)"
            )
        obj = _make_objective(cfg, objective)
    except BaseException:
        folder.close()
        raise
    return _run(cfg, obj, folder, recipes, [*observers, *callbacks], stop, resumed=True)


def _make_objective(cfg: Config, objective: str | Objective | Callable[..., object] | None) -> Objective:
    """The objective a configuration names (or ``objective`` itself), with the timeout it asks for."""
    from llmga.objectives import TimeoutObjective

    def limited(o: Objective) -> Objective:
        return TimeoutObjective(o, cfg.objective_timeout) if cfg.objective_timeout is not None else o

    if cfg.pareto:
        from llmga.objectives.pareto import ParetoObjective, split_specs

        specs = split_specs(cfg.objectives or "")
        return _columns_free(ParetoObjective([limited(get_objective(spec)) for spec in specs]))
    found = get_objective(objective if objective is not None else cfg.objective)
    directions = found.directions
    if len(directions) > 1:
        # An objective with several values is a Pareto run by itself; its directions are its own.
        if cfg.direction is not None:
            raise ConfigError(
                f"objective {found.name!r} has {len(directions)} values, each with its own direction "
                f"({', '.join(directions)}); --direction cannot override them: leave it out"
            )
        if cfg.objective_timeout is not None:
            raise ConfigError(
                f"--objective-timeout works on objectives with one value per molecule; {found.name!r} has "
                f"{len(directions)}: leave it out, or give its values as --objectives a,b --pareto"
            )
        return _columns_free(found)
    return limited(get_objective(found, direction=cfg.direction))


def _columns_free(objective: Objective) -> Objective:
    """``objective`` (with several values), once its value names are checked: each heads a column of the
    evaluation tables, beside the fixed ones."""
    from llmga.objectives import value_spec
    from llmga.store import EVALUATION_COLUMNS

    taken = [n for n in value_spec(objective)[1] if n in EVALUATION_COLUMNS]
    if taken:
        raise ConfigError(
            f"objective {objective.name!r} names a value {taken[0]!r}, a column every run has "
            f"({', '.join(EVALUATION_COLUMNS)}); give that value another name"
        )
    return objective


def _run(
    cfg: Config,
    obj: Objective,
    folder: RunFolder,
    recipes: Sequence[Recipe] | None,
    observers: Sequence[Observer | Callable[[GenerationReport], object]],
    stop: Callable[[], bool | str | None] | None,
    *,
    resumed: bool,
) -> RunResult:
    """Run (or, ``resumed``, continue) the GA into ``folder`` and read the result back."""
    try:
        # --init molecules are standardised (salts, mixtures); ZINC is used exactly as PMO draws it.
        pool, standardized = initial_pool(cfg.init, neutralize=cfg.neutralize)
        backend = make_backend(cfg)  # a bad --llm fails here, before any oracle call
        if backend is not None:
            backend = RecordedBackend(backend, folder.on_completions, folder.recorded_completions)
        usage = Usage(cfg.price_in, cfg.price_out, cfg.max_llm_tokens, cfg.max_cost) if backend else None

        watchers = observer_hooks(observers, "on_llm_call")

        def log_llm_call(record: dict[str, Any]) -> None:
            if usage is not None:
                usage.add(record)
            folder.on_llm_call(record)
            for hook in watchers:
                hook(record)

        recipe_list = list(recipes) if recipes is not None else recipes_from_config(cfg, backend, log=log_llm_call)
        if backend is not None and cfg.llm_share > 0:
            # One tiny request before any oracle call: a server that can never accept the run's requests (a
            # rejected parameter, key or model) fails here. It is not recorded, so a resumed run replays as before.
            try:
                backend.preflight(_preflight_params(cfg))
            except BaseException:
                backend.close()
                raise
    except BaseException:
        folder.close()
        raise
    if not resumed:
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
                        "elite": r.elite,
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
            components=obj.value_names if len(obj.directions) > 1 else (),
        )
    started = time.perf_counter()

    def stop_reason() -> bool | str | None:
        reason = stop() if stop is not None else None
        if reason:
            return reason
        if usage is not None and (spent := usage.exceeded()):
            return spent
        if cfg.max_time is not None and time.perf_counter() - started >= cfg.max_time:
            return "max_time"
        return None

    ga = build_engine(
        obj, cfg, pool, recipes=recipe_list, observers=[folder, *observers], stop=stop_reason,
        replay=folder.recorded_evaluations,
    )  # fmt: skip
    replayed = len(folder.recorded_evaluations) if resumed else None
    try:
        result = ga.run()
    except BaseException as exc:
        reason = "interrupted" if isinstance(exc, KeyboardInterrupt) else "failed"
        _finish(folder, cfg, ga, None, reason, f"{type(exc).__name__}: {exc}", usage, replayed, standardized)
        raise
    finally:
        if backend is not None:
            backend.close()
    status = "interrupted" if result.stop_reason == "interrupted" else "finished"
    _finish(folder, cfg, ga, result, status, None, usage, replayed, standardized)
    _check_llm_failures(cfg, usage, folder.path, status)
    return load(folder.path)


def _preflight_params(cfg: Config) -> GenerationParams:
    """The run's sampling settings for the preflight request (its token limit is the backend's own)."""
    n = cfg.children_per_call if cfg.prompt_style == "plain" else 1
    return GenerationParams(n=n, temperature=cfg.temperature, max_new_tokens=cfg.max_new_tokens, seed=cfg.seed)


def _check_llm_failures(cfg: Config, usage: Usage | None, path: Path, status: str) -> None:
    """Say how many LLM calls failed and why; a finished run where more than half of them failed is an error
    (``BackendError``, after everything is written) unless ``allow_llm_failures``."""
    if usage is None or not usage.errors:
        return
    text = f"{usage.errors} of {usage.calls} LLM calls failed ({usage.failures_text()})"
    if status == "finished" and 2 * usage.errors > usage.calls and not cfg.allow_llm_failures:
        raise BackendError(
            f"{text}: more than half, so the run in {str(path)!r} is mostly graph GA. It finished and its results "
            "are kept; llm_calls.csv has each error. Fix the cause and start a new run, or pass "
            "--allow-llm-failures (allow_llm_failures=True) to accept such runs"
        )
    warnings.warn(
        f"{text}; graph GA made those children (the error column of llm_calls.csv says why)",
        RuntimeWarning,
        stacklevel=3,
    )


def build_engine(
    objective: Objective,
    config: Config,
    init_pool: Sequence[str],
    *,
    recipes: Sequence[Recipe] | None = None,
    observers: Sequence[Observer | Callable[[GenerationReport], object]] = (),
    stop: Callable[[], bool | str | None] | None = None,
    replay: Sequence[Evaluation] = (),
    rng: np.random.Generator | None = None,
    executor: Executor | None = None,
) -> GeneticAlgorithm:
    """The engine a configuration describes, every string resolved: ``recipes`` (default: graph GA, as
    :func:`recipes_from_config` gives with no model), the share rule, filters, prescreen, prompt cards,
    a generator seeded with ``config.seed`` and the executors (made here, unless ``executor`` is given,
    and closed when its :meth:`~llmga.engine.GeneticAlgorithm.run` ends)."""
    if recipes is None:
        recipes = graph_recipes(config)
    recipes = list(recipes)
    shares = [r.share for r in recipes]
    adaptive = config.adaptive and len(recipes) > 1
    oracle_executor, made = executor, executor is None
    if executor is None:
        # Variation runs on this machine; the objective where --executor says (a Dask cluster, say).
        executor = make_executor(config.workers, "serial" if config.executor in ("serial", "dask") else "processes")
        oracle_executor = make_executor(config.workers, "dask", config.scheduler) if config.executor == "dask" else None
    return GeneticAlgorithm(
        objective,
        init_pool,
        schedule=Schedule(
            population=config.population,
            offspring=config.offspring,
            budget=config.budget,
            selection=config.selection,
            tournament_size=config.tournament_size,
            patience=config.patience,
            max_generations=config.max_generations,
        ),
        recipes=recipes,
        share_rule=(
            SHARE_RULES[config.share_rule](shares, floor=config.share_floor, credit=config.share_credit)
            if adaptive
            else ShareRule(shares)
        ),
        filters=filters_from_config(config.filters, config.keep_smarts, config.avoid_smarts),
        prescreen=Prescreen(get_objective(config.prescreen), config.prescreen_keep) if config.prescreen else None,
        cards={"card": config.describe, "card_hidden": config.describe} if config.describe else None,
        rng=rng if rng is not None else np.random.default_rng(config.seed),
        executor=executor,
        oracle_executor=oracle_executor,
        close_executors=made,
        observers=observers,
        stop=stop,
        replay=replay,
    )


def _nanmean(values: Sequence[float]) -> float | None:
    finite = [v for v in values if not math.isnan(v)]
    return round(float(np.mean(finite)), 4) if finite else None


def _finish(
    folder: RunFolder,
    cfg: Config,
    ga: GeneticAlgorithm,
    result: EngineResult | None,
    status: str,
    error: str | None,
    usage: Usage | None = None,
    replayed: int | None = None,
    standardized: StandardizationReport | None = None,
) -> None:
    """Write best molecules, final population and summary (also after a failure), export the tables.

    ``standardized`` is the report of the --init file's standardisation (``None``: ZINC as shipped).
    """
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
    summary = summarize(evaluations, cfg.budget, direction)
    summary.update(
        status=status,
        stop_reason=result.stop_reason if result else status,
        generations=result.generations if result else len(ga.logbook) - 1,
        elapsed_s=round(result.elapsed_s, 3) if result else None,
        best_smiles=scored[0].smiles if scored else None,
        best_score=scored[0].score if scored else None,
        cache_hits=ga.oracle.cache_hits,
        oracle_s=round(ga.oracle.seconds, 3),
        filters=ga.filters.card(),
        rejected_by_filter=dict(ga.filters.rejected),
        prescreened_out=ga.prescreen.dropped if ga.prescreen is not None else None,
        error=error,
        finished=time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    )
    if replayed is not None:
        summary["resumed_after_calls"] = replayed  # calls answered from the record when the run was resumed
    if usage is not None:
        children = [e for e in evaluations if e.generation > 0]
        summary.update(usage.summary())
        summary["llm_share_of_new_molecules"] = (
            sum(e.operator.startswith("llm_") for e in children) / len(children) if children else None
        )
        survivors = [p for p in ga.population if p.generation > 0]
        summary["llm_share_of_survivors"] = (
            sum(p.operator.startswith("llm_") for p in survivors) / len(survivors) if survivors else None
        )
    if len(ga.recipes) > 1:
        # Per recipe: its share of the next generation, its mean share over the run, and the mean share
        # of its children that entered the population (the adaptive rule's reward).
        rows = list(ga.logbook)[1:]
        summary["operator_shares"] = {
            label: {
                "final": round(float(share), 4),
                "mean": round(float(np.mean([r[f"share:{label}"] for r in rows])), 4) if rows else None,
                "survival": _nanmean([r[f"survived:{label}"] for r in rows]),
            }
            for label, share in zip(ga.recipe_labels, ga.share_rule.shares, strict=True)
        }
    survival = ga.survival
    if isinstance(survival, ParetoSurvival):
        names = ga.value_names
        front = sorted(survival.front, key=lambda e: e.call)
        folder.write_table(
            PARETO_FILE, ["smiles", "call", "generation", "operator", *names],
            [(e.smiles, e.call, e.generation, e.operator, *e.components) for e in front],
        )  # fmt: skip
        rows = list(ga.logbook)
        summary["pareto"] = {
            "objectives": [{"name": n, "direction": d} for n, d in zip(names, ga.directions, strict=True)],
            "front_size": len(front),
            "hypervolume": rows[-1].get("hypervolume") if rows else None,
            "hypervolume_reference": [
                float(-w * r) for w, r in zip(survival.weights, survival.hv_reference, strict=True)
            ]
            if survival.hv_reference is not None
            else None,
            "note": "score, best.csv and the AUC metrics are the first objective's; pareto_front.csv has the front",
        }
    summary["standardization"] = {
        "neutralize": cfg.neutralize,
        "init": standardized.as_dict() if standardized is not None else "zinc250k as shipped (not standardised)",
    }
    folder.write_summary(summary)
    folder.close()
