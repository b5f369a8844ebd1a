from __future__ import annotations

import itertools

import pytest

from llmga import build_engine
from llmga.config import Config
from llmga.data import zinc250k
from llmga.engine import Recipe
from llmga.errors import ObjectiveError, OperatorError
from llmga.objectives import FunctionObjective, get_objective
from llmga.operators import Child, GraphMutation, Operator, split_counts


@pytest.fixture(scope="module")
def pool() -> list[str]:
    return zinc250k()[:2000]


def run(objective, pool, **options):
    config = Config(**{"budget": 400, "population": 30, "offspring": 20, "patience": 0, "llm": "none", **options})
    ga = build_engine(get_objective(objective), config, pool)
    return ga, ga.run()


def test_same_seed_gives_identical_runs(pool):
    _, a = run("qed", pool, seed=11)
    _, b = run("qed", pool, seed=11)
    _, c = run("qed", pool, seed=12)
    assert a.evaluations == b.evaluations  # same molecules, scores, order, provenance
    assert [e.smiles for e in a.evaluations] != [e.smiles for e in c.evaluations]


def test_budget_is_exact_and_no_molecule_is_scored_twice(pool):
    calls = []

    def counted(smiles):
        calls.append(smiles)
        return float(len(smiles))

    _, result = run(FunctionObjective(counted), pool, budget=137)
    assert len(result.evaluations) == 137 == len(calls)
    assert len(set(calls)) == 137
    assert result.stop_reason == "budget"
    assert [e.call for e in result.evaluations] == list(range(1, 138))


def test_logp_improves_far_beyond_the_initial_population(pool):
    _, result = run("logp", pool, budget=300, seed=0)
    init_best = max(e.score for e in result.evaluations if e.generation == 0)
    assert result.hall_of_fame[0].score > init_best + 2.0
    # Survivors are the best of everything scored so far.
    top = sorted((e.score for e in result.evaluations), reverse=True)[:30]
    assert [round(i.score, 9) for i in result.population] == [round(s, 9) for s in top]


def test_minimised_objective_goes_down(pool):
    _, result = run("sa", pool, budget=400, seed=1)
    init = [e.score for e in result.evaluations if e.generation == 0]
    assert result.hall_of_fame[0].score < min(init)
    assert result.population[0].score == min(e.score for e in result.evaluations)
    history = result.logbook.select("top10")
    assert history[-1] < history[0]


def test_patience_stops_a_run_that_cannot_improve(pool):
    _, result = run(FunctionObjective(lambda s: 1.0), pool, budget=5000, patience=3)
    assert result.stop_reason == "patience"
    assert result.generations == 3
    assert len(result.evaluations) < 5000


def test_patience_counts_generations_in_which_no_child_entered_the_population(pool):
    # PMO's rule: a flat top-10 does not stop a run while children still enter the population.
    capped = FunctionObjective(lambda s: float(min(len(s), 50)), name="capped_length")
    pmo = {"selection": "proportional", "mutation_rate": 0.067, "mutation_only": 0.0, "llm": "none"}
    ga, result = run(capped, pool, budget=3000, patience=2, **pmo)
    tops = [row["top10"] for row in result.logbook]
    flat = next(g for g in range(2, len(tops)) if tops[g] == tops[g - 1] == tops[g - 2])
    assert result.generations > flat + 2  # the top-10 was flat for two generations, and the run went on
    if result.stop_reason == "patience":
        last = {e.call for e in result.evaluations if e.generation > result.generations - 2}
        assert not any(ind.call in last for ind in ga.population)


def test_max_generations(pool):
    _, result = run("qed", pool, budget=5000, max_generations=2)
    assert result.stop_reason == "max_generations" and result.generations == 2
    assert len(result.logbook) == 3  # generation 0 (initial) + 2


def test_nan_scored_molecules_never_join_the_population(pool):
    obj = FunctionObjective(lambda s: float("nan") if "N" in s else float(len(s)))
    _, result = run(obj, pool, budget=200)
    assert all("N" not in ind.smiles for ind in result.population)
    assert any("N" in e.smiles for e in result.evaluations)


def test_all_nan_initial_population_is_an_error(pool):
    with pytest.raises(ObjectiveError, match=r"returned NaN for all 30 initial molecules"):
        run(FunctionObjective(lambda s: None), pool)


def test_invalid_children_never_reach_the_objective(pool):
    class Garbage(Operator):
        name = "garbage"
        arity = 2
        children_per_group = 3

        def apply(self, groups, rng, context):
            return [["not a smiles", None, "C1CC"] for _ in groups]

    seen = []

    def spy(smiles):
        seen.append(smiles)
        return 1.0

    config = Config(budget=100, population=10, offspring=9, patience=2)
    ga = build_engine(FunctionObjective(spy), config, pool, recipes=[Recipe(Garbage(), None)])
    result = ga.run()
    assert len(seen) == 10  # only the initial population was scored
    assert result.logbook.select("valid")[1:] == [0, 0]
    assert result.logbook.select("proposed")[1] == 9


def test_operator_breaking_its_contract_is_named(pool):
    class Short(Operator):
        name = "short"
        arity = 1

        def apply(self, groups, rng, context):
            return []

    config = Config(budget=100, population=10, offspring=5)
    ga = build_engine(get_objective("qed"), config, pool, recipes=[Recipe(None, Short())])
    with pytest.raises(OperatorError, match=r"operator 'short' returned 0 child lists for 5 parent groups"):
        ga.run()


def test_recipes_share_each_generation_and_operators_see_whole_batches(pool):
    class Recorder(Operator):
        name = "recorder"
        arity = 1
        children_per_group = 4

        def __init__(self):
            self.batches = []

        def apply(self, groups, rng, context):
            self.batches.append(len(groups))
            assert context.objective == "qed" and context.direction == "maximize"
            return [[g[0].smiles] * 4 for g in groups]

    rec = Recorder()
    config = Config(budget=300, population=20, offspring=30, max_generations=3, adaptive=False)
    recipes = [Recipe(rec, None, share=1.0), Recipe(None, GraphMutation(), share=2.0)]
    ga = build_engine(get_objective("qed"), config, pool, recipes=recipes)
    result = ga.run()
    # 1/3 of 30 children = 10 from the recorder, asked as ceil(10 / 4) = 3 groups per generation.
    assert rec.batches == [3, 3, 3]
    assert {e.operator for e in result.evaluations if e.generation > 0} <= {"graph_mutation"}
    assert all(len(e.parents) == 1 for e in result.evaluations if e.generation > 0)


def test_provenance_of_children(pool):
    _, result = run("qed", pool, budget=200, mutation_rate=0.5, mutation_only=0.2, seed=3)
    children = [e for e in result.evaluations if e.generation > 0]
    assert {e.operator for e in children} == {"graph_crossover", "graph_crossover+graph_mutation", "graph_mutation"}
    calls = {e.call for e in result.evaluations}
    for e in children:
        arity = 1 if e.operator == "graph_mutation" else 2  # mutation alone has one parent
        assert len(e.parents) == arity and set(e.parents) <= calls and max(e.parents) < e.call


def test_negative_scores_with_proportional_selection(pool):
    # logP is often negative; proportional selection must still favour the best.
    obj = FunctionObjective(lambda s: -float(len(s)))
    _, result = run(obj, pool, budget=300, seed=5)
    assert result.logbook.select("top10")[-1] > result.logbook.select("top10")[0]


@pytest.mark.parametrize("selection", ["rank", "tournament"])
def test_other_selections_run(pool, selection):
    _, result = run("qed", pool, budget=150, selection=selection)
    assert len(result.evaluations) == 150


def test_results_do_not_depend_on_the_number_of_workers(pool):
    _, serial = run("qed", pool, budget=250, seed=9, workers=1)
    _, parallel = run("qed", pool, budget=250, seed=9, workers=2)
    assert serial.evaluations == parallel.evaluations


def test_children_can_carry_their_own_label_and_operators_see_what_was_scored(pool):
    seen_known = []

    class Mixed(Operator):
        name = "mixed"
        arity = 1
        children_per_group = 2

        def apply(self, groups, rng, context):
            seen_known.append(context.is_scored(groups[0][0].smiles))  # a parent was scored
            return [[g[0].smiles + "C", Child(g[0].smiles + "N", "mixed(fallback)")] for g in groups]

    config = Config(budget=200, population=10, offspring=6, max_generations=2, workers=1)
    _, result = run_with(Mixed(), config, pool)
    labels = {e.operator for e in result.evaluations if e.generation > 0}
    assert labels == {"mixed", "mixed(fallback)"}
    assert seen_known and all(seen_known)


def run_with(operator, config, pool):
    ga = build_engine(get_objective("qed"), config, pool, recipes=[Recipe(operator, None)])
    return ga, ga.run()


def test_elite_recipes_draw_parents_from_the_best_molecules_so_far(pool):
    seen = []

    class Spy(Operator):
        name = "spy"
        arity = 1

        def apply(self, groups, rng, context):
            seen.extend(g[0].smiles for g in groups)
            return [[None] for _ in groups]

    config = Config(budget=400, population=30, offspring=20, max_generations=3, workers=1, adaptive=False)
    ga = build_engine(
        get_objective("qed"), config, pool, recipes=[Recipe(Spy(), None, elite=3), Recipe(None, GraphMutation())]
    )
    top3 = []

    class Watch:
        def on_evaluations(self, evaluations):
            pass

        def on_generation(self, report):
            top3.append({ind.smiles for ind in ga.population[:3]})

    ga.observers.append(Watch())
    ga.run()
    assert seen and len(seen) == 3 * 10
    for generation in range(3):
        assert set(seen[generation * 10 : (generation + 1) * 10]) <= top3[generation]


class _Rigged(Operator):
    """A mutation that always returns a molecule two carbons longer (always better on chain length)
    or, when ``useless``, the parent itself (never a new molecule)."""

    arity = 1

    def __init__(self, name, useless):
        self.name = name
        self.useless = useless

    def apply(self, groups, rng, context):
        return [[g[0].smiles if self.useless else g[0].smiles + "CC"] for g in groups]


def test_adaptive_shares_move_toward_the_operator_that_pays(pool):
    length = FunctionObjective(lambda s: float(len(s)), name="length")
    good, bad = _Rigged("good", useless=False), _Rigged("bad", useless=True)
    config = Config(budget=600, population=20, offspring=40, patience=0, max_generations=8, share_floor=0.1)
    recipes = [Recipe(None, bad, share=0.5), Recipe(None, good, share=0.5)]
    ga = build_engine(length, config, pool, recipes=recipes)
    result = ga.run()
    shares = [(row["share:bad"], row["share:good"]) for row in result.logbook]
    assert shares[0] == (0.5, 0.5)
    assert shares[-1][1] > 0.85 and shares[-1][0] >= 0.1 - 1e-9  # the floor keeps the useless one alive
    assert all(b2 <= b1 + 1e-12 for (b1, _), (b2, _) in itertools.pairwise(shares))
    assert all(row["survived:bad"] == 0.0 < row["survived:good"] for row in result.logbook[1:])
    # The next generation asks the paying operator for most children.
    assert split_counts(40, ga.share_rule.shares)[1] >= 34
    fixed = build_engine(length, config.replace(adaptive=False), pool, recipes=recipes).run()
    assert {row["share:good"] for row in fixed.logbook} == {0.5}


class _FallingBack(_Rigged):
    """An operator whose every slot is filled by its fallback: the same children as ``good``, so labelled."""

    def apply(self, groups, rng, context):
        return [[Child(g[0].smiles + "CC", "good(fallback)")] for g in groups]


def test_a_fallback_child_survives_but_earns_its_recipe_nothing(pool):
    length = FunctionObjective(lambda s: float(len(s)), name="length")
    config = Config(budget=600, population=20, offspring=40, patience=0, max_generations=8, share_floor=0.1)
    recipes = [Recipe(None, _FallingBack("model", useless=False), share=0.5), Recipe(None, _Rigged("good", False))]
    result = build_engine(length, config, pool, recipes=recipes).run()
    assert all(row["survived:model"] == 0.0 < row["survived:good"] for row in result.logbook[1:])
    assert result.logbook[-1]["share:model"] == pytest.approx(0.1, abs=0.02)  # at the floor
    survivors = {ind.operator for ind in result.population}
    assert "good(fallback)" in survivors  # the children are as good, and they stay in the population


def test_a_prescreen_halves_the_expensive_calls_per_generation_and_both_scores_are_kept(tmp_path):
    import pandas as pd

    import llmga

    common = dict(budget=400, seed=0, llm="none", patience=0, max_generations=4)
    plain = llmga.optimize("qed", **common, out=str(tmp_path / "plain"))
    screened = llmga.optimize("qed", **common, prescreen="logp", prescreen_keep=0.5, out=str(tmp_path / "pre"))
    import numpy as np

    new_plain = plain.history["new"].iloc[1:].to_numpy()
    new_pre = screened.history["new"].iloc[1:].to_numpy()
    dropped = screened.history["prescreened"].iloc[1:].to_numpy()
    np.testing.assert_array_equal(new_pre, np.ceil(0.5 * (new_pre + dropped)))  # half of the new children, rounded up
    assert 0.4 < new_pre.mean() / new_plain.mean() < 0.6
    table = pd.read_csv(tmp_path / "pre" / "prescreen.csv")
    scored = set(screened.evaluations["smiles"])
    kept = table[table["scored"] == 1]
    assert set(kept["smiles"]) <= scored and not set(table[table["scored"] == 0]["smiles"]) & scored
    # The kept children are the better half by logP in every generation.
    for _, gen in table.groupby("generation"):
        assert gen[gen["scored"] == 1]["prescreen"].min() >= gen[gen["scored"] == 0]["prescreen"].max()
    assert screened.summary["prescreened_out"] == int(screened.history["prescreened"].sum())
