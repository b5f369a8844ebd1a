"""External programs as objectives, run as real subprocesses."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np
import pytest

from llmga.errors import ObjectiveError
from llmga.objectives import get_objective
from llmga.objectives.external import ExternalObjective
from tests.conftest import ASPIRIN, CAFFEINE, IBUPROFEN

EXAMPLE = Path(__file__).resolve().parents[2] / "objectives" / "mmff_energy.py"
PY = sys.executable


def _script(tmp_path: Path, name: str, body: str) -> str:
    path = tmp_path / name
    path.write_text("import csv, sys, time\n" + body)
    return f"{PY} {path}"


def test_the_shipped_mmff_example_scores_molecules_in_a_separate_process():
    objective = ExternalObjective(f"{PY} {EXAMPLE} --conformers 4", direction="minimize", workers=2)
    assert objective.name == "exec:mmff_energy.py"
    with pytest.warns(RuntimeWarning, match=r"1 of 5 molecules got no score \(NaN\); first: '\[Xe\]'"):
        scores = objective([ASPIRIN, "c1ccccc1", IBUPROFEN, "C1CC1C2CC2", "[Xe]"])
    assert np.isnan(scores[4])  # no MMFF parameters for xenon
    assert scores[1] == pytest.approx(0.0, abs=1e-6)  # benzene: one conformer, no strain
    assert (scores[[0, 2]] >= 0).all() and (scores[[0, 2]] < 30).all()
    again = objective([ASPIRIN, IBUPROFEN])
    np.testing.assert_allclose(again, scores[[0, 2]])  # seeded embedding: the same score every time
    assert objective.failures == [("[Xe]", "the program left the score empty")]


def test_failures_become_nan_with_their_reason_never_a_crash(tmp_path):
    crash = ExternalObjective(_script(tmp_path, "crash.py", "sys.stderr.write('no licence'); sys.exit(3)\n"))
    with pytest.warns(RuntimeWarning, match=r"2 of 2 molecules got no score.*exited with status 3: no licence"):
        assert np.isnan(crash([ASPIRIN, CAFFEINE])).all()
    partial = ExternalObjective(
        _script(
            tmp_path,
            "partial.py",
            "rows = list(csv.DictReader(sys.stdin))\nprint('id,score')\nprint(rows[0]['id'] + ',1.5')\n"
            "print(rows[1]['id'] + ',strong')\n",
        )
    )
    with pytest.warns(RuntimeWarning):
        scores = partial([ASPIRIN, CAFFEINE, IBUPROFEN])
    assert scores[0] == 1.5 and np.isnan(scores[1:]).all()
    assert [r for _, r in partial.failures] == ["score 'strong' is not a number", "missing from the program's output"]


def test_a_hanging_program_is_killed_at_the_timeout(tmp_path):
    slow = ExternalObjective(_script(tmp_path, "slow.py", "time.sleep(60)\n"), timeout=0.5)
    clock = time.perf_counter()
    with pytest.warns(RuntimeWarning, match="timed out after 0.5 s"):
        assert np.isnan(slow([ASPIRIN])).all()
    assert time.perf_counter() - clock < 10


def test_input_and_output_files_and_smiles_keyed_output(tmp_path):
    body = (
        "rows = list(csv.DictReader(open(sys.argv[1])))\n"
        "with open(sys.argv[2], 'w') as f:\n"
        "    f.write('smiles,score\\n' + ''.join(r['smiles'] + ',' + str(len(r['smiles'])) + '\\n' for r in rows))\n"
    )
    objective = get_objective(f"exec:{_script(tmp_path, 'files.py', body)} {{input}} {{output}}")
    np.testing.assert_array_equal(objective([ASPIRIN, "CCO"]), [len(ASPIRIN), 3])


def test_bad_specs_are_refused_with_the_fix(tmp_path):
    with pytest.raises(ObjectiveError, match="does not exist"):
        get_objective("exec:./no/such/dock.sh")
    with pytest.raises(ObjectiveError, match="needs a command"):
        get_objective("exec:")
    with pytest.raises(ObjectiveError, match="timeout"):
        ExternalObjective(f"{PY} -c pass", timeout=0)


def test_an_external_objective_drives_a_run(tmp_path):
    import json

    import llmga

    body = (
        "rows = list(csv.DictReader(sys.stdin))\nprint('id,score')\n"
        "for r in rows: print(r['id'] + ',' + str(r['smiles'].count('N')))\n"
    )
    spec = f"exec(command='{_script(tmp_path, 'nitrogens.py', body)}', workers=2)"
    result = llmga.optimize(spec, budget=80, seed=0, llm="none", out=str(tmp_path / "run"))
    assert result.summary["calls"] == 80
    assert json.loads((tmp_path / "run" / "run.json").read_text())["objective"]["command"].endswith("nitrogens.py")
    assert result.best(1)["score"].iloc[0] >= 3
