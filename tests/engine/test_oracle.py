from __future__ import annotations

import math
import os
import time

import numpy as np
import pytest

from llmga.engine import Candidate, Oracle
from llmga.errors import ObjectiveError
from llmga.executors import ProcessExecutor
from llmga.objectives import Objective


class Counting(Objective):
    """Scores SMILES length and remembers every molecule it was asked about."""

    name = "counting"

    def __init__(self):
        self.seen: list[str] = []

    def __call__(self, smiles):
        self.seen.extend(smiles)
        return np.array([float(len(s)) for s in smiles])


def cands(*smiles):
    return [Candidate(s, "test") for s in smiles]


def test_budget_is_exact_and_duplicates_are_free():
    obj = Counting()
    oracle = Oracle(obj, budget=3)
    out = oracle.evaluate(cands("CC", "CCO", "CC", "CCN", "CCCC"), generation=1)
    assert [e.call if e else None for e in out] == [1, 2, 1, 3, None]
    assert obj.seen == ["CC", "CCO", "CCN"]  # "CC" scored once, "CCCC" over budget
    assert oracle.exhausted and oracle.used == 3
    again = oracle.evaluate(cands("CCO", "CCCCC"), generation=2)
    assert again[0].score == 3.0 and again[0].generation == 1  # served from cache
    assert again[1] is None
    assert obj.seen == ["CC", "CCO", "CCN"]
    assert oracle.cache_hits == 2


def test_observer_sees_each_new_evaluation_once():
    got = []
    oracle = Oracle(Counting(), budget=10, on_evaluations=got.extend)
    oracle.evaluate(cands("C", "CC"), 0)
    oracle.evaluate(cands("CC", "CCC"), 1)
    assert [e.smiles for e in got] == ["C", "CC", "CCC"]
    assert [e.call for e in got] == [1, 2, 3]


def test_objective_exception_names_the_molecule_and_keeps_earlier_records():
    class Fragile(Objective):
        name = "fragile"

        def __call__(self, smiles):
            if "CCN" in smiles:
                raise RuntimeError("docking crashed")
            return np.ones(len(smiles))

    oracle = Oracle(Fragile(), budget=10)
    oracle.evaluate(cands("CC"), 0)
    with pytest.raises(ObjectiveError, match=r"raised RuntimeError: docking crashed on molecule 'CCN'"):
        oracle.evaluate(cands("CCO", "CCN"), 1)
    assert [e.smiles for e in oracle.records] == ["CC"]


def test_wrong_length_and_non_numbers_are_reported():
    class Short(Objective):
        name = "short"

        def __call__(self, smiles):
            return [1.0]

    # The first chunk of a run is one molecule (to learn the objective's speed), then the rest.
    with pytest.raises(ObjectiveError, match=r"'short' returned 1 values for 2 molecules"):
        Oracle(Short(), 5).evaluate(cands("C", "CC", "CCC"), 0)

    class Words(Objective):
        name = "words"

        def __call__(self, smiles):
            return ["good"] * len(smiles)

    with pytest.raises(ObjectiveError, match=r"'words' returned 'good' \(str\) for 'C'"):
        Oracle(Words(), 5).evaluate(cands("C"), 0)


def test_nan_scores_are_counted_calls():
    class Half(Objective):
        name = "half"

        def __call__(self, smiles):
            return np.array([np.nan if len(s) % 2 else 1.0 for s in smiles])

    oracle = Oracle(Half(), 5)
    out = oracle.evaluate(cands("C", "CC"), 0)
    assert math.isnan(out[0].score) and out[1].score == 1.0
    assert oracle.used == 2


class WorkerPid(Objective):
    """Scores every molecule with the id of the process that scored it."""

    name = "worker_pid"
    direction = "maximize"
    description = "process id"

    def __call__(self, smiles):
        time.sleep(0.3)  # long enough that one worker cannot take both chunks
        return np.full(len(smiles), float(os.getpid()))


def test_a_batch_is_scored_on_the_worker_processes():
    # Regression: the oracle's per-worker chunks once fell below the executor's
    # small-batch threshold, so every batch was scored in the calling process.
    smiles = [f"C{'C' * i}O" for i in range(40)]
    with ProcessExecutor(2) as executor:
        oracle = Oracle(WorkerPid(), 100, None, executor)
        evaluations = oracle.evaluate([Candidate(s, "init") for s in smiles], generation=0)
    pids = {e.score for e in evaluations if e is not None}
    assert float(os.getpid()) not in pids
    assert len(pids) == 2
