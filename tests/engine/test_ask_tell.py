"""The engine's public ask/tell: a loop written by hand is the run the engine makes itself."""

from __future__ import annotations

import numpy as np
import pytest

from llmga import build_engine
from llmga.config import Config
from llmga.data import zinc250k
from llmga.errors import OperatorError
from llmga.objectives import get_objective


@pytest.fixture(scope="module")
def pool() -> list[str]:
    return zinc250k()[:2000]


def _config(**options) -> Config:
    base = {"budget": 300, "population": 30, "offspring": 25, "seed": 3, "workers": 1, "patience": 0}
    return Config(**(base | options))


def _rows(evaluations):
    return [(e.call, e.smiles, e.score, e.generation, e.operator, e.parents) for e in evaluations]


def test_ask_score_tell_by_hand_equals_run(pool):
    objective = get_objective("qed")
    reference = build_engine(objective, _config(max_generations=5), pool).run()

    ga = build_engine(objective, _config(), pool)
    reports = []
    for _ in range(5):
        candidates = ga.ask()  # the first ask scores the initial population
        assert candidates and all(c.operator != "init" for c in candidates)
        reports.append(ga.tell(ga.oracle.evaluate(candidates, ga.generation + 1)))
    assert _rows(ga.oracle.records) == _rows(reference.evaluations)
    assert [r.generation for r in reports] == [1, 2, 3, 4, 5] and ga.generation == 5
    assert [ind.call for ind in ga.population] == [ind.call for ind in reference.population]


def test_ask_takes_a_batch_size_and_tell_needs_one_evaluation_per_candidate(pool):
    ga = build_engine(get_objective("qed"), _config(), pool)
    assert len(ga.ask(7)) <= 7
    with pytest.raises(OperatorError, match="ask\\(\\) was called twice"):
        ga.ask()
    with pytest.raises(OperatorError, match="got 0 evaluations for the"):
        ga.tell([])
    fresh = build_engine(get_objective("qed"), _config(), pool)
    with pytest.raises(OperatorError, match="tell\\(\\) without ask\\(\\)"):
        fresh.tell([])


def test_restore_makes_the_population_from_evaluations_scored_elsewhere(pool):
    scored = build_engine(get_objective("qed"), _config(max_generations=2), pool).run().evaluations
    ga = build_engine(get_objective("qed"), _config(), [])
    ga.restore(scored)
    best = sorted(scored, key=lambda e: (-e.score, e.call))[:30]
    assert [ind.call for ind in ga.population] == [e.call for e in best]
    assert ga.oracle.used == len(scored) and ga.generation == 2
    assert all(c.smiles not in ga.oracle.cache for c, _ in ga.propose(3))


def test_the_engine_runs_from_resolved_objects_without_a_config():
    from llmga.engine import GeneticAlgorithm, Schedule
    from llmga.filters import filters_from_config

    schedule = Schedule(population=20, offspring=10, budget=60)
    ga = GeneticAlgorithm(
        get_objective("qed"), zinc250k()[:300], schedule=schedule, filters=filters_from_config(avoid_smarts="[Cl]"),
        rng=np.random.default_rng(4),
    )  # fmt: skip
    result = ga.run()
    assert len(result.evaluations) == 60 and result.stop_reason == "budget"
    assert result.generations == 4  # 20 initial molecules, then 10 children per generation
    assert sum(ga.filters.rejected.values()) > 0  # ZINC has chlorides: none of them was scored
    assert not any("Cl" in e.smiles for e in result.evaluations)
