"""Objectives from files travel to worker processes (pool and Dask), decorated or plain."""

from __future__ import annotations

import copy
import os
import pickle
import warnings

import pytest

from llmga.errors import ObjectiveError
from llmga.executors import ProcessExecutor
from llmga.objectives import get_objective

FILE = '''
import os

import llmga


@llmga.objective(batched=True, direction="minimize", description="worker pid per molecule")
def pids(smiles):
    return [float(os.getpid()) for _ in smiles]


@llmga.objective
def one_pid(smiles):
    return float(os.getpid())


def plain_pid(smiles):
    return float(os.getpid())


def batch_by_mistake(smiles):
    return [1.0, 2.0]
'''

SMILES = ["CCO", "c1ccccc1", "CC(=O)O", "CCN", "CCCl", "OCCO", "CNC", "CCCC"] * 4


@pytest.fixture(scope="module")
def objective_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("pickling") / "pid_objectives.py"
    path.write_text(FILE)
    return path


def _worker_pids(objective) -> set[float]:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # "cannot be sent to worker processes" must not happen
        with ProcessExecutor(2, min_items=1) as pool:
            chunks = [SMILES[i : i + 4] for i in range(0, len(SMILES), 4)]
            return {float(v) for chunk in pool.map(objective, chunks) for v in chunk}


@pytest.mark.parametrize("name", ["pids", "one_pid", "plain_pid"])
def test_a_file_objective_runs_in_worker_processes(objective_file, name):
    objective = get_objective(f"{objective_file}:{name}")
    pids = _worker_pids(objective)
    assert os.getpid() not in pids and len(pids) >= 1


def test_a_decorated_objective_pickles_and_keeps_its_settings(objective_file):
    objective = get_objective(f"{objective_file}:pids")
    back = pickle.loads(pickle.dumps(objective))
    assert back is not objective and back.fn is objective.fn
    assert (back.name, back.direction, back.description) == ("pids", "minimize", "worker pid per molecule")
    assert list(back(["CCO"])) == [float(os.getpid())]


def test_a_direction_override_is_a_copy_that_also_travels(objective_file):
    original = get_objective(f"{objective_file}:pids")
    flipped = get_objective(f"{objective_file}:pids", direction="maximize")
    assert flipped is not original and original.direction == "minimize" and flipped.direction == "maximize"
    assert pickle.loads(pickle.dumps(flipped)).direction == "maximize"
    assert copy.copy(original) is not original
    assert os.getpid() not in _worker_pids(flipped)


def test_a_batch_result_from_a_per_molecule_function_names_the_decorator(objective_file):
    objective = get_objective(f"{objective_file}:batch_by_mistake")
    with pytest.raises(ObjectiveError, match=r"decorate it with @llmga.objective\(batched=True\)"):
        objective(["CCO"])


def test_a_decorated_file_objective_runs_on_dask_workers(objective_file):
    pytest.importorskip("distributed")
    from llmga.executors._dask import DaskExecutor

    objective = get_objective(f"{objective_file}:pids")
    with DaskExecutor(2) as ex:
        pids = {float(v) for chunk in ex.map(objective, [SMILES[:4], SMILES[4:8]], min_items=1) for v in chunk}
    assert os.getpid() not in pids
