"""A run killed with SIGKILL leaves no process behind, and ``--resume`` continues it at once.

Real ``llmga optimize`` subprocesses with worker processes (and per-molecule time-limit children) are
killed mid-generation; every process that scored a molecule records its pid, and the test checks that all
of them are gone within a few seconds and that nothing holds the run's lock.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import llmga

OBJECTIVE = '''
import os, time
from pathlib import Path
from rdkit import Chem
from rdkit.Chem import QED

def score(smiles: str) -> float:
    """QED after a pause; records the pid of each process that scores; with HANG set, hangs after 20 molecules."""
    pids = Path(os.environ["PID_DIR"])
    (pids / str(os.getpid())).touch()
    if os.environ.get("HANG") and _scored(pids) >= 20:
        time.sleep(600)
    with open(pids.parent / "scored.log", "a") as log:
        log.write(smiles + "\\n")
    time.sleep(float(os.environ.get("SLEEP", "0")))
    return QED.qed(Chem.MolFromSmiles(smiles))

def _scored(pids):
    log = pids.parent / "scored.log"
    return len(log.read_text().splitlines()) if log.exists() else 0
'''


@pytest.fixture
def objective(tmp_path: Path) -> Path:
    path = tmp_path / "objective.py"
    path.write_text(OBJECTIVE)
    (tmp_path / "pids").mkdir()
    return path


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    return {**os.environ, "PID_DIR": str(tmp_path / "pids"), **extra}


def _alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie, dead and waiting to be reaped by init, does not)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state not in ("Z", "X")


def _processes_of(folder: Path) -> set[int]:
    """Pids of live processes whose command line names ``folder``."""
    found = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().decode(errors="replace")
        except OSError:
            continue
        if str(folder) in cmdline and _alive(int(entry.name)):
            found.add(int(entry.name))
    return found


def _scored(tmp_path: Path) -> int:
    log = tmp_path / "scored.log"
    return len(log.read_text().split()) if log.exists() else 0


def _scorers(tmp_path: Path) -> set[int]:
    return {int(p.name) for p in (tmp_path / "pids").iterdir()}


def _busy(tmp_path: Path) -> bool:
    """Two processes scored, and the run is past its initial population (40 molecules) by 20 or more."""
    return len(_scorers(tmp_path)) >= 2 and _scored(tmp_path) > 60


def _wait_for(condition, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return condition()


def _kill_all(pids: set[int]) -> None:
    for pid in pids:
        if _alive(pid):
            os.kill(pid, signal.SIGKILL)


def _kill_mid_run(cmd: list[str], env: dict[str, str], ready, log: Path) -> subprocess.Popen[bytes]:
    """Start ``cmd``, SIGKILL it once ``ready()``; its output goes to ``log`` (shown when it ended by itself)."""
    with open(log, "wb") as output:
        proc = subprocess.Popen(cmd, stdout=output, stderr=subprocess.STDOUT, env=env)
    try:
        got_going = _wait_for(lambda: ready() or proc.poll() is not None, 60)
        assert proc.poll() is None, f"the run ended before it could be killed:\n{log.read_text()}"
        assert got_going, "the run never got going"
    finally:
        proc.kill()
        proc.wait()
    return proc


def _check_resumes_at_once_and_no_process_remains(tmp_path: Path, out: Path, env: dict[str, str]) -> None:
    killed = _processes_of(out) | _scorers(tmp_path)
    try:
        resumed = subprocess.run(
            [sys.executable, "-m", "llmga", "optimize", "--resume", str(out), "--quiet"],
            capture_output=True, text=True, env=env, timeout=120, check=False,
        )  # fmt: skip
        assert "in use by another llmga process" not in resumed.stderr
        assert resumed.returncode == 0, resumed.stderr
        assert llmga.load(out).summary["status"] == "finished"
        # Whatever they were doing, the killed run's workers noticed their parent's death and exited.
        assert _wait_for(lambda: not {p for p in killed if _alive(p)}, 5), (
            f"processes of the killed run live on: {sorted(p for p in killed if _alive(p))}"
        )
        assert _wait_for(lambda: not (_processes_of(out) | {p for p in _scorers(tmp_path) if _alive(p)}), 5)
    finally:
        _kill_all(_processes_of(out) | _scorers(tmp_path))


def test_a_run_with_worker_processes_killed_mid_generation_leaves_nothing_and_resumes_at_once(objective, tmp_path):
    out = tmp_path / "run"
    cmd = [
        sys.executable, "-m", "llmga", "optimize", "--objective", f"{objective}:score", "--llm", "none",
        "--budget", "1000", "--population", "40", "--offspring", "40", "--workers", "2", "--seed", "3",
        "--quiet", "--out", str(out),
    ]  # fmt: skip
    # Killed while both workers score a generation's children (the first 40 are the initial population).
    proc = _kill_mid_run(  # slow molecules: the run is surely mid-generation when it is killed
        cmd, _env(tmp_path, SLEEP="0.02"), lambda: _busy(tmp_path), tmp_path / "killed.log"
    )
    assert len(_scorers(tmp_path) - {proc.pid}) >= 2  # the molecules were scored in worker processes
    _check_resumes_at_once_and_no_process_remains(tmp_path, out, _env(tmp_path))


def test_a_run_killed_while_a_time_limited_molecule_hangs_leaves_no_child_behind(objective, tmp_path):
    out = tmp_path / "run"
    cmd = [
        sys.executable, "-m", "llmga", "optimize", "--objective", f"{objective}:score", "--llm", "none",
        "--budget", "100", "--population", "40", "--offspring", "20", "--workers", "1", "--seed", "3",
        "--objective-timeout", "300", "--quiet", "--out", str(out),
    ]  # fmt: skip
    # The 21st molecule hangs in its time-limit child (forked from the run's process), which is then orphaned.
    proc = _kill_mid_run(cmd, _env(tmp_path, HANG="1"), lambda: _scored(tmp_path) >= 20, tmp_path / "killed.log")
    time.sleep(0.3)  # the hanging child has recorded its pid
    assert _scorers(tmp_path) - {proc.pid}, "no time-limit child scored"
    _check_resumes_at_once_and_no_process_remains(tmp_path, out, _env(tmp_path))


@pytest.mark.slow  # two LocalCluster starts
def test_a_dask_local_cluster_run_killed_mid_generation_leaves_no_worker_and_resumes_at_once(objective, tmp_path):
    pytest.importorskip("distributed")
    out = tmp_path / "run"
    cmd = [
        sys.executable, "-m", "llmga", "optimize", "--objective", f"{objective}:score", "--llm", "none",
        "--budget", "300", "--population", "40", "--offspring", "40", "--workers", "2", "--executor", "dask",
        "--seed", "3", "--quiet", "--out", str(out),
    ]  # fmt: skip
    proc = _kill_mid_run(
        cmd, _env(tmp_path, SLEEP="0.02"), lambda: _busy(tmp_path), tmp_path / "killed.log"
    )
    assert len(_scorers(tmp_path) - {proc.pid}) >= 2  # scored by the cluster's worker processes
    # Dask's own nanny pipes end its workers with the parent; they were spawned, so they never held the lock.
    _check_resumes_at_once_and_no_process_remains(tmp_path, out, _env(tmp_path))
