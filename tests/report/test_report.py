from __future__ import annotations

import json

import pandas as pd
import pytest
from PIL import Image

import llmga
from llmga.benchmark import run_benchmark
from llmga.cli import main
from llmga.config import Config
from llmga.report import compare, report
from llmga.report._plots import family

PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("runs")
    common = {"budget": 300, "population": 40, "offspring": 30, "workers": 1, "patience": 0}
    return {
        # the model's calls are drawn, not what it learns
        "embedded": llmga.optimize("qed", seed=1, lm_learn=False, out=str(root / "embedded"), **common),
        "graph": llmga.optimize("qed", seed=2, llm="none", out=str(root / "graph"), **common),
        "pareto": llmga.optimize(
            None, objectives="qed,sa", pareto=True, seed=0, llm="none", out=str(root / "p"), **common
        ),
    }


def _manifest(folder):
    return json.loads((folder / "report.json").read_text())["figures"]


def _valid_png(path):
    assert path.read_bytes()[:8] == PNG
    with Image.open(path) as image:
        image.verify()


def test_a_report_draws_what_the_run_holds(runs, tmp_path):
    run = runs["embedded"]
    page = report(run.path, tmp_path / "rep")
    figures = _manifest(tmp_path / "rep")
    assert set(figures) == {"curve", "scores", "operators", "llm", "molecules"}  # no Pareto front: one objective
    for meta in figures.values():
        _valid_png(tmp_path / "rep" / meta["file"])
    (curve,) = figures["curve"]["axes"]
    assert curve["lines"] == 3 and "Top-10 AUC" in curve["title"]  # best, top-10, top-100
    assert f"{run.summary['top10_auc']:.4f}" in curve["title"]
    generations = run.evaluations["generation"].nunique()
    (scores,) = figures["scores"]["axes"]
    assert scores["lines"] == 6 * generations  # a box plot per generation: box, median, 2 whiskers, 2 caps
    families = set(run.evaluations.query("generation > 0")["operator"].map(family))
    children, survivors = figures["operators"]["axes"]
    assert children["collections"] == len(families) and families >= {"graph GA", "embedded model"}
    assert survivors["collections"] == len(set(run.evaluations["operator"].map(family)))
    llm_generations = run.llm_calls.query("operator != 'lm_finetune'")["generation"].nunique()
    assert [ax["points"] for ax in figures["llm"]["axes"]] == [[llm_generations]] * 3
    assert figures["molecules"]["molecules"] == 24

    text = page.read_text()
    assert text.count("data:image/png;base64,") == len(figures)  # every image embedded ...
    assert 'src="http' not in text and "<link" not in text  # ... and nothing fetched
    for smiles in run.best(24)["smiles"]:
        assert smiles in text


def test_no_llm_figure_without_a_model_and_a_pareto_front_for_pareto_runs(runs, tmp_path):
    report(runs["graph"].path, tmp_path / "g")
    assert "llm" not in _manifest(tmp_path / "g") and not (tmp_path / "g" / "llm.png").exists()
    report(runs["pareto"].path, tmp_path / "p")
    figures = _manifest(tmp_path / "p")
    (front,) = figures["pareto"]["axes"]
    assert front["collections"] == 2  # every molecule, and the front
    _valid_png(tmp_path / "p" / "pareto.png")


def test_compare_overlays_runs_and_groups_a_benchmark_by_task(runs, tmp_path):
    page = compare([runs["embedded"].path, runs["graph"].path], tmp_path / "c")
    meta = json.loads((tmp_path / "c" / "report.json").read_text())
    (ax,) = meta["figure"]["axes"]
    assert ax["lines"] == 2 and ax["collections"] == 0  # one curve per run, no bands for single runs
    _valid_png(tmp_path / "c" / "compare.png")
    assert "data:image/png;base64," in page.read_text()

    bench = tmp_path / "bench"
    run_benchmark(["qed"], [0, 1], bench, config=Config(budget=120, population=20, offspring=20, workers=1, llm="none"))
    compare([bench], tmp_path / "b")
    meta = json.loads((tmp_path / "b" / "report.json").read_text())
    assert meta["groups"][0][0] == "qed" and len(meta["groups"][0][1]) == 2
    (ax,) = meta["figure"]["axes"]
    assert ax["lines"] == 1 and ax["collections"] == 1  # mean of two seeds, with a ± std band


def test_the_cli_writes_reports_and_names_bad_folders(runs, tmp_path, capsys):
    assert main(["report", str(runs["graph"].path), "--out", str(tmp_path / "r")]) == 0
    assert (tmp_path / "r" / "report.html").exists()
    assert main(["compare", str(runs["graph"].path), str(runs["embedded"].path), "--out", str(tmp_path / "c")]) == 0
    assert main(["compare", str(tmp_path), "--out", str(tmp_path / "x")]) == 1
    assert "neither a run folder" in capsys.readouterr().err


def test_a_result_shows_itself_in_a_notebook(runs):
    page = runs["embedded"]._repr_html_()
    assert page.count("<img") == 2 and "Top-10 AUC" in page
    assert isinstance(runs["embedded"].to_frame(), pd.DataFrame)


def test_a_killed_run_without_summary_and_a_campaign_get_reports_too(runs, tmp_path):
    import shutil

    killed = tmp_path / "killed"
    shutil.copytree(runs["graph"].path, killed)
    (killed / "summary.json").unlink()  # as after kill -9: only the store knows what happened
    for name in ("evaluations.csv", "generations.csv"):
        (killed / name).unlink()
    page = report(killed)
    assert "running or killed" in page.read_text() and (killed / "report" / "curve.png").exists()

    campaign = llmga.Campaign.create(tmp_path / "camp", objective_name="assay", llm="none")
    for _ in range(2):
        batch = campaign.ask(10)
        campaign.tell(pd.DataFrame({"smiles": batch["smiles"], "score": batch["smiles"].str.len()}))
    report(tmp_path / "camp")
    assert set(_manifest(tmp_path / "camp" / "report")) >= {"curve", "scores", "operators", "molecules"}
