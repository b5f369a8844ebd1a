from __future__ import annotations

import dataclasses
import importlib.util
import json
import os
import signal
import subprocess
import sys
import time

import pytest

import llmga
from llmga.cli import NOT_CONFIG, build_parser, main
from llmga.config import Config


def test_every_config_field_is_a_flag_and_help_is_complete(capsys):
    with pytest.raises(SystemExit):
        main(["optimize", "--help"])
    text = capsys.readouterr().out
    for field in dataclasses.fields(Config):
        assert "--" + field.name.replace("_", "-") in text
    assert "--quiet" in text


def test_flags_map_one_to_one_onto_config():
    args = build_parser().parse_args(
        ["optimize", "--objective", "qed", "--budget", "50", "--mutation-rate", "0.2", "--max-generations", "3"]
    )
    options = {k: v for k, v in vars(args).items() if k not in NOT_CONFIG}
    assert Config(**options) == Config(objective="qed", budget=50, mutation_rate=0.2, max_generations=3)


def test_a_campaign_file_sets_the_run_and_flags_override_it(tmp_path, capsys):
    import json

    campaign = tmp_path / "campaign.toml"
    campaign.write_text(
        'budget = 60\nseed = 4\nllm = "none"\nlm-keep = 0.8\npatience = 0\n'
        '[objective]\nname = "similarity"\ntarget = "CC(=O)Oc1ccccc1C(=O)O"\n'
    )
    out = tmp_path / "run"
    assert main(["optimize", "--config", str(campaign), "--seed", "5", "--quiet", "--out", str(out)]) == 0
    saved = json.loads((out / "config.json").read_text())
    assert saved["budget"] == 60 and saved["llm"] == "none" and saved["lm_keep"] == 0.8
    assert saved["seed"] == 5  # the flag wins over the file
    assert saved["objective"] == "similarity(target='CC(=O)Oc1ccccc1C(=O)O')"
    assert json.loads((out / "summary.json").read_text())["calls"] == 60


def test_the_shipped_campaign_example_reads(tmp_path):
    from pathlib import Path

    from llmga.config import read_campaign

    options = read_campaign(Path(__file__).parent.parent / "examples" / "campaign.toml")
    config = Config(**options)
    assert config.objective.startswith("similarity(target=") and config.budget == 3000


def test_optimize_end_to_end(tmp_path, capsys):
    out = tmp_path / "run"
    code = main(
        ["optimize", "--objective", "logp", "--budget", "150", "--population", "20", "--seed", "0", "--no-lm-learn",
         "--out", str(out)]
    )
    assert code == 0
    text = capsys.readouterr().out
    assert "Top-10 AUC" in text and "Top molecules" in text
    flat = "".join(ch for ch in text if ch not in " \n│")
    assert str(out).replace(" ", "") in flat
    best = llmga.load(out).best(1)["smiles"].iloc[0]
    assert best[:20] in flat
    tables = text[text.index("Top molecules") :]  # (the progress bar above may be cut to the terminal's width)
    assert "…" not in tables  # SMILES are folded onto more lines, never cut short
    config = json.loads((out / "config.json").read_text())
    assert config["budget"] == 150 and config["population"] == 20


def test_quiet_prints_one_line(tmp_path, capsys):
    assert main(["optimize", "--objective", "qed", "--budget", "40", "--quiet", "--out", str(tmp_path / "r")]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 1 and "top-10 AUC" in lines[0]


def test_objectives_lists_names_and_descriptions(capsys):
    assert main(["objectives"]) == 0
    text = capsys.readouterr().out
    for name in ("logp", "qed", "sa", "plogp", "mw", "tpsa", "similarity"):
        assert name in text
    assert "Synthetic accessibility" in text


@pytest.mark.parametrize(
    ("argv", "code", "message"),
    [
        (["--objective", "lgop"], 1, "unknown objective 'lgop'; did you mean 'logp'"),
        (["--budget", "0"], 2, "--budget 0 is not valid"),
        (["--population", "1"], 2, "--population 1 is not valid"),
        (["--objective", "missing.py:f"], 1, "objective file 'missing.py' does not exist"),
        (["--objective", "no_such_module:f"], 1, "cannot import module 'no_such_module'"),
        (["--init", "nope.smi"], 1, "init file 'nope.smi' does not exist"),
    ],
)
def test_bad_input_exits_non_zero_with_a_clear_message(tmp_path, capsys, argv, code, message):
    assert main(["optimize", *argv, "--out", str(tmp_path / "r")]) == code
    err = capsys.readouterr().err
    assert message in " ".join(err.split())
    assert not (tmp_path / "r").exists()


def test_init_file_warning_is_shown(tmp_path, capsys, init_file):
    bad = tmp_path / "mixed.smi"
    bad.write_text(init_file.read_text() + "garbage\n")
    args = ["optimize", "--init", str(bad), "--budget", "20", "--llm", "none", "--quiet", "--out", str(tmp_path / "r")]
    assert main(args) == 0
    assert "skipped 1 invalid SMILES on line(s) 9" in capsys.readouterr().err


def test_console_script_is_installed():
    proc = subprocess.run([sys.executable, "-m", "llmga", "--help"], capture_output=True, text=True, check=False)
    assert proc.returncode == 0 and "optimize" in proc.stdout


@pytest.mark.slow
def test_default_logp_run_goes_far_beyond_the_initial_population(tmp_path):
    """The README's main job: `llmga optimize --objective logp --seed 0` with default settings."""
    out = tmp_path / "run"
    assert main(["optimize", "--objective", "logp", "--seed", "0", "--quiet", "--out", str(out)]) == 0
    result = llmga.load(out)
    assert result.summary["calls"] == Config().budget
    assert result.best_score > result.summary["init_best"] + 4.0


@pytest.mark.slow  # run by .ci/run after the default suite; tests/store/test_resume.py compares runs across processes
def test_same_seed_is_identical_across_processes(tmp_path):
    """Reproducible by seed even with different hash seeds (no reliance on set/dict hash order)."""
    outputs = []
    for hash_seed in ("1", "2"):
        out = tmp_path / f"run{hash_seed}"
        cmd = [sys.executable, "-m", "llmga", "optimize", "--objective", "qed", "--budget", "150", "--seed", "5"]
        env = {**os.environ, "PYTHONHASHSEED": hash_seed}
        proc = subprocess.run(
            [*cmd, "--quiet", "--out", str(out)], capture_output=True, text=True, env=env, check=False
        )
        assert proc.returncode == 0, proc.stderr
        outputs.append((out / "evaluations.csv").read_text())
    assert outputs[0] == outputs[1]


def _generations(out):
    """Generations committed to a run's store so far (0 before it exists)."""
    from llmga.store import RunStore

    if not RunStore.exists(out):
        return 0
    store = RunStore.open(out)
    try:
        return store.count("generations")
    finally:
        store.close()


@pytest.mark.slow  # run by .ci/run after the default suite (pytest -m slow): the default suite keeps under 10 minutes
def test_sigterm_stops_a_run_cleanly_between_generations(tmp_path):
    out = tmp_path / "run"
    cmd = [sys.executable, "-m", "llmga", "optimize", "--objective", "qed", "--budget", "100000", "--patience", "0"]
    proc = subprocess.Popen([*cmd, "--workers", "1", "--quiet", "--out", str(out)], stdout=subprocess.PIPE, text=True)
    deadline = time.time() + 60
    while time.time() < deadline and not _generations(out):
        time.sleep(0.1)
    time.sleep(0.5)
    proc.send_signal(signal.SIGTERM)
    stdout, _ = proc.communicate(timeout=60)
    assert proc.returncode == 130
    assert "interrupted after" in stdout
    result = llmga.load(out)
    assert result.summary["status"] == "interrupted" and result.summary["stop_reason"] == "interrupted"
    assert len(result.evaluations) == result.summary["calls"] == result.history["calls"].iloc[-1]


def test_log_json_prints_one_json_line_per_generation_and_a_final_one(tmp_path, capsys):
    out = tmp_path / "run"
    args = ["optimize", "--objective", "qed", "--budget", "120", "--population", "30", "--offspring", "30"]
    assert main([*args, "--workers", "1", "--no-lm-learn", "--log-json", "--out", str(out)]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    generations = [line for line in lines if line["event"] == "generation"]
    assert [g["gen"] for g in generations] == list(range(len(generations))) and generations[-1]["calls"] == 120
    assert generations[-1]["llm_calls"] > 0 and generations[-1]["llm_tokens"] > 0  # the embedded model's calls
    assert lines[-1]["event"] == "finished" and lines[-1]["calls"] == 120 and lines[-1]["run"] == str(out)


def test_the_progress_bar_counts_language_model_calls_and_tokens():
    from rich.progress import Progress

    from llmga.cli import _ProgressObserver

    observer = _ProgressObserver(Progress(), 100)
    observer.on_llm_call({"tokens_in": 30, "tokens_out": 12})
    observer.on_llm_call({"tokens_in": 5, "tokens_out": 0})
    fields = observer.progress.tasks[0].fields
    assert fields["llm"] == "  LLM 2 calls 47 tokens"


def test_version_prints_the_installed_version(capsys):
    with pytest.raises(SystemExit) as stop:
        main(["--version"])
    assert stop.value.code == 0
    assert capsys.readouterr().out.strip() == f"llmga {llmga.__version__}"
    assert llmga.__version__ and llmga.__version__[0].isdigit()


def test_install_hints_keep_their_extra(tmp_path, capsys):
    # Without vLLM installed, the hint names the extra; rich must not eat '[vllm]' as a style tag.
    pytest.importorskip("rich")
    if importlib.util.find_spec("vllm") is not None:
        pytest.skip("vLLM is installed here")
    assert main(["optimize", "--llm", "vllm:some/model", "--out", str(tmp_path / "r")]) == 1
    err = " ".join(capsys.readouterr().err.split())
    assert "pip install 'llmga[vllm]'" in err


def test_bracket_atoms_are_printed_verbatim_in_the_top_molecules_table(tmp_path, capsys):
    init = tmp_path / "init.smi"
    # pyrrole and pyridinium: lower-case bracket atoms look like rich style tags ([nH], [n+])
    init.write_text("c1cc[nH]c1\nC[n+]1ccccc1\nCc1cc[nH]c1C\n")
    out = tmp_path / "r"
    args = ["optimize", "--objective", "qed", "--init", str(init), "--budget", "3", "--population", "3"]
    assert main([*args, "--llm", "none", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    for smiles in ("c1cc[nH]c1", "C[n+]1ccccc1", "Cc1cc[nH]c1C"):
        assert smiles in text
