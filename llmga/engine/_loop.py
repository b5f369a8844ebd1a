"""The generational (mu + lambda) loop on DEAP's tools.

One generation: draw a mating pool from the population (selection on
direction-aware fitness), ask each recipe's operators for all of its
children in one batch, canonicalise and de-duplicate the children, score the
new ones through the budgeted :class:`Oracle`, and keep the best
``population`` molecules of population ∪ offspring. The loop knows no CLI and
no terminal: it reports through observers.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Container, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
from deap import base, tools

from llmga.chem import canonical
from llmga.config import Config
from llmga.engine._oracle import Candidate, Evaluation, Oracle
from llmga.engine._selection import select
from llmga.engine._shares import AdaptivePursuit, ShareRule
from llmga.errors import ObjectiveError, OperatorError
from llmga.executors import Executor, make_executor
from llmga.metrics import top_k_mean
from llmga.objectives import Objective
from llmga.operators import Child, GraphCrossover, GraphMutation, Operator, Parent, VariationContext

__all__ = [
    "EngineResult",
    "GenerationReport",
    "GeneticAlgorithm",
    "Individual",
    "Observer",
    "Recipe",
    "default_recipes",
]

_STALL_LIMIT = 50  # generations in a row without a single new molecule


def _text(kid: str | Child | None) -> str:
    """The SMILES text of an operator's child ("" when there is none)."""
    if isinstance(kid, Child):
        return kid.smiles
    return kid if isinstance(kid, str) else ""


def _label(kid: str | Child | None, default: str) -> str:
    """Who made a child: its own label if it carries one, else the operator's name."""
    return kid.operator if isinstance(kid, Child) else default


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


class MaxFitness(base.Fitness):
    weights = (1.0,)


class MinFitness(base.Fitness):
    weights = (-1.0,)


class Individual:
    """A scored molecule in the population, with a DEAP fitness."""

    __slots__ = ("call", "fitness", "generation", "operator", "smiles")

    def __init__(self, evaluation: Evaluation, fitness_class: type[base.Fitness]) -> None:
        self.smiles = evaluation.smiles
        self.call = evaluation.call
        self.generation = evaluation.generation
        self.operator = evaluation.operator
        self.fitness = fitness_class(evaluation.components or (evaluation.score,))

    @property
    def score(self) -> float:
        return float(self.fitness.values[0])

    def as_parent(self) -> Parent:
        return Parent(self.smiles, self.score, self.call)

    def __repr__(self) -> str:
        return f"Individual({self.smiles!r}, score={self.score:.4g}, call={self.call})"


@dataclass(frozen=True)
class Recipe:
    """How one share of each generation's children is made: crossover, then maybe mutation.

    With no crossover, sampled parents are mutated (always); with no mutation,
    crossover children are kept as they are. ``share`` weighs this recipe
    against the others (shares are normalised). With ``elite = N`` the
    recipe's parents are drawn uniformly from the N best molecules scored so
    far instead of the generation's mating pool (elitism, as ExLLM and
    Chemlactica do).
    """

    crossover: Operator | None
    mutation: Operator | None
    mutation_rate: float = 0.0
    share: float = 1.0
    elite: int | None = None

    def __post_init__(self) -> None:
        if self.crossover is None and self.mutation is None:
            raise ValueError("a recipe needs a crossover or a mutation operator")


def default_recipes(config: Config) -> list[Recipe]:
    """PMO's Graph GA: Jensen crossover for every child, then mutation at ``mutation_rate``."""
    return [
        Recipe(
            GraphCrossover(config.size_mean, config.size_std),
            GraphMutation(config.size_mean, config.size_std),
            config.mutation_rate,
        )
    ]


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
    """A seeded, budgeted (mu + lambda) genetic algorithm over SMILES.

    ``stop`` is asked after every generation; when it returns a reason (a
    string such as ``"max_cost"``) or True (``"interrupted"``, a graceful
    Ctrl-C) the run ends there with that stop reason. ``replay`` (a stopped
    run's evaluations, in call order) resumes that run: it is retraced from
    its seed with those scores instead of calls to the objective (see
    :class:`~llmga.engine.Oracle`), then goes on as it would have.
    """

    def __init__(
        self,
        objective: Objective,
        config: Config,
        init_pool: Sequence[str],
        *,
        recipes: Sequence[Recipe] | None = None,
        observers: Sequence[Observer | Callable[[GenerationReport], object]] = (),
        rng: np.random.Generator | None = None,
        executor: Executor | None = None,
        stop: Callable[[], bool | str | None] | None = None,
        replay: Sequence[Evaluation] = (),
    ) -> None:
        self.objective = objective
        self.config = config
        self.init_pool = init_pool
        self.recipes = list(recipes) if recipes is not None else default_recipes(config)
        self.observers = list(observers)  # may be added to before run(): hooks are looked up on each event
        self.rng = rng if rng is not None else np.random.default_rng(config.seed)
        from llmga.objectives import value_spec

        # One value per molecule: survivors by score. Several (a Pareto run): fitness is every value (DEAP
        # weights = directions), survivors by NSGA-II; the score (and self.direction) is the first value's.
        self.directions, self.value_names = value_spec(objective)
        self.direction = self.directions[0]
        self.weights = tuple(1.0 if d == "maximize" else -1.0 for d in self.directions)
        self.pareto = len(self.directions) > 1
        self.fitness_class: type[base.Fitness] = MaxFitness if self.direction == "maximize" else MinFitness
        if self.pareto:
            self.fitness_class = type("ParetoFitness", (base.Fitness,), {"weights": self.weights})
        self.front: list[Evaluation] = []  # the non-dominated molecules among all scored so far
        self._front_seen = 0
        self.hv_reference: np.ndarray | None = None  # hypervolume reference (minimisation form)
        self.stop = stop
        self._owns_executor = executor is None
        # Variation runs on this machine; the objective where --executor says (a Dask cluster, say).
        local = "serial" if config.executor in ("serial", "dask") else "processes"
        self.executor = executor if executor is not None else make_executor(config.workers, local)
        self.oracle_executor = (
            self.executor
            if executor is not None or config.executor != "dask"
            else make_executor(config.workers, "dask", config.scheduler)
        )
        self.oracle = Oracle(objective, config.budget, self._notify_evaluations, self.oracle_executor, replay=replay)
        from llmga.filters import filters_from_config

        # Rules a child must pass before it may be scored (no oracle calls); counts per filter.
        self.filters = filters_from_config(config.filters, config.keep_smarts, config.avoid_smarts)
        # A cheap objective that ranks new children so that only the best share reaches the oracle.
        self.prescreen: Objective | None = None
        if config.prescreen:
            from llmga.objectives import get_objective

            self.prescreen = get_objective(config.prescreen)
        self.prescreened = 0  # children the prescreen kept from the oracle, over the run
        self.population: list[Individual] = []
        self.generation = 0  # the last generation told (0: the initial population)
        self._asked: _Asked | None = None  # what the last ask() proposed, until it is told
        self.hall_of_fame = tools.HallOfFame(100, similar=lambda a, b: a.smiles == b.smiles)
        self.logbook = tools.Logbook()
        self.logbook.header = ["gen", "calls", "new", "valid", "dup", "best", "top10", "mean"]
        self.stats = tools.Statistics(key=lambda ind: ind.fitness.values[0])
        for name, fn in (("mean", np.mean), ("std", np.std), ("min", np.min), ("max", np.max)):
            self.stats.register(name, fn)
        self._start = 0.0
        shares = [r.share for r in self.recipes]
        self.share_rule: ShareRule = (
            AdaptivePursuit(shares, floor=config.share_floor)
            if config.adaptive and len(self.recipes) > 1
            else ShareRule(shares)
        )
        self.recipe_labels = _recipe_labels(self.recipes)
        self._last_rewards: list[float | None] = [None] * len(self.recipes)
        # Prompt cards (what the objective rewards), with and without drug names; --describe overrides.
        self._cards = {
            "card": config.describe or objective.prompt_card(hide_names=False),
            "card_hidden": config.describe or objective.prompt_card(hide_names=True),
        }

    # ------------------------------------------------------------ plumbing
    def _notify_evaluations(self, evaluations: list[Evaluation]) -> None:
        for hook in observer_hooks(self.observers, "on_evaluations"):
            hook(evaluations)

    def _sign(self) -> float:
        return 1.0 if self.direction == "maximize" else -1.0

    def _individuals(self, evaluations: Sequence[Evaluation | None]) -> list[Individual]:
        seen: dict[str, Individual] = {}
        for ev in evaluations:
            if ev is not None and not math.isnan(ev.score) and ev.smiles not in seen:
                seen[ev.smiles] = Individual(ev, self.fitness_class)
        return list(seen.values())

    def _survivors(self, candidates: list[Individual]) -> list[Individual]:
        unique: dict[str, Individual] = {}
        for ind in candidates:
            unique.setdefault(ind.smiles, ind)
        if self.pareto:
            return list(tools.selNSGA2(list(unique.values()), self.config.population))
        ranked = sorted(unique.values(), key=lambda i: (-i.fitness.wvalues[0], i.call))
        return ranked[: self.config.population]

    # ------------------------------------------------------------ variation
    def _context(self, generation: int) -> VariationContext:
        best = self.population[0].score if self.population else math.nan
        return VariationContext(
            objective=self.objective.name,
            description=self.objective.description,
            direction=self.direction,
            best_score=best,
            generation=generation,
            executor=self.executor,
            is_scored=self._seen,
            extra=self._cards,
            population=[ind.as_parent() for ind in self.population],
        )

    def _front_record(self) -> dict[str, Any]:
        if not self.pareto:
            return {}
        size, volume = self._update_front()
        return {"front_size": size, "hypervolume": volume}

    def _mating_fitness(self) -> np.ndarray:
        """Larger-is-better fitness for mating selection: the score, or in a Pareto run the front's rank."""
        if not self.pareto:
            return np.array([ind.fitness.wvalues[0] for ind in self.population])
        fronts = tools.sortNondominated(self.population, len(self.population))
        rank = {id(ind): len(fronts) - i for i, front in enumerate(fronts) for ind in front}
        return np.array([float(rank[id(ind)]) for ind in self.population])

    def _update_front(self) -> tuple[int, float]:
        """Fold the new evaluations into the Pareto front; its size and hypervolume."""
        from llmga.objectives.pareto import hypervolume, non_dominated

        assert self.pareto
        weights = np.array(self.weights)
        new = [e for e in self.oracle.records[self._front_seen :] if e.components and not math.isnan(e.score)]
        self._front_seen = len(self.oracle.records)
        pool = self.front + new
        # Every objective in minimisation form (smaller is better), one row per molecule.
        minimised = -weights * np.array([e.components for e in pool], dtype=float).reshape(len(pool), len(weights))
        if self.hv_reference is None and pool:
            # The worst initial value of each objective, a little further out.
            span = np.ptp(minimised, axis=0)
            self.hv_reference = minimised.max(axis=0) + 0.1 * np.where(span > 0, span, 1.0)
        keep = non_dominated(-minimised) if pool else np.zeros(0, dtype=np.int64)
        self.front = [pool[int(i)] for i in keep]
        volume = hypervolume(minimised[keep], self.hv_reference) if self.hv_reference is not None else 0.0
        return len(self.front), volume

    def _seen(self, smiles: str) -> bool:
        """Whether ``smiles`` was scored already or rejected by a filter (operators should propose others)."""
        return smiles in self.oracle.cache or self.filters.is_rejected(smiles)

    def _screen(self, candidates: list[Candidate], origins: list[int]) -> tuple[list[Candidate], list[int], int]:
        """Drop the candidates that fail a filter (molecules already scored pass); how many were dropped."""
        if not self.filters:
            return candidates, origins, 0
        kept = [
            (c, o)
            for c, o in zip(candidates, origins, strict=True)
            if c.smiles in self.oracle.cache or self.filters.passes(c.smiles)
        ]
        return [c for c, _ in kept], [o for _, o in kept], len(candidates) - len(kept)

    def _prescreen(
        self, candidates: list[Candidate], origins: list[int], generation: int
    ) -> tuple[list[Candidate], list[int], int]:
        """Keep the new children the prescreen ranks best (``prescreen_keep`` of them); how many it dropped.

        Every new child's prescreen score goes to the observers (``on_prescreen``), kept or not.
        """
        if self.prescreen is None:
            return candidates, origins, 0
        new = list(dict.fromkeys(c.smiles for c in candidates if c.smiles not in self.oracle.cache))
        if not new:
            return candidates, origins, 0
        from llmga.objectives import check_scores

        scores = check_scores(self.prescreen(new), new, self.prescreen.name)
        sign = 1.0 if self.prescreen.direction == "maximize" else -1.0
        ranked = np.where(np.isnan(scores), -np.inf, sign * scores)
        n_keep = max(1, math.ceil(self.config.prescreen_keep * len(new)))
        order = np.argsort(-ranked, kind="stable")
        kept = {new[int(i)] for i in order[:n_keep]}
        rows = [(generation, smi, float(sc), smi in kept) for smi, sc in zip(new, scores, strict=True)]
        for hook in observer_hooks(self.observers, "on_prescreen"):
            hook(rows)
        cache = self.oracle.cache
        out = [(c, o) for c, o in zip(candidates, origins, strict=True) if c.smiles in kept or c.smiles in cache]
        dropped = len(new) - len(kept)
        self.prescreened += dropped
        return [c for c, _ in out], [o for _, o in out], dropped

    @staticmethod
    def _apply(
        op: Operator, groups: list[list[Parent]], rng: np.random.Generator, ctx: VariationContext
    ) -> list[list[str | Child | None]]:
        out = op.apply(groups, rng, ctx)
        if not isinstance(out, (list, tuple)) or len(out) != len(groups):
            got = len(out) if isinstance(out, (list, tuple)) else type(out).__name__
            raise OperatorError(
                f"operator {op.name!r} returned {got} child lists for {len(groups)} parent groups; "
                "Operator.apply must return one list per group, in order"
            )
        children: list[list[str | Child | None]] = [
            list(kids) if isinstance(kids, (list, tuple)) else [None] for kids in out
        ]
        return children

    def _split(self, n: int) -> list[int]:
        shares = self.share_rule.shares
        exact = n * shares / shares.sum()
        counts = np.floor(exact).astype(int)
        order = np.argsort(-(exact - counts), kind="stable")
        counts[order[: n - counts.sum()]] += 1
        return [int(c) for c in counts]

    def _offspring(
        self, pool: list[Individual], generation: int, n: int
    ) -> tuple[list[Candidate], list[int], list[int]]:
        """All ``n`` of one generation's children as candidates, the recipe of each, and children asked per
        recipe."""
        rng, ctx = self.rng, self._context(generation)
        children: list[tuple[str | Child | None, tuple[int, ...], str]] = []
        checked: list[bool] = []  # whether each child was validated by the operator that made it
        origin: list[int] = []  # the recipe of each child
        asked = self._split(n)
        for index, (recipe, n) in enumerate(zip(self.recipes, asked, strict=True)):
            if n == 0:
                continue
            batch: list[tuple[str | Child | None, tuple[int, ...], str]]
            source = self.population[: recipe.elite] if recipe.elite else pool
            if recipe.crossover is not None:
                op = recipe.crossover
                n_groups = math.ceil(n / max(op.children_per_group, 1))
                picks = rng.integers(len(source), size=(n_groups, op.arity))
                groups = [[source[i].as_parent() for i in row] for row in picks]
                outs = self._apply(op, groups, rng, ctx)
                batch = [
                    (kid, tuple(p.call for p in group), op.name)
                    for group, kids in zip(groups, outs, strict=True)
                    for kid in kids
                ]
                batch = batch[:n]
                valid = [op.validated_output] * len(batch)
                rate = recipe.mutation_rate
            else:
                picks = rng.integers(len(source), size=n)
                batch = [(source[i].smiles, (source[i].call,), "") for i in picks]
                valid = [True] * len(batch)  # population members: scored canonical SMILES
                rate = 1.0
            mut = recipe.mutation
            if mut is not None:
                draws = rng.random(len(batch))
                chosen = [i for i, (kid, _, _) in enumerate(batch) if kid is not None and draws[i] < rate]
                if chosen:
                    groups = [[Parent(_text(batch[i][0]))] for i in chosen]
                    outs = self._apply(mut, groups, rng, ctx)
                    for i, kids in zip(chosen, outs, strict=True):
                        kid, parents, name = batch[i]
                        name = _label(kid, name)
                        label = f"{name}+{mut.name}" if name else mut.name
                        batch[i] = (kids[0] if kids else None, parents, label)
                        valid[i] = mut.validated_output
            children.extend(batch)
            checked.extend(valid)
            origin.extend([index] * len(batch))
        # Children are untrusted unless their operator validated them: parse and canonicalise
        # the others (on the workers).
        texts = [_text(kid) for kid, _, _ in children]
        unchecked = [i for i, ok in enumerate(checked) if not ok]
        smiles_list: list[str | None] = [t or None for t in texts]
        for i, smiles in zip(unchecked, self.executor.map(canonical, [texts[i] for i in unchecked]), strict=True):
            smiles_list[i] = smiles
        candidates, origins = [], []
        for smiles, (kid, parents, name), index in zip(smiles_list, children, origin, strict=True):
            if smiles is not None:
                candidates.append(Candidate(smiles, _label(kid, name), parents))
                origins.append(index)
        return candidates, origins, asked

    def _credit(self, candidates: list[Candidate], origins: list[int], asked: list[int], first_call: int) -> None:
        """Reward each recipe with the share of its children that entered the population; update shares."""
        origin = {c.smiles: i for c, i in zip(candidates, origins, strict=True)}
        survived = [0] * len(self.recipes)
        for ind in self.population:
            if ind.call > first_call and ind.smiles in origin:
                survived[origin[ind.smiles]] += 1
        self._last_rewards = [s / n if n else None for s, n in zip(survived, asked, strict=True)]
        self.share_rule.update(self._last_rewards)

    # ------------------------------------------------------------ loop
    def _record(
        self,
        generation: int,
        new_calls: int,
        proposed: int,
        valid: int,
        duplicates: int,
        rejected: int = 0,
        prescreened: int = 0,
    ) -> GenerationReport:
        scores = self.oracle.scores()
        top10 = top_k_mean(scores, 10, self.direction)
        top100 = top_k_mean(scores, 100, self.direction)
        best = self.hall_of_fame[0] if len(self.hall_of_fame) else None
        record = {
            "gen": generation,
            "calls": self.oracle.used,
            "new": new_calls,
            "proposed": proposed,
            "valid": valid,
            "dup": duplicates,
            "rejected": rejected,
            "prescreened": prescreened,
            **self._front_record(),
            "best": best.score if best else math.nan,
            "top10": top10,
            "top100": top100,
            "elapsed_s": round(time.perf_counter() - self._start, 4),
            **self.stats.compile(self.population),
        }
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
            top10_mean=top10,
            elapsed_s=record["elapsed_s"],
            record=record,
            rng_state=dict(self.rng.bit_generator.state),
            population=tuple(ind.call for ind in self.population),
        )
        for hook in observer_hooks(self.observers, "on_generation"):
            hook(report)
        return report

    def initial_candidates(self, size: int, exclude: Container[str] = ()) -> tuple[list[Candidate], int]:
        """Up to ``size`` distinct valid molecules of the initial pool, in a random order drawn from the
        run's generator, that pass the filters and are not in ``exclude``; and how many failed a filter."""
        pool = self.init_pool
        candidates: list[Candidate] = []
        seen: set[str] = set()
        rejected = 0
        for i in self.rng.permutation(len(pool)):
            smiles = canonical(pool[int(i)])
            if smiles is not None and smiles not in seen and smiles not in exclude:
                seen.add(smiles)
                if self.filters and not self.filters.passes(smiles):
                    rejected += 1
                    continue
                candidates.append(Candidate(smiles, "init"))
                if len(candidates) == size:
                    break
        return candidates, rejected

    def _initialise(self) -> GenerationReport:
        pool = self.init_pool
        candidates, rejected = self.initial_candidates(min(self.config.population, len(pool)))
        if not candidates:
            raise ObjectiveError(
                f"no molecule of the initial pool ({len(pool)}) passes the filters "
                f"({', '.join(f.name for f in self.filters.filters)}); loosen them or give --init molecules "
                "that pass"
            )
        evaluations = self.oracle.evaluate(candidates, generation=0)
        initial = self._individuals(evaluations)
        if not initial:
            raise ObjectiveError(
                f"objective {self.objective.name!r} returned NaN for all {len(candidates)} initial "
                "molecules; check that it can score ordinary molecules such as CCO"
            )
        self.population = self._survivors(initial)
        self.hall_of_fame.update(self.population)
        new = sum(1 for e in evaluations if e is not None)
        report = self._record(0, new, len(candidates) + rejected, len(candidates) + rejected, 0, rejected)
        self._tell(0, 0)
        return report

    def operators(self) -> list[Operator]:
        """Every operator of the recipes, each once, in recipe order (crossover before mutation)."""
        found: list[Operator] = []
        for recipe in self.recipes:
            for op in (recipe.crossover, recipe.mutation):
                if op is not None and all(op is not seen for seen in found):
                    found.append(op)
        return found

    def _tell(self, generation: int, first: int) -> None:
        """Tell every operator the evaluations from call ``first + 1`` on (this generation's) and the run now."""
        told = self.oracle.records[first:]
        context = self._context(generation)
        for op in self.operators():
            op.tell(told, context)

    def survivors(self, evaluations: Sequence[Evaluation | None]) -> list[Individual]:
        """The population ``evaluations`` make: the best ``population`` of the scored ones (by NSGA-II when
        the objective has several values), best first."""
        return self._survivors(self._individuals(evaluations))

    def restore(self, evaluations: Sequence[Evaluation]) -> None:
        """Start from evaluations scored elsewhere (a campaign's told molecules, in call order): they become
        the record and the population is the best of them, so the next proposals are made from it."""
        self.oracle.record(evaluations)
        self.population = self.survivors(evaluations)
        self.hall_of_fame.update(self.population)
        self.generation = max((e.generation for e in evaluations), default=0)

    def _variation(self, generation: int, n: int) -> _Asked:
        """Selection, variation, filters and prescreen: one generation's ``n`` children as candidates."""
        fitness = self._mating_fitness()
        picks = select(fitness, len(self.population), self.rng, self.config.selection, self.config.tournament_size)
        candidates, origins, asked = self._offspring([self.population[i] for i in picks], generation, n)
        valid = len(candidates)
        candidates, origins, rejected = self._screen(candidates, origins)
        candidates, origins, prescreened = self._prescreen(candidates, origins, generation)
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
        self._asked = self._variation(self.generation + 1, self.config.offspring if n is None else n)
        self._asked.before, self._asked.hits = self.oracle.used, self.oracle.cache_hits
        return list(self._asked.candidates)

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
        offspring = self._individuals(evaluations)
        self.population = self._survivors(self.population + offspring)
        self.hall_of_fame.update(offspring)
        self._credit(asked.candidates, asked.origins, asked.asked, asked.before)
        new_calls = self.oracle.used - asked.before
        duplicates = self.oracle.cache_hits - asked.hits
        report = self._record(
            asked.generation, new_calls, sum(asked.asked), asked.valid, duplicates, asked.rejected, asked.prescreened
        )
        self._tell(asked.generation, asked.before)
        return report

    def propose(self, generation: int) -> list[tuple[Candidate, int]]:
        """One generation's new children without scoring them (ask/tell campaigns), each with the index
        of its recipe: selection, variation, filters and prescreen as in :meth:`run`; molecules already
        scored are left out."""
        proposal = self._variation(generation, self.config.offspring)
        cache = self.oracle.cache
        return [(c, o) for c, o in zip(proposal.candidates, proposal.origins, strict=True) if c.smiles not in cache]

    def run(self) -> EngineResult:
        """Run until the budget, patience or generation limit stops it."""
        try:
            return self._run()
        finally:
            if self._owns_executor:
                self.executor.close()
                if self.oracle_executor is not self.executor:
                    self.oracle_executor.close()

    def _run(self) -> EngineResult:
        """The loop: ask, score, tell, until something stops it."""
        self._start = time.perf_counter()
        self._initialise()
        stale = stalled = 0
        stop = "budget"
        while True:
            reason = self.stop() if self.stop is not None else None
            if reason:
                stop = reason if isinstance(reason, str) else "interrupted"
                break
            if self.oracle.exhausted:
                stop = "budget"
                break
            if self.config.max_generations is not None and self.generation >= self.config.max_generations:
                stop = "max_generations"
                break
            candidates = self.ask()
            before = self.oracle.used
            report = self.tell(self.oracle.evaluate(candidates, self.generation + 1))

            # PMO's rule: patience counts generations in a row in which no child entered the population.
            entered = any(ind.call > before for ind in self.population)
            stale = 0 if entered else stale + 1
            stalled = stalled + 1 if report.new_calls == 0 else 0
            if self.config.patience and stale >= self.config.patience and not self.oracle.exhausted:
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
