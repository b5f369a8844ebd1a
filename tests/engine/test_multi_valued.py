"""Objectives with several values in the oracle and the engine: a Pareto run is any objective with two directions."""

from __future__ import annotations

import json
import math
import os

import numpy as np
import pandas as pd
import pytest

import llmga
from llmga.engine import Candidate, Oracle
from llmga.errors import ConfigError, ObjectiveError, ResumeError
from llmga.executors import Executor, ProcessExecutor
from llmga.objectives import Objective, get_objective
from llmga.objectives.pareto import ParetoObjective

QED, SA = get_objective("qed"), get_objective("sa")


class QedAndSa(Objective):
    """A user's objective with two values: QED (up) and the SA score (down), as one (n, 2) array."""

    name = "qed_and_sa"
    description = "drug-like and easy to make"

    @property
    def directions(self):
        return ("maximize", "minimize")

    @property
    def value_names(self):
        return ("qed", "sa")

    def __call__(self, smiles):
        return np.column_stack([QED(smiles), SA(smiles)])


class LengthAndRings(Objective):
    """SMILES length (up) and ring digits (down); no value for molecules with a chlorine."""

    name = "length_rings"
    directions = ("maximize", "minimize")  # class attributes do as well as properties
    value_names = ("length", "rings")

    def __call__(self, smiles):
        return [(len(s), math.nan if "Cl" in s else sum(c.isdigit() for c in s)) for s in smiles]


def cands(*smiles):
    return [Candidate(s, "test") for s in smiles]


def test_the_oracle_keeps_every_value_and_scores_the_first_unless_one_is_missing():
    oracle = Oracle(LengthAndRings(), 10)
    first, chlorine = oracle.evaluate(cands("c1ccccc1O", "CCCl"), 0)
    assert first.components == (9.0, 2.0) and first.score == 9.0
    assert chlorine.components[0] == 4.0 and math.isnan(chlorine.components[1]) and math.isnan(chlorine.score)
    # A resumed run replays both values without calling the objective.
    again = Oracle(LengthAndRings(), 10, replay=oracle.records)
    assert again.evaluate(cands("c1ccccc1O"), 0)[0].components == (9.0, 2.0)
    # ...and a record of one value per molecule cannot stand in for two.
    single = Oracle(get_objective("qed"), 5)
    single.evaluate(cands("c1ccccc1O"), 0)
    message = r"oracle call 1: the record has 0 values for 'c1ccccc1O', objective 'length_rings' gives 2"
    with pytest.raises(ResumeError, match=message):
        Oracle(LengthAndRings(), 10, replay=single.records).evaluate(cands("c1ccccc1O"), 0)


def test_an_objective_whose_output_does_not_match_its_directions_is_stopped_with_the_shapes():
    class Flat(QedAndSa):
        name = "flat"

        def __call__(self, smiles):
            return QED(smiles)

    with pytest.raises(ObjectiveError, match=r"objective 'flat' returned an array of shape \(1,\) .*\(1, 2\)"):
        Oracle(Flat(), 10).evaluate(cands("CCO", "CCN"), 0)

    class Unnamed(QedAndSa):
        @property
        def value_names(self):
            return ("qed",)

    with pytest.raises(ObjectiveError, match=r"'qed_and_sa' names 1 values \(qed\) for its 2 directions"):
        Oracle(Unnamed(), 10)

    class Sideways(QedAndSa):
        @property
        def directions(self):
            return ("maximize", "sideways")

    with pytest.raises(ObjectiveError, match=r"direction 'sideways' is not valid"):
        Oracle(Sideways(), 10)


class LosesWorker(Executor):
    """Runs every task here, except that a task holding chlorine 'loses its worker' (hands it to the fallback)."""

    workers = 2

    def map(self, fn, items, *, min_items=None, fallback=None):
        return [fallback(x, "worker died") if fallback and any("Cl" in s for s in x) else fn(x) for x in items]


def test_a_molecule_that_keeps_killing_its_worker_gets_a_row_of_nan():
    smiles = ["CCO", "CCN", "CCCl", "c1ccccc1", "CCOC", "OCCO", "CNC", "CCCC", "CC(C)O"]
    oracle = Oracle(QedAndSa(), 20, executor=LosesWorker())
    with pytest.warns(RuntimeWarning, match="lost its worker on molecule 'CCCl'"):
        evaluations = oracle.evaluate(cands(*smiles), 0)
    lost = evaluations[2]
    assert math.isnan(lost.score) and len(lost.components) == 2 and all(math.isnan(v) for v in lost.components)
    rest = [e for e in evaluations if e.smiles != "CCCl"]
    np.testing.assert_allclose([e.components for e in rest], QedAndSa()([e.smiles for e in rest]))
    assert oracle.failures == [("CCCl", "worker died")]


def test_an_objective_with_two_directions_is_a_pareto_run_without_pareto_flags(tmp_path):
    options = {"budget": 200, "seed": 1, "llm": "none", "population": 40, "offspring": 30, "workers": 1}
    mine = llmga.optimize(QedAndSa(), out=str(tmp_path / "mine"), **options)
    flags = llmga.optimize(None, objectives="qed,sa", pareto=True, out=str(tmp_path / "flags"), **options)
    evals = pd.read_csv(tmp_path / "mine" / "evaluations.csv")
    assert {"qed", "sa"} <= set(evals.columns)
    np.testing.assert_allclose(evals["score"], evals["qed"])  # the one-number score is the first value
    # The very run --objectives qed,sa --pareto makes: same molecules, values, front and hypervolume.
    pd.testing.assert_frame_equal(evals, pd.read_csv(tmp_path / "flags" / "evaluations.csv"))
    for name in ("pareto_front.csv", "population.csv"):
        pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "mine" / name), pd.read_csv(tmp_path / "flags" / name))
    np.testing.assert_array_equal(mine.history["hypervolume"], flags.history["hypervolume"])
    summary = json.loads((tmp_path / "mine" / "summary.json").read_text())
    assert summary["pareto"]["objectives"] == [
        {"name": "qed", "direction": "maximize"},
        {"name": "sa", "direction": "minimize"},
    ]
    assert summary["pareto"] == json.loads((tmp_path / "flags" / "summary.json").read_text())["pareto"]
    assert len(pd.read_csv(tmp_path / "mine" / "pareto_front.csv")) >= 3


class ScoreAndSa(QedAndSa):
    value_names = ("score", "sa")


@pytest.mark.parametrize(
    ("objective", "options", "message"),
    [
        (QedAndSa(), {"direction": "minimize"}, r"'qed_and_sa' has 2 values, .*\(maximize, minimize\); --direction"),
        (QedAndSa(), {"objective_timeout": 5.0}, r"--objective-timeout works on objectives with one value"),
        (ScoreAndSa(), {}, r"'qed_and_sa' names a value 'score', a column every run has"),
    ],
)
def test_settings_a_multi_valued_objective_cannot_take_are_refused_at_once(objective, options, message, tmp_path):
    with pytest.raises(ConfigError, match=message):
        llmga.optimize(objective, budget=50, llm="none", out=str(tmp_path / "r"), **options)
    assert not (tmp_path / "r").exists()


PID_FILE = '''
import os

LOG = {log!r}


def pid_length(smiles: str) -> float:
    """SMILES length; notes the process that scored it."""
    with open(LOG, "a") as f:
        f.write(f"{{os.getpid()}}\\n")
    return float(len(smiles))
'''


def _pid_component(tmp_path):
    log = tmp_path / "pids.txt"
    path = tmp_path / "pid_objective.py"
    path.write_text(PID_FILE.format(log=str(log)))
    return f"{path}:pid_length", log


def test_pareto_scoring_runs_on_the_worker_processes(tmp_path):
    spec, log = _pid_component(tmp_path)
    pareto = ParetoObjective([get_objective(spec), QED])
    smiles = [f"C{'C' * i}O" for i in range(40)]
    with ProcessExecutor(2) as executor:
        evaluations = Oracle(pareto, 100, None, executor).evaluate(cands(*smiles), generation=0)
    pids = {int(line) for line in log.read_text().split()}
    assert pids and os.getpid() not in pids
    assert [e.components for e in evaluations] == [(float(len(s)), q) for s, q in zip(smiles, QED(smiles), strict=True)]


def test_a_pareto_run_on_two_workers_equals_the_run_on_one(tmp_path):
    spec, log = _pid_component(tmp_path)
    options = {"objectives": f"qed,{spec}", "pareto": True, "budget": 80, "seed": 2, "llm": "none"}
    options |= {"population": 20, "offspring": 20}
    one = llmga.optimize(None, workers=1, out=str(tmp_path / "one"), **options)
    log.unlink()
    two = llmga.optimize(None, workers=2, out=str(tmp_path / "two"), **options)
    assert {int(line) for line in log.read_text().split()} - {os.getpid()}  # scored on the workers too
    pd.testing.assert_frame_equal(one.evaluations, two.evaluations)
