"""Ask/tell campaigns: the GA proposes batches, scores arrive later (a lab, a queued docking job).

A campaign is a run folder whose objective is not a function but the
results a chemist reports. ``ask`` proposes ``n`` new molecules with the
run's engine and operators (graph GA, embedded model or any LLM, filters,
prescreen) from everything told so far and records them as pending;
``tell`` records measured scores for pending molecules, reporting (never
merging) molecules that were not asked or were told already. Every call
opens the store, locks it, and closes it: campaigns span processes and days.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from llmga.chem import StandardizationReport, canonical, shorten, standardize
from llmga.config import Config
from llmga.data import InitFileWarning, initial_pool, read_init_file
from llmga.engine import Candidate, Evaluation, GeneticAlgorithm, place_credit
from llmga.errors import ConfigError, LLMGAError
from llmga.executors import SerialExecutor
from llmga.objectives import Objective, check_direction
from llmga.operators import is_fallback, recipes_from_config
from llmga.store import CONFIG_FILE, RUN_FILE, RunStore, clean, export, write_json

__all__ = ["Campaign", "TellReport"]

_ROUNDS = 20  # variation rounds an ask may take to find n new molecules


class _Told(Objective):
    """The objective of a campaign: its scores come from ``tell``, never from a call."""

    parallel = False

    def __init__(self, name: str, direction: str, description: str) -> None:
        self.name = name
        self.direction = check_direction(direction)
        self.description = description

    def __call__(self, smiles: Sequence[str]) -> np.ndarray:
        raise LLMGAError(
            f"the campaign objective {self.name!r} is measured outside llmga: record scores with "
            "`llmga tell RUN results.csv` (or Campaign.tell)"
        )


@dataclass
class TellReport:
    """What :meth:`Campaign.tell` did with each row: recorded, or why not.

    Every told SMILES is standardised as it enters (:func:`llmga.chem.standardize`:
    a salt is recorded as its parent); ``standardization`` counts what that
    changed and dropped, by reason (a row longer than
    :data:`llmga.chem.MAX_SMILES_CHARS` characters is dropped unread).
    """

    recorded: list[str] = field(default_factory=list)
    already_told: list[str] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)  # valid molecules that no ask proposed
    invalid: list[str] = field(default_factory=list)  # rows whose SMILES gives no molecule
    standardization: StandardizationReport = field(default_factory=StandardizationReport)

    def __str__(self) -> str:
        parts = [f"{len(self.recorded)} recorded"]
        for label, items in (
            ("already told (kept the first score)", self.already_told),
            ("never asked (not recorded; tell them with accept_unknown)", self.unknown),
            ("not valid SMILES", self.invalid),
        ):
            if items:
                shown = ", ".join(map(shorten, items[:5])) + (f" and {len(items) - 5} more" if len(items) > 5 else "")
                parts.append(f"{len(items)} {label}: {shown}")
        std = self.standardization
        if set(std.dropped) - {"invalid SMILES"}:
            parts.append("dropped: " + ", ".join(f"{k}: {v}" for k, v in std.dropped.most_common()))
        if std.changed:
            given, became = std.changed_examples[0]
            parts.append(f"{std.changed} standardised, e.g. {given} as {became}")
        return "; ".join(parts)


class Campaign:
    """An ask/tell campaign in a run folder.

    Create one with :meth:`create`, reopen it with ``Campaign(path)``. Scores
    are whatever the chemist measures (``direction`` says which way is
    better); NaN records a molecule that could not be made or measured (it
    is never proposed again).
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        store = RunStore.open(self.path)
        try:
            campaign = store.meta("campaign")
            config = store.config()
        finally:
            store.close()
        if not isinstance(campaign, dict):
            raise LLMGAError(
                f"{str(path)!r} is a run folder, not a campaign; make one with "
                "`llmga campaign new RUN --objective-name NAME --direction maximize|minimize`"
            )
        self.objective_name = str(campaign["objective_name"])
        self.config = Config.from_dict(config)

    @classmethod
    def create(
        cls,
        path: str | Path,
        *,
        objective_name: str,
        direction: str = "maximize",
        init: str | Path | None = None,
        description: str = "",
        config: Config | None = None,
        **options: Any,
    ) -> Campaign:
        """A new campaign folder. ``init`` (.smi/.csv) holds the molecules the first batches come from
        (default: ZINC 250k); a ``score`` column (or one named ``objective_name``) in a CSV ``init`` is
        recorded as measured data. ``options`` are :class:`~llmga.config.Config` fields."""
        if direction not in ("maximize", "minimize"):
            raise ConfigError(f"direction {direction!r}: give maximize or minimize")
        if not objective_name.strip():
            raise ConfigError("objective_name is empty: name what is measured, e.g. assay_ic50")
        folder = Path(path)
        if folder.exists() and any(folder.iterdir()):
            raise ConfigError(f"{str(folder)!r} already holds files; choose a new folder for the campaign")
        cfg = (config or Config()).replace(
            objective=f"campaign:{objective_name}", direction=direction, init=str(init) if init else None, **options
        )
        cfg = cfg.replace(out=str(folder))
        known = _read_scores(init, objective_name, cfg.neutralize) if init else []
        # Read (and standardise) the init file now: its problems and changes are told once, here.
        standardized = read_init_file(init, neutralize=cfg.neutralize)[1] if init else None
        meta = {
            "config": clean(cfg.to_dict()),
            "campaign": {"objective_name": objective_name, "direction": direction, "description": description},
            "run": {
                "objective": {"name": objective_name, "direction": direction, "description": description},
                "standardization": {
                    "neutralize": cfg.neutralize,
                    "init": standardized.as_dict() if standardized else "zinc250k as shipped (not standardised)",
                },
            },
            "components": [],
        }
        store = RunStore.create(folder, meta)
        try:
            write_json(folder / CONFIG_FILE, clean(cfg.to_dict()))
            write_json(folder / RUN_FILE, meta["run"])
            if known:
                store.add_evaluations(
                    [Evaluation(i + 1, smi, score, 0, "init", ()) for i, (smi, score) in enumerate(known)]
                )
            export(folder, store)
        finally:
            store.close()
        return cls(folder)

    # ------------------------------------------------------------------ reading
    def _read(self) -> tuple[list[Evaluation], pd.DataFrame]:
        store = RunStore.open(self.path)
        try:
            return store.evaluations(), _pending_frame(store.pending())
        finally:
            store.close()

    @property
    def told(self) -> pd.DataFrame:
        """Every molecule told so far, in the order told."""
        return self._frame(self._read()[0])

    @property
    def pending(self) -> pd.DataFrame:
        """Molecules asked for and not yet told."""
        return self._read()[1]

    def best(self, n: int = 10) -> pd.DataFrame:
        df = self.told.dropna(subset=["score"])
        return df.sort_values(["score", "call"], ascending=[self.config.direction == "minimize", True]).head(n)

    @staticmethod
    def _frame(evaluations: list[Evaluation]) -> pd.DataFrame:
        rows = [
            (e.call, e.smiles, e.score, e.generation, e.operator, " ".join(map(str, e.parents))) for e in evaluations
        ]
        return pd.DataFrame(rows, columns=["call", "smiles", "score", "batch", "operator", "parents"])

    # ------------------------------------------------------------------ ask
    def ask(self, n: int) -> pd.DataFrame:
        """Propose ``n`` new molecules (fewer only if the operators find no more) and record them as pending.

        Returns ``smiles, batch, operator, parents`` (parents are the ``call``
        numbers of told molecules). The same told data and seed give the same batch.
        """
        if n < 1:
            raise ConfigError(f"--n {n}: ask for at least one molecule")
        from llmga._optimize import build_engine
        from llmga.backends import Usage, make_backend

        store = RunStore.open(self.path, write=True)
        try:
            told = store.evaluations()
            pending = store.pending()
            asked = store.asked()
            batch = 1 + max([b for _, b, _, _ in asked] + [e.generation for e in told] + [0])
            cfg = self.config.replace(offspring=n)
            backend = make_backend(cfg)
            usage = Usage(cfg.price_in, cfg.price_out, cfg.max_llm_tokens, cfg.max_cost) if backend else None

            def log(record: dict[str, Any]) -> None:
                if usage is not None:
                    usage.add(record)
                store.add_llm_call(record)

            rng = np.random.default_rng([cfg.seed, batch])
            objective = _Told(self.objective_name, cfg.direction or "maximize", "")
            scored = [e for e in told if not math.isnan(e.score)]
            taken = {e.smiles for e in told} | {smi for smi, _, _, _ in pending}
            try:
                shares: dict[str, float] = {}
                if len(scored) < 2:  # the first batches: molecules of the initial pool that pass the filters
                    with warnings.catch_warnings():  # told when the campaign was made
                        warnings.simplefilter("ignore", InitFileWarning)
                        pool, _ = initial_pool(cfg.init, neutralize=cfg.neutralize)
                    ga = build_engine(objective, cfg, pool, rng=rng, executor=SerialExecutor())
                    proposals = [(c, -1) for c in ga.initial_candidates(n, taken)[0]]
                else:
                    recipes = recipes_from_config(cfg, backend, log=log)
                    ga = build_engine(objective, cfg, [], recipes=recipes, rng=rng, executor=SerialExecutor())
                    _credit(ga, told, asked)
                    proposals = _propose(ga, told, taken, n, batch)
                    used = (round(float(x), 4) for x in ga.share_rule.shares)
                    shares = dict(zip(ga.recipe_labels, used, strict=True))
            finally:
                if backend is not None:
                    backend.close()
            rows = [(c.smiles, batch, c.operator, " ".join(map(str, c.parents)), r) for c, r in proposals]
            store.add_asked(rows)
            # One history row per batch: what was asked, from how much told data, at which recipe shares.
            record: dict[str, float] = {"gen": batch, "asked": len(rows), "told_before": len(told)}
            record["scored_before"] = len(scored)
            record |= {f"share:{label}": share for label, share in shares.items()}
            store.add_generation(batch, record, None, [])
        finally:
            store.close()
        return pd.DataFrame([r[:4] for r in rows], columns=["smiles", "batch", "operator", "parents"])

    # ------------------------------------------------------------------ tell
    def tell(self, results: pd.DataFrame | str | Path, *, accept_unknown: bool = False) -> TellReport:
        """Record measured scores: a DataFrame (or CSV file) with ``smiles`` and ``score`` columns
        (or a column named after the campaign's objective). A missing score records NaN.

        A told SMILES is matched as it is written first (the molecule asked), else as its
        standardised form (a salt of a molecule asked is that molecule)."""
        frame = pd.read_csv(results) if isinstance(results, (str, Path)) else results
        column = _score_column(frame, self.objective_name, str(results) if isinstance(results, (str, Path)) else "")
        report = TellReport()
        store = RunStore.open(self.path, write=True)
        try:
            told = {e.smiles for e in store.evaluations()}
            pending = {smi: (b, op, parents) for smi, b, op, parents in store.pending()}
            fresh: list[Evaluation] = []
            start = store.count("evaluations")
            batch_now = 1 + max([b for b, _, _ in pending.values()] + [0])
            for raw, value in zip(frame["smiles"].astype(str), frame[column], strict=True):
                result = standardize(raw, neutralize=self.config.neutralize)
                exact = canonical(raw) if result.changed else result.smiles
                if exact is not None and (exact in told or exact in pending):
                    result = result._replace(smiles=exact, changed=False, reason=None)
                report.standardization.add(raw, result)
                smiles = result.smiles
                if smiles is None:
                    report.invalid.append(raw)
                    continue
                if smiles in told:
                    report.already_told.append(smiles)
                    continue
                if smiles in pending:
                    batch, operator, parents = pending[smiles]
                elif accept_unknown:
                    batch, operator, parents = batch_now, "told", ""
                else:
                    report.unknown.append(smiles)
                    continue
                score = _as_score(value, smiles)
                call = start + len(fresh) + 1
                fresh.append(Evaluation(call, smiles, score, batch, operator, tuple(int(p) for p in parents.split())))
                told.add(smiles)
                report.recorded.append(smiles)
            if fresh:
                store.add_told(fresh)
            export(self.path, store)
        finally:
            store.close()
        return report


def _credit(ga: GeneticAlgorithm, told: list[Evaluation], asked: list[tuple[str, int, int, bool]]) -> None:
    """Replay the share rule's credit over the told batches, in order, as the engine credits generations
    (:meth:`~llmga.engine.ShareRule.credit`): a recipe's reward for a batch is the share of its told
    children that are in the population the molecules told up to that batch make. Deterministic in the
    told data."""
    if len(ga.recipes) < 2:
        return
    batch_of = {e.smiles: e.generation for e in told}
    fallbacks = {e.smiles for e in told if is_fallback(e.operator)}  # they earn their recipe nothing
    made: dict[int, list[tuple[str, int]]] = {}
    for smiles, batch, recipe, was_told in asked:
        if was_told and 0 <= recipe < len(ga.recipes):
            made.setdefault(batch, []).append((smiles, recipe))
    for batch in sorted(made):
        known = [e for e in told if batch_of[e.smiles] <= batch]
        population = [ind.smiles for ind in ga.survivors(known)]
        kids = [[s for s, r in made[batch] if r == index] for index in range(len(ga.recipes))]
        origin = {s: r for s, r in made[batch] if s not in fallbacks}
        earned = place_credit(population, origin, len(ga.recipes), ga.share_rule.credit_by)
        ga.share_rule.credit([len(k) for k in kids], earned)


def _propose(
    ga: GeneticAlgorithm, told: list[Evaluation], taken: set[str], n: int, batch: int
) -> list[tuple[Candidate, int]]:
    """``n`` new molecules (each with its recipe) from the population the told molecules make, by the
    GA's own operators at the shares :func:`_credit` left."""
    ga.restore(told)
    out: dict[str, tuple[Candidate, int]] = {}
    for _ in range(_ROUNDS):
        for cand, recipe in ga.propose(batch):
            if cand.smiles not in taken and cand.smiles not in out:
                out[cand.smiles] = (cand, recipe)
        if len(out) >= n:
            break
    return list(out.values())[:n]


def _read_scores(init: str | Path, name: str, neutralize: bool = False) -> list[tuple[str, float]]:
    """Measured molecules in an ``init`` CSV (a score column), standardised, else none."""
    path = Path(init)
    if not path.is_file():
        raise ConfigError(f"--init {str(init)!r}: no such file; give a .smi/.csv of starting molecules")
    if ".csv" not in path.suffixes:
        return []
    frame = pd.read_csv(path)
    if "smiles" not in frame or not ({"score", name} & set(frame.columns)):
        return []
    column = _score_column(frame, name, str(path))
    out: dict[str, float] = {}
    for raw, value in zip(frame["smiles"].astype(str), frame[column], strict=True):
        smiles = standardize(raw, neutralize=neutralize).smiles
        if smiles is not None and smiles not in out:
            out[smiles] = _as_score(value, smiles)
    return list(out.items())


def _score_column(frame: pd.DataFrame, name: str, source: str) -> str:
    where = f" in {source}" if source else ""
    if "smiles" not in frame.columns:
        raise ConfigError(f"no 'smiles' column{where} (columns: {', '.join(map(str, frame.columns))})")
    for column in (name, "score"):
        if column in frame.columns:
            return column
    raise ConfigError(
        f"no score column{where}: name it 'score' or {name!r} (columns: {', '.join(map(str, frame.columns))})"
    )


def _as_score(value: Any, smiles: str) -> float:
    if value is None or (isinstance(value, str) and not value.strip()):
        return math.nan
    try:
        score = float(value)
    except (TypeError, ValueError):
        raise ConfigError(
            f"score {value!r} for {smiles} is not a number; give a number, or leave it empty if it was not measured"
        ) from None
    return score if math.isfinite(score) else math.nan


def _pending_frame(rows: list[tuple[str, int, str, str]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["smiles", "batch", "operator", "parents"])
