"""Operators are told what every generation scored: each evaluation once, in call order, also after a resume."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import llmga
from llmga.engine import Recipe
from llmga.operators import GraphCrossover, GraphMutation
from tests.conftest import KILLING_QED

# A graph mutation that writes down what it is told (importable by the subprocesses of the kill test).
RECORDER = '''
import json, os
from llmga.operators import GraphMutation


class Recorder(GraphMutation):
    def __init__(self, log=None):
        super().__init__()
        self.log = log
        self.told = []

    def tell(self, evaluations, context):
        row = {
            "generation": context.generation,
            "calls": [e.call for e in evaluations],
            "smiles": [e.smiles for e in evaluations],
            "generations": sorted({e.generation for e in evaluations}),
            "population": [p.call for p in context.population],
        }
        self.told.append(row)
        if self.log:
            with open(self.log, "a") as fh:
                fh.write(json.dumps(row) + "\\n")
'''

RUN = '''
import os, sys
import llmga
from llmga.engine import Recipe
from llmga.operators import GraphCrossover
from recorder import Recorder

recipes = [Recipe(GraphCrossover(), Recorder(os.environ["TOLD_LOG"]), 0.5)]
options = dict(budget=300, population=30, offspring=25, seed=6, workers=1, llm="none", patience=0)
if sys.argv[1] == "new":
    llmga.optimize(sys.argv[3] + ":score", out=sys.argv[2], recipes=recipes, **options)
else:
    llmga.resume(sys.argv[2], recipes=recipes)
'''


def _load_recorder(tmp_path):
    (tmp_path / "recorder.py").write_text(RECORDER)
    import importlib.util

    spec = importlib.util.spec_from_file_location("recorder_for_test", tmp_path / "recorder.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.Recorder


def test_every_operator_is_told_every_evaluation_once_in_call_order(tmp_path):
    recorder = _load_recorder(tmp_path)()
    told_by_cross: list[int] = []

    class ToldCrossover(GraphCrossover):
        def tell(self, evaluations, context):
            told_by_cross.extend(e.call for e in evaluations)

    recipes = [Recipe(ToldCrossover(), recorder, 0.5), Recipe(None, GraphMutation(), 0.0, 0.3)]
    options = dict(budget=250, population=30, offspring=25, seed=1, llm="none", workers=1)
    result = llmga.optimize("qed", recipes=recipes, out=str(tmp_path / "r"), **options)
    calls = [c for row in recorder.told for c in row["calls"]]
    assert calls == list(range(1, 251)) == result.evaluations["call"].tolist()
    assert told_by_cross == calls  # each operator of the recipes, once per generation
    assert [row["generation"] for row in recorder.told] == result.history["gen"].tolist()
    for row in recorder.told:  # a generation's own evaluations, with the population they left
        assert row["generations"] in ([row["generation"]], [])
    assert recorder.told[-1]["population"] == llmga.load(tmp_path / "r").populations()[len(recorder.told) - 1]


def test_a_resumed_run_tells_the_same_sequence_as_the_run_never_stopped(tmp_path):
    (tmp_path / "recorder.py").write_text(RECORDER)
    (tmp_path / "objective.py").write_text(KILLING_QED)
    (tmp_path / "run.py").write_text(textwrap.dedent(RUN))

    def run(*args, log, kill_at=0):
        env = {**os.environ, "TOLD_LOG": str(log), "KILL_AT": str(kill_at), "PYTHONPATH": str(tmp_path)}
        return subprocess.run([sys.executable, str(tmp_path / "run.py"), *args], env=env, capture_output=True)

    objective = str(tmp_path / "objective.py")
    whole = run("new", str(tmp_path / "whole"), objective, log=tmp_path / "whole.log")
    assert whole.returncode == 0, whole.stderr.decode()[-2000:]
    killed = run("new", str(tmp_path / "cut"), objective, log=tmp_path / "killed.log", kill_at=170)
    assert killed.returncode == -9
    resumed = run("resume", str(tmp_path / "cut"), log=tmp_path / "resumed.log")
    assert resumed.returncode == 0, resumed.stderr.decode()[-2000:]

    def rows(name):
        return [json.loads(line) for line in (tmp_path / name).read_text().splitlines()]

    expected = rows("whole.log")
    assert [c for row in expected for c in row["calls"]] == list(range(1, 301))
    assert rows("resumed.log") == expected
    assert rows("killed.log") == expected[: len(rows("killed.log"))] and len(rows("killed.log")) < len(expected)
