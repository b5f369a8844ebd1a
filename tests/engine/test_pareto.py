"""Pareto runs: NSGA-II survivors over several objectives, the front and its hypervolume."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

import llmga
from llmga.config import Config
from llmga.errors import ConfigError, ObjectiveError
from llmga.objectives import get_objective
from llmga.objectives.pareto import ParetoObjective, dominates, non_dominated, split_specs


def test_non_dominated_keeps_exactly_the_undominated_points():
    points = np.array([[1, 5], [2, 4], [2, 2], [3, 1], [0, 0], [3, 1]], dtype=float)
    assert non_dominated(points).tolist() == [0, 1, 3, 5]  # [2,2] and [0,0] are dominated; ties both stay
    assert dominates([2, 4], [2, 2]) and not dominates([3, 1], [3, 1])


def test_hypervolume_is_exact_and_agrees_with_moocore():
    from llmga.objectives.pareto import hypervolume

    assert hypervolume(np.array([[1.0, 3.0], [2.0, 2.0], [3.0, 1.0]]), [4.0, 4.0]) == pytest.approx(6.0)
    assert hypervolume(np.array([[5.0, 0.0]]), [4.0, 4.0]) == 0.0  # outside the reference box
    rng = np.random.default_rng(0)
    pts = rng.random((30, 3))
    moocore = pytest.importorskip("moocore")
    assert hypervolume(pts, [1.1, 1.1, 1.1]) == pytest.approx(float(moocore.hypervolume(pts, ref=[1.1, 1.1, 1.1])))


def test_objective_lists_split_on_top_level_commas_only():
    assert split_specs("qed, sa,similarity(target=C(C)O),model:m?mode=ucb&kappa=1") == [
        "qed", "sa", "similarity(target=C(C)O)", "model:m?mode=ucb&kappa=1"
    ]  # fmt: skip


def test_a_pareto_run_on_qed_and_sa_writes_a_non_dominated_front(tmp_path):
    out = tmp_path / "run"
    result = llmga.optimize(
        None, objectives="qed,sa", pareto=True, budget=600, seed=0, llm="none", patience=0, out=str(out)
    )
    evals = pd.read_csv(out / "evaluations.csv")
    assert {"qed", "sa"} <= set(evals.columns)
    np.testing.assert_allclose(evals["qed"], get_objective("qed")(list(evals["smiles"])))
    np.testing.assert_allclose(evals["score"], evals["qed"])  # the one-number score is the first objective
    front = pd.read_csv(out / "pareto_front.csv")
    assert len(front) >= 3
    # Every front member is undominated by every scored molecule (qed maximised, sa minimised).
    scored = np.column_stack([evals["qed"], -evals["sa"]])
    for _, row in front.iterrows():
        assert not any(dominates(p, (row["qed"], -row["sa"])) for p in scored)
    # ...and every scored molecule outside the front is dominated by a front member.
    members = set(front["smiles"])
    front_pts = np.column_stack([front["qed"], -front["sa"]])
    for smi, p in zip(evals["smiles"], scored, strict=True):
        if smi not in members:
            assert any(dominates(q, p) or np.array_equal(q, p) for q in front_pts)
    hv = result.history["hypervolume"].to_numpy()
    assert (np.diff(hv) >= -1e-12).all() and hv[-1] > hv[0]  # the front only grows
    summary = json.loads((out / "summary.json").read_text())
    assert summary["pareto"]["front_size"] == len(front)
    assert [o["direction"] for o in summary["pareto"]["objectives"]] == ["maximize", "minimize"]
    population = pd.read_csv(out / "population.csv")
    assert len(population) == 120


def test_pareto_settings_are_checked():
    with pytest.raises(ConfigError, match="--objectives"):
        Config(pareto=True)
    with pytest.raises(ConfigError, match="add --pareto"):
        Config(objectives="qed,sa")
    with pytest.raises(ObjectiveError, match="at least two objectives"):
        ParetoObjective([get_objective("qed")])
