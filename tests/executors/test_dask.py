"""The Dask executor against a real LocalCluster and real `dask scheduler` / `dask worker` processes."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time

import numpy as np
import pytest

pytest.importorskip("distributed")

import llmga
from llmga.engine._oracle import Candidate, Oracle
from llmga.executors._dask import DaskExecutor
from llmga.objectives import get_objective

OBJECTIVE = '''
import os, time

def slow_length(smiles: str) -> float:
    """Heavy atoms' share of the SMILES text, after a pause (a stand-in for a slow oracle)."""
    time.sleep(0.01)
    return float(len(smiles))

def deadly(smiles: str) -> float:
    """Kills the worker process that scores one poisonous molecule."""
    if smiles == "CCCl":
        os._exit(3)
    return float(len(smiles))

def hangs_on_chlorine(smiles: str) -> float:
    if "Cl" in smiles:
        time.sleep(60)
    return float(len(smiles))
'''


@pytest.fixture(scope="module")
def objective_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("dask") / "objective.py"
    path.write_text(OBJECTIVE)
    return path


def _evaluations(result):
    return result.evaluations[["call", "smiles", "score", "generation", "operator", "parents"]].values.tolist()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_map_on_a_local_cluster_keeps_item_order():
    with DaskExecutor(2) as ex:
        assert ex.map(abs, list(range(-50, 50))) == [abs(x) for x in range(-50, 50)]
        assert ex.workers == 2


@pytest.mark.slow  # run by .ci/run after the default suite (pytest -m slow): the default suite keeps under 10 minutes
def test_a_run_on_a_local_cluster_equals_the_serial_run(objective_file, tmp_path):
    spec = f"{objective_file}:slow_length"
    options = {"budget": 250, "seed": 4, "llm": "none", "population": 50, "offspring": 40}
    serial = llmga.optimize(spec, executor="serial", out=str(tmp_path / "serial"), **options)
    dask = llmga.optimize(spec, executor="dask", workers=2, out=str(tmp_path / "dask"), **options)
    assert _evaluations(dask) == _evaluations(serial)
    assert len(dask.evaluations) == 250


def test_a_molecule_that_keeps_killing_its_worker_scores_nan_with_the_reason(objective_file):
    import dask

    objective = get_objective(f"{objective_file}:deadly")
    with dask.config.set({"distributed.scheduler.allowed-failures": 0}), DaskExecutor(2) as ex:
        oracle = Oracle(objective, 100, executor=ex)
        batch = ["CCO", "CCN", "CCCl", "CCCC", "c1ccccc1", "CCOC", "CC(C)O", "OCCO"]
        evaluations = oracle.evaluate([Candidate(s) for s in batch], 0)
    scores = {e.smiles: e.score for e in evaluations if e is not None}
    assert np.isnan(scores["CCCl"])
    assert all(scores[s] == len(s) for s in batch if s != "CCCl")  # the rest of its chunk was rescued
    assert [s for s, _ in oracle.failures] == ["CCCl"] and "killed Dask workers" in oracle.failures[0][1]


@pytest.mark.parametrize("executor", ["processes", "dask"])
def test_the_per_molecule_timeout_works_on_every_executor(objective_file, tmp_path, executor):
    result = llmga.optimize(
        f"{objective_file}:hangs_on_chlorine",
        budget=60,
        population=40,
        offspring=20,
        seed=1,
        llm="none",
        executor=executor,
        workers=2,
        objective_timeout=0.5,
        out=str(tmp_path / executor),
    )
    ev = result.evaluations
    chlorinated = ev[ev["smiles"].str.contains("Cl")]
    assert len(chlorinated) > 0 and chlorinated["score"].isna().all()
    clean = ev[~ev["smiles"].str.contains("Cl")]
    assert (clean["score"] == clean["smiles"].str.len()).all()


@pytest.mark.slow  # run by .ci/run after the default suite (pytest -m slow): the default suite keeps under 10 minutes
def test_a_real_scheduler_and_workers_survive_a_killed_worker_and_equal_the_serial_run(objective_file, tmp_path):
    from distributed import Client

    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    dask_cli = [sys.executable, "-m", "dask"]
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    procs = [subprocess.Popen([*dask_cli, "scheduler", "--host", "127.0.0.1", "--port", str(port),
                               "--no-dashboard"], **quiet)]  # fmt: skip
    try:
        for _ in range(2):
            procs.append(subprocess.Popen([*dask_cli, "worker", address, "--nthreads", "1", "--no-dashboard"], **quiet))
        spec = f"{objective_file}:slow_length"
        options = {"budget": 400, "seed": 6, "llm": "none", "population": 60, "offspring": 60}
        serial = llmga.optimize(spec, executor="serial", out=str(tmp_path / "serial"), **options)

        with Client(address, timeout="30s") as client:
            client.wait_for_workers(2, timeout=60)
            pids = list(client.run(os.getpid).values())
        out = tmp_path / "cluster"
        run = subprocess.Popen(
            [sys.executable, "-m", "llmga", "optimize", "--objective", spec, "--budget", "400", "--seed", "6",
             "--llm", "none", "--population", "60", "--offspring", "60", "--executor", "dask",
             "--scheduler", address, "--quiet", "--out", str(out)],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        store = out / "run.sqlite"
        deadline = time.time() + 120
        while time.time() < deadline and not (store.exists() and len(llmga.load(out).evaluations) > 150):
            time.sleep(0.05)
        assert run.poll() is None and len(llmga.load(out).evaluations) < 400  # the run is mid-way
        os.kill(pids[0], signal.SIGKILL)  # its tasks go to the other worker (and its nanny restarts it)
        _, stderr = run.communicate(timeout=300)
        assert run.returncode == 0, stderr
        assert _evaluations(llmga.load(out)) == _evaluations(serial)
    finally:
        for proc in reversed(procs):
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()


def test_a_wrong_scheduler_address_is_reported_before_any_work(tmp_path):
    with pytest.raises(llmga.ConfigError, match=r"--scheduler 'tcp://127.0.0.1:\d+': no Dask scheduler"):
        llmga.optimize("qed", budget=10, executor="dask", scheduler=f"tcp://127.0.0.1:{_free_port()}",
                       llm="none", out=str(tmp_path / "r"))  # fmt: skip
    with pytest.raises(llmga.ConfigError, match="a scheduler address needs --executor dask"):
        llmga.Config(scheduler="tcp://127.0.0.1:8786")
