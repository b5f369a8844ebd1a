from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

import llmga
from llmga.errors import ConfigError, ObjectiveError
from llmga.metrics import top_k_auc


def test_optimize_returns_dataframes_and_writes_the_run_folder(tmp_path, init_file):
    out = tmp_path / "run"
    result = llmga.optimize(
        "qed", budget=120, population=8, offspring=10, seed=1, init=str(init_file), llm="none", out=str(out)
    )  # what is tested is the run folder and frames, not the operators
    names = {p.name for p in out.iterdir()}
    assert {
        "config.json",
        "run.json",
        "evaluations.csv",
        "generations.csv",
        "best.csv",
        "population.csv",
        "summary.json",
    } <= names

    ev = result.evaluations
    assert list(ev.columns) == ["call", "smiles", "score", "generation", "operator", "parents"]
    assert ev["call"].tolist() == list(range(1, len(ev) + 1))
    assert ev["smiles"].is_unique
    assert (ev.loc[ev.generation == 0, "operator"] == "init").all()
    assert len(ev) == 120 == result.summary["calls"]

    hist = result.history
    assert hist["gen"].tolist() == list(range(len(hist)))
    assert hist["calls"].iloc[-1] == 120

    best = result.best(5)
    assert best["score"].is_monotonic_decreasing
    assert best["score"].iloc[0] == ev["score"].max() == result.best_score

    config = json.loads((out / "config.json").read_text())
    assert config["objective"] == "qed" and config["budget"] == 120 and config["out"] == str(out)
    run = json.loads((out / "run.json").read_text())
    assert run["objective"]["direction"] == "maximize" and run["versions"]["rdkit"]

    s = result.summary
    assert s["top10_auc"] == pytest.approx(top_k_auc(ev["score"].to_numpy(), 10, 120))
    assert s["status"] == "finished" and s["stop_reason"] == "budget"
    assert llmga.load(out).summary == s


def test_custom_python_function_objective(tmp_path):
    def n_rings(smiles: str) -> float:
        """Number of ring-closure digits."""
        return float(sum(ch.isdigit() for ch in smiles))

    result = llmga.optimize(n_rings, budget=200, population=20, offspring=20, llm="none", out=str(tmp_path / "r"))
    assert result.config.objective == "python:n_rings"
    assert result.best_score >= result.summary["init_best"]


def test_minimised_run_reports_lowest_first(tmp_path):
    result = llmga.optimize("sa", budget=150, population=20, offspring=20, llm="none", out=str(tmp_path / "r"))
    best = result.best(3)["score"].tolist()
    assert best == sorted(best)
    assert best[0] == result.evaluations["score"].min()
    assert result.summary["top1_mean"] == pytest.approx(best[0])


@pytest.mark.slow  # two default runs; tests/test_cli.py runs the same check across processes (also slow)
def test_same_seed_same_run_through_the_api(tmp_path):
    # the default: the embedded model, which learns after every generation
    a = llmga.optimize("logp", budget=140, population=20, offspring=20, seed=4, out=str(tmp_path / "a"))
    b = llmga.optimize("logp", budget=140, population=20, offspring=20, seed=4, out=str(tmp_path / "b"))
    pd.testing.assert_frame_equal(a.evaluations, b.evaluations)


def test_failure_mid_run_keeps_everything_scored(tmp_path):
    calls = []

    def flaky(smiles: str) -> float:
        calls.append(smiles)
        if len(calls) == 150:
            raise RuntimeError("license server down")
        return float(len(smiles))

    out = tmp_path / "r"
    with pytest.raises(ObjectiveError, match=r"license server down on molecule '.+'"):
        llmga.optimize(flaky, budget=500, population=50, offspring=40, llm="none", out=str(out))
    saved = llmga.load(out)
    assert len(saved.evaluations) >= 50  # the initial population at least, all on disk
    assert saved.evaluations["score"].tolist() == [float(len(s)) for s in saved.evaluations["smiles"]]
    assert saved.summary["status"] == "failed" and "license server down" in saved.summary["error"]
    assert len(pd.read_csv(out / "best.csv")) > 0


def test_existing_run_folder_is_never_overwritten(tmp_path):
    out = tmp_path / "r"
    llmga.optimize("qed", budget=30, population=10, offspring=5, llm="none", out=str(out))
    before = (out / "evaluations.csv").read_text()
    with pytest.raises(ConfigError, match=r"already holds files; choose a new folder"):
        llmga.optimize("qed", budget=30, population=10, offspring=5, llm="none", out=str(out))
    assert (out / "evaluations.csv").read_text() == before


def test_bad_options_are_rejected_before_anything_runs(tmp_path):
    with pytest.raises(ConfigError, match="unknown option 'popsize'"):
        llmga.optimize("qed", popsize=3, out=str(tmp_path / "r"))
    with pytest.raises(ObjectiveError, match="unknown objective"):
        llmga.optimize("qedd", out=str(tmp_path / "r"))
    assert not (tmp_path / "r").exists()


def test_default_run_folder_goes_under_runs(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = llmga.optimize("mw", budget=20, population=10, offspring=5, seed=2, llm="none")
    assert result.path.parent.name == "runs" and result.path.name.startswith("mw-") and result.path.name.endswith("-s2")
    assert np.isfinite(result.summary["top10_auc"])


def test_load_rejects_non_run_folders(tmp_path):
    with pytest.raises(llmga.LLMGAError, match="is not a run folder"):
        llmga.load(tmp_path)


def test_observers_with_some_hooks_and_plain_callbacks(tmp_path):
    class GenerationsOnly:
        def __init__(self) -> None:
            self.generations: list[int] = []

        def on_generation(self, report) -> None:
            self.generations.append(report.generation)

    class EvaluationsOnly:
        def __init__(self) -> None:
            self.calls = 0

        def on_evaluations(self, evaluations) -> None:
            self.calls += len(evaluations)

    partial, counter = GenerationsOnly(), EvaluationsOnly()
    in_observers: list[float] = []
    as_callback: list[tuple[int, int]] = []
    result = llmga.optimize(
        "qed",
        budget=150,
        population=20,
        offspring=20,
        llm="none",
        out=str(tmp_path / "r"),
        observers=[partial, counter, lambda report: in_observers.append(report.best_score)],
        callbacks=[lambda report: as_callback.append((report.generation, report.calls))],
    )
    generations = result.history["gen"].tolist()
    assert partial.generations == generations and len(generations) >= 3
    assert counter.calls == 150
    assert in_observers == pytest.approx(result.history["best"].tolist())
    assert as_callback == list(zip(generations, result.history["calls"].tolist(), strict=True))
