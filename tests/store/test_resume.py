"""Runs killed with SIGKILL at many points, resumed, and compared with the run that was never stopped."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

import pandas as pd
import pytest

import llmga
from llmga.store import RunStore

BUDGET = 400
OBJECTIVE = '''
import os, signal, time
from rdkit import Chem
from rdkit.Chem import QED

_count = 0

def score(smiles: str) -> float:
    """QED; logs every molecule it scores; SIGKILLs its own process at the KILL_AT-th."""
    global _count
    _count += 1
    if _count == int(os.environ.get("KILL_AT", "0")):
        os.kill(os.getpid(), signal.SIGKILL)
    time.sleep(float(os.environ.get("SLEEP", "0")))
    with open(os.environ["SCORED_LOG"], "a") as log:
        log.write(smiles + "\\n")
    return QED.qed(Chem.MolFromSmiles(smiles))
'''
# Runs the CLI with the store's transactions patched to die just before COMMIT on the N-th write.
DIE_IN_COMMIT = """
import os, signal, sys
from llmga.store import _sqlite

_writes = 0
_real = _sqlite.RunStore._transaction.__wrapped__

def _dying(self):
    global _writes
    _writes += 1
    gen = _real(self)
    next(gen)
    try:
        yield
    except BaseException:
        gen.throw(*sys.exc_info())
        raise
    if _writes == int(os.environ["DIE_AT_WRITE"]):
        os.kill(os.getpid(), signal.SIGKILL)  # the transaction's rows are written but not committed
    next(gen, None)

import contextlib
_sqlite.RunStore._transaction = contextlib.contextmanager(_dying)
from llmga.cli import main
sys.exit(main(sys.argv[1:]))
"""


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    root = tmp_path_factory.mktemp("crash")
    (root / "objective.py").write_text(OBJECTIVE)
    (root / "die_in_commit.py").write_text(textwrap.dedent(DIE_IN_COMMIT))
    return root


def _cmd(files, out, *extra):
    return [
        sys.executable, "-m", "llmga", "optimize", "--objective", f"{files / 'objective.py'}:score",
        "--budget", str(BUDGET), "--workers", "1", "--seed", "2", "--quiet", "--out", str(out), *extra,
    ]  # fmt: skip


def _run(cmd, log, **env):
    full = {**os.environ, "SCORED_LOG": str(log), **{k: str(v) for k, v in env.items()}}
    return subprocess.run(cmd, capture_output=True, text=True, env=full, check=False, timeout=300)


def _resume(out, log, **env):
    return _run([sys.executable, "-m", "llmga", "optimize", "--resume", str(out), "--quiet"], log, **env)


def _stored(out):
    store = RunStore.open(out)
    try:
        return [(e.call, e.smiles, e.score, e.generation, e.operator, e.parents) for e in store.evaluations()]
    finally:
        store.close()


@pytest.fixture(scope="module")
def reference(files):
    """The run that was never stopped: (evaluations, llm calls) for the two operator sets."""
    out = {}
    for llm in ("none", "embedded"):
        folder = files / f"reference-{llm}"
        proc = _run(_cmd(files, folder, "--llm", llm), files / f"reference-{llm}.log")
        assert proc.returncode == 0, proc.stderr
        out[llm] = _stored(folder)
        assert len(out[llm]) == BUDGET
    return out


def _check_resumed(files, out, log, reference, killed_log_lines):
    assert len(reference) == BUDGET
    got = _stored(out)
    assert got == reference  # same molecules, same scores, same order, same provenance
    assert [c for c, *_ in got] == list(range(1, BUDGET + 1))  # budget exact, no call counted twice
    summary = llmga.load(out).summary
    assert summary["status"] == "finished" and summary["calls"] == BUDGET
    return summary


SLOW = pytest.mark.slow  # run by .ci/run after the default suite (pytest -m slow)


@pytest.mark.parametrize(
    "kill_at",
    [
        pytest.param(1, id="first-call"),
        pytest.param(60, id="mid-initial-batch", marks=SLOW),
        pytest.param(120, id="last-initial", marks=SLOW),
        pytest.param(121, id="first-child", marks=SLOW),
        pytest.param(190, id="mid-generation"),
        pytest.param(333, id="late", marks=SLOW),
        pytest.param(BUDGET, id="last-call"),
    ],
)
def test_sigkill_at_an_oracle_call_then_resume_equals_the_uninterrupted_run(files, reference, tmp_path, kill_at):
    out, log = tmp_path / "run", tmp_path / "scored.log"
    killed = _run(_cmd(files, out, "--llm", "none"), log, KILL_AT=kill_at)
    assert killed.returncode == -signal.SIGKILL
    before = {smi for _, smi, *_ in _stored(out)}
    scored_before = len(log.read_text().splitlines()) if log.exists() else 0
    resumed = _resume(out, log)
    assert resumed.returncode == 0, resumed.stderr
    _check_resumed(files, out, log, reference["none"], scored_before)
    # Nothing committed before the kill was scored again by the resumed process.
    after = log.read_text().splitlines()[scored_before:]
    assert not before & set(after)


def test_a_run_killed_while_its_store_was_made_can_be_started_again_in_its_folder(files, reference, tmp_path):
    out, log = tmp_path / "run", tmp_path / "scored.log"
    out.mkdir()
    (out / "run.lock").write_text("123\n")
    (out / "run.sqlite.new").write_bytes(b"half a database")  # what a kill before the store's rename leaves
    resumed = _resume(out, log)
    assert resumed.returncode == 1 and "has no run store" in resumed.stderr
    again = _run(_cmd(files, out, "--llm", "none"), log)
    assert again.returncode == 0, again.stderr
    assert _stored(out) == reference["none"]


@pytest.mark.parametrize("write", [1, pytest.param(2, marks=SLOW), 5, pytest.param(10, marks=SLOW)])
def test_sigkill_inside_a_store_write_then_resume_equals_the_uninterrupted_run(files, reference, tmp_path, write):
    out, log = tmp_path / "run", tmp_path / "scored.log"
    cmd = _cmd(files, out, "--llm", "none")
    cmd[1:3] = [str(files / "die_in_commit.py")]  # python die_in_commit.py optimize ...
    killed = _run(cmd, log, DIE_AT_WRITE=write)
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    resumed = _resume(out, log)
    assert resumed.returncode == 0, resumed.stderr
    _check_resumed(files, out, log, reference["none"], 0)


@SLOW
def test_killed_three_times_with_the_embedded_model_and_resumed_each_time(files, reference, tmp_path):
    """The default operators (embedded model, fine-tuning, adaptive shares) retrace exactly too."""
    out, log = tmp_path / "run", tmp_path / "scored.log"
    killed = _run(_cmd(files, out, "--llm", "embedded"), log, KILL_AT=150)
    assert killed.returncode == -signal.SIGKILL
    for kill_at in (70, 90):  # counted in each new process: the calls it scores itself
        again = _resume(out, log, KILL_AT=kill_at)
        assert again.returncode == -signal.SIGKILL, again.stderr
    resumed = _resume(out, log)
    assert resumed.returncode == 0, resumed.stderr
    _check_resumed(files, out, log, reference["embedded"], 0)
    assert len(log.read_text().splitlines()) < BUDGET + 3 * 80  # at most the unfinished chunks were lost


def test_sigterm_finishes_writing_says_how_to_resume_and_the_resumed_run_is_whole(files, reference, tmp_path):
    out, log = tmp_path / "run", tmp_path / "scored.log"
    env = {**os.environ, "SCORED_LOG": str(log), "SLEEP": "0.01"}
    proc = subprocess.Popen(_cmd(files, out, "--llm", "none"), stdout=subprocess.PIPE, text=True, env=env)
    deadline = time.time() + 60
    while time.time() < deadline and not (log.exists() and len(log.read_text().splitlines()) > 130):
        time.sleep(0.05)
    proc.send_signal(signal.SIGTERM)
    stdout, _ = proc.communicate(timeout=120)
    assert proc.returncode == 130
    assert f"llmga optimize --resume {out}" in stdout.replace("\n", "")
    assert llmga.load(out).summary["status"] == "interrupted"
    resumed = _resume(out, log)
    assert resumed.returncode == 0, resumed.stderr
    _check_resumed(files, out, log, reference["none"], 0)


def test_a_second_process_on_a_running_run_gets_a_clear_error(files, tmp_path):
    out, log = tmp_path / "run", tmp_path / "scored.log"
    env = {**os.environ, "SCORED_LOG": str(log), "SLEEP": "0.05"}
    proc = subprocess.Popen(_cmd(files, out, "--llm", "none"), stdout=subprocess.DEVNULL, env=env)
    try:
        deadline = time.time() + 60
        while time.time() < deadline and not log.exists():
            time.sleep(0.05)
        second = _resume(out, log)
        assert second.returncode == 2
        assert "is in use by another llmga process" in second.stderr and str(proc.pid) in second.stderr
    finally:
        proc.kill()
        proc.wait()
    assert llmga.load(out).evaluations["call"].tolist() == list(range(1, len(llmga.load(out).evaluations) + 1))


def test_resume_refuses_new_settings_and_a_folder_that_is_no_run(files, tmp_path):
    from llmga.cli import main

    assert main(["optimize", "--resume", str(tmp_path), "--budget", "10"]) == 2
    assert main(["optimize", "--resume", str(tmp_path)]) == 1  # no store there: named in the error


def _rings(smiles: str) -> float:
    from rdkit import Chem
    from rdkit.Chem import rdMolDescriptors

    return float(rdMolDescriptors.CalcNumRings(Chem.MolFromSmiles(smiles)))


@pytest.mark.slow  # run by .ci/run after the default suite (pytest -m slow): the default suite keeps under 10 minutes
def test_python_objective_and_pareto_runs_resume_through_the_api(tmp_path):
    common = {"budget": 200, "population": 30, "offspring": 30, "seed": 5, "llm": "none", "workers": 1}
    whole = llmga.optimize(_rings, out=str(tmp_path / "whole"), **common)
    generations = iter(range(100))
    part = llmga.optimize(_rings, out=str(tmp_path / "part"), stop=lambda: next(generations) >= 2, **common)
    assert part.summary["status"] == "interrupted"
    with pytest.raises(llmga.LLMGAError, match=r"optimised a Python object .*pass it again"):
        llmga.resume(tmp_path / "part")
    resumed = llmga.resume(tmp_path / "part", objective=_rings)
    assert resumed.evaluations.values.tolist() == whole.evaluations.values.tolist()
    assert resumed.summary["resumed_after_calls"] == part.summary["calls"]

    pareto = {**common, "objectives": "qed,sa", "pareto": True}
    whole = llmga.optimize(None, out=str(tmp_path / "pw"), **pareto)
    generations = iter(range(100))
    llmga.optimize(None, out=str(tmp_path / "pp"), stop=lambda: next(generations) >= 3, **pareto)
    resumed = llmga.resume(tmp_path / "pp")
    assert resumed.evaluations.values.tolist() == whole.evaluations.values.tolist()
    front = pd.read_csv(tmp_path / "pp" / "pareto_front.csv")
    assert front.equals(pd.read_csv(tmp_path / "pw" / "pareto_front.csv"))
