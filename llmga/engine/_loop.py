"""The generational (mu + lambda) loop on DEAP's tools, as ask and tell.

One generation: draw a mating pool from the population (selection on
direction-aware fitness), ask each recipe's operators for all of its
children in one batch (:mod:`llmga.engine._variation`), drop those a filter
or the prescreen rejects (:mod:`llmga.engine._screens`), score the new ones
through the budgeted :class:`Oracle`, keep the survivors of population ∪
offspring (:mod:`llmga.engine._survival`), credit the recipes and tell the
operators. The engine takes resolved objects only: :func:`llmga.build_engine`
(in ``llmga._optimize``) turns a :class:`~llmga.config.Config` into them. It
knows no CLI and no terminal: it reports through observers.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Container, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
from deap import tools

from llmga.engine._oracle import Candidate, Evaluation, Oracle
from llmga.engine._screens import Prescreen, screen
from llmga.engine._selection import select
from llmga.engine._shares import ShareRule, place_credit
from llmga.engine._survival import Individual, Survival, survival_for
from llmga.engine._variation import breed, initial_candidates
from llmga.errors import ObjectiveError, OperatorError
from llmga.executors import Executor, SerialExecutor
from llmga.filters import FilterSet
from llmga.metrics import top_k_mean
from llmga.objectives import Objective, value_spec
from llmga.operators import Operator, Recipe, VariationContext, default_recipes, is_fallback, split_counts

__all__ = [
    "EngineResult",
    "GenerationReport",
    "GeneticAlgorithm",
    "Observer",
    "Schedule",
]

_STALL_LIMIT = 50  # generations in a row without a single new molecule


def _recipe_labels(recipes: Sequence[Recipe]) -> list[str]:
    """A readable, unique name per recipe: its operators joined by '+'."""
    labels: list[str] = []
    for r in recipes:
        label = "+".join(op.name for op in (r.crossover, r.mutation) if op is not None)
        if r.elite:
            label += f"@elite{r.elite}"
        while label in labels:
            label += "'"
        labels.append(label)
    return labels


@dataclass(frozen=True, kw_only=True)
class Schedule:
    """The engine's numbers: population size (mu), children asked per generation (lambda), the oracle
    budget, the mating selection and when to stop early (``patience``: generations in a row in which no
    child entered the population, 0 for never; ``max_generations``)."""

    population: int = 120
    offspring: int = 70
    budget: int = 10_000
    selection: str = "proportional"
    tournament_size: int = 3
    patience: int = 0
    max_generations: int | None = None


@dataclass
class EngineResult:
    evaluations: list[Evaluation]
    logbook: tools.Logbook
    hall_of_fame: tools.HallOfFame
    population: list[Individual]
    generations: int
    stop_reason: str
    elapsed_s: float


class GeneticAlgorithm:
    """A seeded, budgeted (mu + lambda) genetic algorithm over SMILES, driven by :meth:`ask` and :meth:`tell`.

    Everything comes resolved: ``recipes`` (default: PMO's Graph GA), their
    ``share_rule`` (default: fixed shares), ``filters`` and a ``prescreen``
    children must pass, the prompt ``cards`` (default: the objective's own),
    ``rng``, the ``executor`` variation runs on and the ``oracle_executor``
    the objective runs on (default: the same; closed after :meth:`run` when
    ``close_executors``). Survival is truncation, or NSGA-II when the
    objective has several values. ``stop`` is asked after every generation;
    when it returns a reason (a string such as ``"max_cost"``) or True
    (``"interrupted"``, a graceful Ctrl-C) the run ends there with that stop
    reason. ``replay`` (a stopped run's evaluations, in call order) resumes
    that run: it is retraced from its seed with those scores instead of calls
    to the objective (see :class:`~llmga.engine.Oracle`), then goes on as it
    would have.
    """

    def __init__(
        self,
        objective: Objective,
        init_pool: Sequence[str],
        *,
        schedule: Schedule | None = None,
        recipes: Sequence[Recipe] | None = None,
        share_rule: ShareRule | None = None,
        filters: FilterSet | None = None,
        prescreen: Prescreen | None = None,
        cards: Mapping[str, str] | None = None,
        rng: np.random.Generator | None = None,
        executor: Executor | None = None,
        oracle_executor: Executor | None = None,
        close_executors: bool = False,
        observers: Sequence[Observer | Callable[[GenerationReport], object]] = (),
        stop: Callable[[], bool | str | None] | None = None,
        replay: Sequence[Evaluation] = (),
    ) -> None:
        self.objective, self.init_pool = objective, init_pool
        self.schedule = schedule or Schedule()
        self.recipes = list(recipes) if recipes is not None else default_recipes()
        self.share_rule = share_rule or ShareRule([r.share for r in self.recipes])
        self.recipe_labels = _recipe_labels(self.recipes)
        self.filters = filters if filters is not None else FilterSet()
        self.prescreen = prescreen
        self.rng = rng if rng is not None else np.random.default_rng(0)
        self.executor = executor or SerialExecutor()
        self.oracle_executor = oracle_executor or self.executor
        self._close_executors = close_executors
        self.observers = list(observers)  # may be added to before run(): hooks are looked up on each event
        self.stop = stop
        self.directions, self.value_names = value_spec(objective)
        self.direction = self.directions[0]  # the score's (the first value's)
        self.survival: Survival = survival_for(self.directions)
        self.oracle = Oracle(objective, self.schedule.budget, self._notify, self.oracle_executor, replay=replay)
        self._cards = (
            dict(cards)
            if cards is not None
            else {
                "card": objective.prompt_card(hide_names=False),
                "card_hidden": objective.prompt_card(hide_names=True),
            }
        )
        self.population: list[Individual] = []
        self.generation = 0  # the last generation told (0: the initial population)
        self.hall_of_fame = tools.HallOfFame(100, similar=lambda a, b: a.smiles == b.smiles)
        self.logbook = tools.Logbook()
        self.logbook.header = ["gen", "calls", "new", "valid", "dup", "best", "top10", "mean"]
        self._asked: _Asked | None = None  # what the last ask() proposed, until it is told
        self._last_rewards: list[float | None] = [None] * len(self.recipes)
        self._observed = 0  # records the survival strategy has seen
        self._start = 0.0

    # ------------------------------------------------------------ plumbing
    def _notify(self, evaluations: list[Evaluation]) -> None:
        for hook in observer_hooks(self.observers, "on_evaluations"):
            hook(evaluations)

    def _context(self, generation: int) -> VariationContext:
        return VariationContext(
            objective=self.objective.name,
            description=self.objective.description,
            direction=self.direction,
            best_score=self.population[0].score if self.population else math.nan,
            generation=generation,
            executor=self.executor,
            is_scored=self._seen,
            extra=self._cards,
            population=[ind.as_parent() for ind in self.population],
        )

    def _seen(self, smiles: str) -> bool:
        """Whether ``smiles`` was scored already or rejected by a filter (operators should propose others)."""
        return smiles in self.oracle.cache or self.filters.is_rejected(smiles)

    def operators(self) -> list[Operator]:
        """Every operator of the recipes, each once, in recipe order (crossover before mutation)."""
        found: list[Operator] = []
        for recipe in self.recipes:
            for op in (recipe.crossover, recipe.mutation):
                if op is not None and all(op is not seen for seen in found):
                    found.append(op)
        return found

    def survivors(self, evaluations: Sequence[Evaluation | None]) -> list[Individual]:
        """The population ``evaluations`` make: the best ``population`` of the scored ones (by NSGA-II when
        the objective has several values), best first."""
        return self.survival.survivors(self.survival.individuals(evaluations), self.schedule.population)

    # ------------------------------------------------------------ generations
    def initial_candidates(self, size: int, exclude: Container[str] = ()) -> tuple[list[Candidate], int]:
        """Up to ``size`` distinct valid molecules of the initial pool, in a random order drawn from the
        run's generator, that pass the filters and are not in ``exclude``; and how many failed a filter."""
        return initial_candidates(self.init_pool, size, self.rng, self.filters, exclude)

    def _initialise(self) -> GenerationReport:
        pool = self.init_pool
        candidates, rejected = self.initial_candidates(min(self.schedule.population, len(pool)))
        if not candidates:
            raise ObjectiveError(
                f"no molecule of the initial pool ({len(pool)}) passes the filters "
                f"({', '.join(f.name for f in self.filters.filters)}); loosen them or give --init molecules "
                "that pass"
            )
        evaluations = self.oracle.evaluate(candidates, generation=0)
        self.population = self.survivors(evaluations)
        if not self.population:
            raise ObjectiveError(
                f"objective {self.objective.name!r} returned NaN for all {len(candidates)} initial "
                "molecules; check that it can score ordinary molecules such as CCO"
            )
        self.hall_of_fame.update(self.population)
        drawn = len(candidates) + rejected
        report = self._record(_Asked(0, candidates, [], [drawn], drawn, rejected, 0), self.oracle.used, 0)
        self._tell_operators(0, 0)
        return report

    def restore(self, evaluations: Sequence[Evaluation]) -> None:
        """Start from evaluations scored elsewhere (a campaign's told molecules, in call order): they become
        the record and the population is the best of them, so the next proposals are made from it; the
        operators are told them all, as of the last generation among them."""
        self.oracle.record(evaluations)
        self.population = self.survivors(evaluations)
        self.hall_of_fame.update(self.population)
        self.generation = max((e.generation for e in evaluations), default=0)
        self._tell_operators(self.generation, 0)

    def _variation(self, generation: int, n: int) -> _Asked:
        """Selection, variation, filters and prescreen: one generation's ``n`` children as candidates."""
        schedule = self.schedule
        fitness = self.survival.mating_fitness(self.population)
        picks = select(fitness, len(self.population), self.rng, schedule.selection, schedule.tournament_size)
        asked = split_counts(n, self.share_rule.shares)
        pool = [self.population[i] for i in picks]
        ctx = self._context(generation)
        candidates, origins = breed(self.recipes, asked, self.population, pool, self.rng, ctx, self.executor)
        valid = len(candidates)
        cache = self.oracle.cache
        candidates, origins, rejected = screen(self.filters, candidates, origins, cache)
        prescreened = 0
        if self.prescreen is not None:
            hooks = observer_hooks(self.observers, "on_prescreen")
            candidates, origins, prescreened = self.prescreen(candidates, origins, cache, generation, hooks)
        return _Asked(generation, candidates, origins, asked, valid, rejected, prescreened)

    def ask(self, n: int | None = None) -> list[Candidate]:
        """The next generation's children to score, in order: ``n`` of them (default: ``offspring``) made by
        the recipes from a mating pool of the population, less those a filter or the prescreen rejects
        (molecules scored before may be among them: the oracle serves them from its cache). Give their
        evaluations to :meth:`tell` before asking again. The initial population is scored first, on the
        first ask."""
        if self._asked is not None:
            raise OperatorError("ask() was called twice without tell(): tell the evaluations of the last ask first")
        if not self.population:
            self._start = self._start or time.perf_counter()
            self._initialise()
        self._asked = self._variation(self.generation + 1, self.schedule.offspring if n is None else n)
        self._asked.before, self._asked.hits = self.oracle.used, self.oracle.cache_hits
        return list(self._asked.candidates)

    def propose(self, generation: int) -> list[tuple[Candidate, int]]:
        """One generation's new children without scoring them (ask/tell campaigns), each with the index
        of its recipe: selection, variation, filters and prescreen as in :meth:`run`; molecules already
        scored are left out."""
        proposal = self._variation(generation, self.schedule.offspring)
        cache = self.oracle.cache
        return [(c, o) for c, o in zip(proposal.candidates, proposal.origins, strict=True) if c.smiles not in cache]

    def tell(self, evaluations: Sequence[Evaluation | None]) -> GenerationReport:
        """Fold the evaluations of the last :meth:`ask` (one per candidate, in order; ``None`` where a
        candidate was not scored) into the population: survivors, hall of fame, recipe shares, the
        generation's record for the observers, and what each operator is told (:meth:`Operator.tell`)."""
        asked = self._asked
        if asked is None:
            raise OperatorError("tell() without ask(): ask for a generation's candidates first")
        if len(evaluations) != len(asked.candidates):
            raise OperatorError(
                f"tell() got {len(evaluations)} evaluations for the {len(asked.candidates)} candidates asked; "
                "give one per candidate, in order (None where one was not scored)"
            )
        self._asked = None
        self.oracle.record([e for e in evaluations if e is not None])
        self.generation = asked.generation
        offspring = self.survival.individuals(evaluations)
        self.population = self.survival.survivors(self.population + offspring, self.schedule.population)
        self.hall_of_fame.update(offspring)
        # A fallback child fills a slot its recipe left empty: it can survive, but it earns its recipe nothing.
        origin = {
            c.smiles: i for c, i in zip(asked.candidates, asked.origins, strict=True) if not is_fallback(c.operator)
        }
        new = {i.smiles: origin[i.smiles] for i in self.population if i.call > asked.before and i.smiles in origin}
        ranked = [ind.smiles for ind in self.population]
        survived = place_credit(ranked, new, len(self.recipes), self.share_rule.credit_by)
        self._last_rewards = self.share_rule.credit(asked.asked, survived)
        report = self._record(asked, self.oracle.used - asked.before, self.oracle.cache_hits - asked.hits)
        self._tell_operators(asked.generation, asked.before)
        return report

    def _tell_operators(self, generation: int, first: int) -> None:
        """Tell every operator the evaluations from call ``first + 1`` on (this generation's) and the run now."""
        told, context = self.oracle.records[first:], self._context(generation)
        for op in self.operators():
            op.tell(told, context)

    def _record(self, asked: _Asked, new_calls: int, duplicates: int) -> GenerationReport:
        """Log the generation ``asked`` was (``new_calls`` scored, ``duplicates`` served from the cache)
        and send its report to the observers."""
        generation, proposed, valid = asked.generation, sum(asked.asked), asked.valid
        scores = self.oracle.scores()
        best = self.hall_of_fame[0] if len(self.hall_of_fame) else None
        values = np.array([ind.fitness.values[0] for ind in self.population])
        record = {
            "gen": generation,
            "calls": self.oracle.used,
            "new": new_calls,
            "proposed": proposed,
            "valid": valid,
            "dup": duplicates,
            "rejected": asked.rejected,
            "prescreened": asked.prescreened,
            **self.survival.observe(self.oracle.records[self._observed :]),
            "best": best.score if best else math.nan,
            "top10": top_k_mean(scores, 10, self.direction),
            "top100": top_k_mean(scores, 100, self.direction),
            "elapsed_s": round(time.perf_counter() - self._start, 4),
        }
        self._observed = len(self.oracle.records)
        for name, fn in (("mean", np.mean), ("std", np.std), ("min", np.min), ("max", np.max)):
            record[name] = fn(values)
        if len(self.recipes) > 1:
            # The shares the next generation will use, and the rewards that set them.
            for label, share, reward in zip(
                self.recipe_labels, self.share_rule.shares, self._last_rewards, strict=True
            ):
                record[f"share:{label}"] = round(float(share), 4)
                record[f"survived:{label}"] = math.nan if reward is None else round(reward, 4)
        self.logbook.record(**record)
        report = GenerationReport(
            generation=generation,
            calls=self.oracle.used,
            budget=self.oracle.budget,
            new_calls=new_calls,
            proposed=proposed,
            valid=valid,
            duplicates=duplicates,
            best_score=record["best"],
            best_smiles=best.smiles if best else "",
            top10_mean=record["top10"],
            elapsed_s=record["elapsed_s"],
            record=record,
            rng_state=dict(self.rng.bit_generator.state),
            population=tuple(ind.call for ind in self.population),
        )
        for hook in observer_hooks(self.observers, "on_generation"):
            hook(report)
        return report

    # ------------------------------------------------------------ loop
    def run(self) -> EngineResult:
        """Run until the budget, patience, generation limit or ``stop`` ends it: ask, score, tell."""
        try:
            return self._run()
        finally:
            if self._close_executors:
                self.executor.close()
                if self.oracle_executor is not self.executor:
                    self.oracle_executor.close()

    def _run(self) -> EngineResult:
        self._start = time.perf_counter()
        self._initialise()
        schedule = self.schedule
        stale = stalled = 0
        while True:
            reason = self.stop() if self.stop is not None else None
            if reason:
                stop = reason if isinstance(reason, str) else "interrupted"
                break
            if self.oracle.exhausted:
                stop = "budget"
                break
            if schedule.max_generations is not None and self.generation >= schedule.max_generations:
                stop = "max_generations"
                break
            candidates = self.ask()
            before = self.oracle.used
            report = self.tell(self.oracle.evaluate(candidates, self.generation + 1))
            # PMO's rule: patience counts generations in a row in which no child entered the population.
            stale = 0 if any(ind.call > before for ind in self.population) else stale + 1
            stalled = stalled + 1 if report.new_calls == 0 else 0
            if schedule.patience and stale >= schedule.patience and not self.oracle.exhausted:
                stop = "patience"
                break
            if stalled >= _STALL_LIMIT:
                stop = "stalled"
                break
        return EngineResult(
            evaluations=list(self.oracle.records),
            logbook=self.logbook,
            hall_of_fame=self.hall_of_fame,
            population=self.population,
            generations=self.generation,
            stop_reason=stop,
            elapsed_s=time.perf_counter() - self._start,
        )


@dataclass(frozen=True)
class GenerationReport:
    """What happened in one generation (generation 0 is the initial population)."""

    generation: int
    calls: int
    budget: int
    new_calls: int
    proposed: int
    valid: int
    duplicates: int
    best_score: float
    best_smiles: str
    top10_mean: float
    elapsed_s: float
    record: dict[str, Any] = field(default_factory=dict)
    rng_state: dict[str, Any] | None = None  # the run's random generator at the end of the generation
    population: tuple[int, ...] = ()  # the calls of the population's molecules, best first


@dataclass
class _Asked:
    """What one :meth:`GeneticAlgorithm.ask` proposed, kept until its evaluations are told."""

    generation: int
    candidates: list[Candidate]
    origins: list[int]  # the recipe of each candidate
    asked: list[int]  # children asked of each recipe
    valid: int  # children that were valid molecules, before filters and prescreen
    rejected: int
    prescreened: int
    before: int = 0  # oracle calls used when they were asked
    hits: int = 0  # oracle cache hits then


class Observer(Protocol):
    """Receives the engine's news: run folders, progress bars, loggers, notebook callbacks.

    Every hook is optional: an observer implements any subset of
    ``on_evaluations(evaluations)`` (each batch as it is scored),
    ``on_generation(report)`` (a :class:`GenerationReport` after each
    generation), ``on_prescreen(rows)`` and ``on_llm_call(record)``. A plain
    callable with none of them is an Optuna-style callback: it is called
    with each generation's report.
    """

    def on_evaluations(self, evaluations: list[Evaluation]) -> None: ...

    def on_generation(self, report: GenerationReport) -> None: ...


HOOKS = ("on_evaluations", "on_generation", "on_prescreen", "on_llm_call")


def observer_hooks(observers: Sequence[object], name: str) -> list[Callable[..., object]]:
    """The ``name`` hooks of ``observers``, in order: each observer's own method when it has one, and a
    plain callable (one with no hook at all) as its ``on_generation``."""
    if name not in HOOKS:
        raise ValueError(f"no observer hook {name!r}; hooks are {', '.join(HOOKS)}")
    found: list[Callable[..., object]] = []
    for obs in observers:
        hook = getattr(obs, name, None)
        if callable(hook):
            found.append(hook)
        elif name == "on_generation" and callable(obs) and not any(hasattr(obs, h) for h in HOOKS):
            found.append(obs)
    return found
