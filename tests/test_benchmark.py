from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pandas as pd
import pytest

import llmga
from llmga.benchmark import load_reference, parse_seeds, parse_tasks, run_benchmark, run_phases, task_table
from llmga.cli import main
from llmga.config import Config
from llmga.errors import ConfigError


def test_parse_tasks_and_seeds():
    assert parse_tasks("qed, logp,qed") == ["qed", "logp"]
    with pytest.raises(ConfigError, match=r"unknown task 'qdd' \(closest: qed.*\); valid tasks: .*logp.*; tags: pmo"):
        parse_tasks("qdd")
    assert parse_seeds("0, 2,2") == [0, 2]
    with pytest.raises(ConfigError, match=r"--seeds: '1.5' is not an integer"):
        parse_seeds("0,1.5")
    with pytest.raises(ConfigError, match="negative"):
        parse_seeds("-1")


def test_tiny_benchmark_summary_table_and_resume(tmp_path):
    out = tmp_path / "bench"
    config = Config(budget=150, population=20, offspring=20, workers=1, llm="none")  # the benchmark, not a model
    done = []
    summary = run_benchmark(["qed", "logp"], [0, 1], out, config=config, on_done=lambda t, s, r: done.append((t, s)))
    assert done == [("qed", 0), ("qed", 1), ("logp", 0), ("logp", 1)]
    on_disk = pd.read_csv(out / "summary.csv")
    assert on_disk[["task", "seed"]].values.tolist() == [["qed", 0], ["qed", 1], ["logp", 0], ["logp", 1]]
    assert (on_disk["calls"] == 150).all()
    assert on_disk["top10_auc"].tolist() == pytest.approx(summary["top10_auc"].tolist())
    assert (out / "qed" / "s1" / "evaluations.csv").exists()  # an ordinary run folder

    table = task_table(summary, {"qed": 0.94})
    assert list(table.index) == ["qed", "logp", "sum"]
    qed = summary[summary.task == "qed"]["top10_auc"]
    assert table.loc["qed", "top10_auc_mean"] == pytest.approx(qed.mean())
    assert table.loc["qed", "top10_auc_std"] == pytest.approx(qed.std(ddof=0))
    assert table.loc["qed", "ratio"] == pytest.approx(qed.mean() / 0.94)
    assert table.loc["sum", "top10_auc_mean"] == pytest.approx(summary["top10_auc"].groupby(summary.task).mean().sum())

    # Pretend logp s1 was interrupted: only it is redone, and the partial folder is kept aside.
    marker = out / "logp" / "s1" / "summary.json"
    data = json.loads(marker.read_text())
    marker.write_text(json.dumps({**data, "status": "interrupted"}))
    redone = []
    again = run_benchmark(
        ["qed", "logp"], [0, 1], out, config=config, on_done=lambda t, s, r: redone.append(r is not None)
    )
    assert redone == [False, False, False, True]
    assert (out / "logp" / "s1.interrupted").exists()
    pd.testing.assert_frame_equal(
        again.drop(columns=["wall_s", "oracle_s"]), summary.drop(columns=["wall_s", "oracle_s"])
    )

    with pytest.raises(ConfigError, match=r"holds a benchmark run with budget=150, not 200"):
        run_benchmark(["qed"], [0], out, config=config.replace(budget=200))


def test_parallel_jobs_equal_serial_runs(tmp_path):
    config = Config(budget=120, population=20, offspring=20, workers=1, llm="none")
    serial = run_benchmark(["qed", "sa"], [3], tmp_path / "a", config=config)
    parallel = run_benchmark(["qed", "sa"], [3], tmp_path / "b", config=config, jobs=2)
    for task in ("qed", "sa"):
        a = (tmp_path / "a" / task / "s3" / "evaluations.csv").read_text()
        assert a == (tmp_path / "b" / task / "s3" / "evaluations.csv").read_text()
    assert serial["top10_auc"].tolist() == parallel["top10_auc"].tolist()


def test_shipped_reference_tables():
    for name in ("pmo_graph_ga", "pmo_reinvent"):
        ref = load_reference(f"benchmarks/reference/{name}.csv")
        assert len(ref) == 23
    assert load_reference("benchmarks/reference/pmo_graph_ga.csv")["qed"] == 0.940


def test_cli_benchmark_prints_the_table(tmp_path, capsys):
    args = ["benchmark", "--tasks", "qed", "--seeds", "0,1", "--budget", "120", "--population", "20", "--llm", "none"]
    ref = "benchmarks/reference/pmo_graph_ga.csv"
    assert main([*args, "--workers", "1", "--out", str(tmp_path / "b"), "--compare", ref]) == 0
    text = capsys.readouterr().out
    assert "Top-10 AUC" in text and "sum" in text and "0.940" in text
    assert main([*args, "--seeds", "0,x", "--out", str(tmp_path / "c")]) == 2
    assert "'x' is not an integer" in capsys.readouterr().err


@pytest.mark.slow  # run by .ci/run after the default suite (pytest -m slow): the default suite keeps under 10 minutes
def test_interrupted_benchmark_keeps_finished_runs_and_resumes(tmp_path):
    out = tmp_path / "bench"
    cmd = [
        sys.executable,
        "-m",
        "llmga",
        "benchmark",
        "--tasks",
        "qed,logp",
        "--seeds",
        "0,1",
        "--budget",
        "800",
        "--population",
        "40",
        "--workers",
        "1",
        "--llm",
        "none",  # what is tested is the benchmark's interruption, not the operators
        "--out",
        str(out),
    ]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 120
    while time.time() < deadline and not (out / "qed" / "s0" / "summary.json").exists():
        time.sleep(0.2)
    time.sleep(0.3)  # now inside the second run
    # A Ctrl-C that lands inside one of RDKit's substructure searches is consumed by RDKit
    # (see llmga/_signals.py); like a user, press again until the benchmark stops. Press often: the
    # remaining runs take only seconds, and a second press stops at once (also with 130).
    for _ in range(60):
        proc.send_signal(signal.SIGINT)
        try:
            _, err = proc.communicate(timeout=0.5)  # a generation ends, then the run stops
            break
        except subprocess.TimeoutExpired:
            continue
    assert proc.returncode == 130, err
    finished = pd.read_csv(out / "summary.csv")
    assert finished[["task", "seed"]].values.tolist()[0] == ["qed", 0]
    assert len(finished) < 4
    resumed = subprocess.run(cmd, capture_output=True, text=True, timeout=300, env=os.environ, check=False)
    assert resumed.returncode == 0, resumed.stderr
    assert "qed s0: already finished, skipped" in resumed.stdout
    assert len(pd.read_csv(out / "summary.csv")) == 4


def test_the_benchmark_budget_is_pmo_s_in_the_library_and_the_cli():
    from llmga.benchmark import benchmark_config
    from llmga.cli import build_parser

    assert benchmark_config().budget == 10_000 and benchmark_config(budget=300, seed=2).budget == 300
    help_text = build_parser()._subparsers._group_actions[0].choices["benchmark"].format_help()
    assert "(default: 10000)" in " ".join(help_text.split())


def test_run_phases_say_where_a_runs_time_went_what_its_model_wrote_and_how_alike_its_best_are(tmp_path, tiny_lm_dir):
    small = {"budget": 80, "population": 20, "offspring": 20, "workers": 1, "seed": 0}
    with_model = llmga.optimize("qed", llm=f"lm:{tiny_lm_dir}", out=str(tmp_path / "lm"), **small)
    phases = run_phases(tmp_path / "lm", "maximize")
    calls = with_model.llm_calls
    learnt = calls[calls["operator"] == "lm_learn"]["latency_s"].sum()
    assert phases["learn_s"] == pytest.approx(learnt, abs=0.05) and phases["learn_s"] > 0
    assert phases["propose_s"] > 0
    written = calls[calls["operator"].isin(["lm_mutation", "lm_denovo"])]
    assert phases["lm_valid"] == pytest.approx(written["valid"].sum() / written["asked"].sum(), abs=1e-3)
    assert 0 < phases["top100_similarity"] < 1
    llmga.optimize("qed", llm="none", out=str(tmp_path / "ga"), **small)
    plain = run_phases(tmp_path / "ga", "maximize")
    assert plain["learn_s"] is None and plain["propose_s"] is None and plain["lm_valid"] is None
    assert 0 < plain["top100_similarity"] < 1
    assert run_phases(tmp_path / "nothing", "maximize") == dict.fromkeys(plain, None)


def test_a_setting_added_since_a_folder_was_recorded_reads_as_its_default(tmp_path):
    from llmga.benchmark import _SETTINGS_FILE, check_settings

    config = Config(budget=150, llm="none")
    check_settings(tmp_path, config)
    record = json.loads((tmp_path / _SETTINGS_FILE).read_text())
    del record["share_credit"]  # a folder written before --share-credit existed
    (tmp_path / _SETTINGS_FILE).write_text(json.dumps(record))
    check_settings(tmp_path, config)  # its runs credited by survival, the default: the same settings
    with pytest.raises(ConfigError, match=r"share_credit='survival', not 'rank'"):
        check_settings(tmp_path, config.replace(share_credit="rank"))
