"""Runs with a language model, end to end, on the in-memory replay backend."""

from __future__ import annotations

import json
import sqlite3
import time

import pandas as pd
import pytest

import llmga
from llmga.backends import BackendError
from llmga.cli import main
from llmga.data import zinc250k
from llmga.errors import ConfigError
from llmga.store import LLM_CALL_COLUMNS

REPLIES = """<smiles>CC(C)(C)c1ccc2occ(CC(=O)Nc3ccccc3Cl)c2c1</smiles>
<smiles>CCOC(=O)c1ccc(NC(=O)c2ccccc2)cc1</smiles>
---
Here you go: <smiles>COc1ccc(CC(=O)Nc2ccc(F)cc2)cc1</smiles> and <smiles>not-a-smiles</smiles>
---
I am sorry, I cannot do that.
"""


@pytest.fixture
def replies(tmp_path):
    path = tmp_path / "replies.txt"
    path.write_text(REPLIES)
    return path


def test_replay_run_logs_every_call_and_accounts_for_it(tmp_path, replies):
    out = tmp_path / "run"
    result = llmga.optimize("qed", budget=250, llm=f"replay:{replies}", out=str(out), workers=1, seed=1)
    calls = pd.read_csv(out / "llm_calls.csv", keep_default_na=False)
    assert list(calls.columns) == list(LLM_CALL_COLUMNS)
    assert {"prompt", "reply", "tokens_in", "tokens_out", "latency_s", "parents"} <= set(calls.columns)
    assert set(calls["operator"]) == {"llm_crossover", "llm_mutation"}
    assert (calls["backend"] == "replay").all() and calls["prompt"].str.contains("QED").all()
    s = result.summary
    assert s["llm_calls"] == len(calls)
    assert s["llm_tokens_in"] == calls["tokens_in"].sum() and s["llm_tokens_out"] == calls["tokens_out"].sum()
    assert s["llm_validity"] == pytest.approx(calls["valid"].sum() / calls["parsed"].sum())
    ops = set(result.evaluations["operator"])
    assert {"llm_crossover", "graph_crossover(fallback)"} & ops
    run = json.loads((out / "run.json").read_text())
    kinds = [(r["crossover"] or r["mutation"])["name"] for r in run["recipes"]]
    assert kinds == ["graph_crossover", "graph_mutation", "llm_crossover", "llm_mutation"]
    # the graph GA's half: crossover, and mutation alone for a tenth of it (--mutation-only 0.1)
    assert [r["share"] for r in run["recipes"]] == [0.45, 0.05, 0.25, 0.25]


def test_llm_token_budget_stops_the_run_and_says_so(tmp_path, replies):
    result = llmga.optimize(
        "qed", budget=5000, llm=f"replay:{replies}", max_llm_tokens=500, out=str(tmp_path / "r"), workers=1
    )
    assert result.summary["stop_reason"] == "max_llm_tokens" and result.summary["status"] == "finished"
    assert result.summary["llm_tokens_in"] + result.summary["llm_tokens_out"] >= 500
    assert result.summary["calls"] < 5000


def test_cost_accounting_and_cost_budget(tmp_path, replies):
    result = llmga.optimize(
        "qed",
        budget=5000,
        llm=f"replay:{replies}",
        price_in=2.0,
        price_out=8.0,
        max_cost=0.001,
        out=str(tmp_path / "r"),
        workers=1,
    )
    s = result.summary
    assert s["stop_reason"] == "max_cost"
    assert s["llm_cost_usd"] == pytest.approx((s["llm_tokens_in"] * 2.0 + s["llm_tokens_out"] * 8.0) / 1e6)
    with pytest.raises(ConfigError, match=r"--max-cost .* give both"):
        llmga.optimize("qed", llm=f"replay:{replies}", max_cost=1.0, out=str(tmp_path / "x"))


def test_bad_llm_specs_fail_before_any_oracle_call(tmp_path, replies):
    with pytest.raises(BackendError, match=r"unknown backend 'gpt'; use one of: none, embedded, lm:DIR, openai:MODEL"):
        llmga.optimize("qed", llm="gpt:4", out=str(tmp_path / "a"))
    with pytest.raises(BackendError, match=r"replay file 'nope\.txt' does not exist"):
        llmga.optimize("qed", llm="replay:nope.txt", out=str(tmp_path / "b"))
    with pytest.raises(ConfigError, match=r"--prompt-dir '.*missing' is not a folder"):
        llmga.optimize("qed", llm=f"replay:{replies}", prompt_dir=str(tmp_path / "missing"), out=str(tmp_path / "c"))
    with pytest.raises(ConfigError, match=r"--llm-share 2.0 is not valid"):
        llmga.optimize("qed", llm=f"replay:{replies}", llm_share=2.0, out=str(tmp_path / "d"))
    assert not any((tmp_path / name).exists() for name in "abcd")


def test_cli_run_with_a_language_model(tmp_path, replies, capsys):
    out = tmp_path / "run"
    args = ["optimize", "--objective", "qed", "--budget", "200", "--llm", f"replay:{replies}"]
    assert main([*args, "--llm-share", "1.0", "--children-per-call", "2", "--workers", "1", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "LLM calls / tokens" in text and "LLM share of survivors" in text
    config = json.loads((out / "config.json").read_text())
    assert config["llm"] == f"replay:{replies}" and config["children_per_call"] == 2
    assert main(["optimize", "--llm", "bogus", "--out", str(tmp_path / "x")]) == 1
    assert "use one of: none, embedded, lm:DIR, openai:MODEL" in " ".join(capsys.readouterr().err.split())


def test_describe_overrides_the_card_in_prompts(tmp_path, replies):
    out = tmp_path / "run"
    llmga.optimize(
        "qed", budget=140, llm=f"replay:{replies}", describe="Reward small basic amines.", out=str(out), workers=1
    )
    prompts = pd.read_csv(out / "llm_calls.csv")["prompt"]
    assert prompts.str.contains("Reward small basic amines.").all()


def test_selfies_models_get_selfies_parents_and_their_replies_are_decoded(tmp_path):
    selfies = pytest.importorskip("selfies")
    kids = ["CC(C)(C)c1ccc2occ(CC(=O)Nc3ccccc3Cl)c2c1", "CCOC(=O)c1ccc(NC(=O)c2ccccc2)cc1"]
    path = tmp_path / "selfies_replies.txt"
    path.write_text("\n---\n".join(selfies.encoder(k) for k in kids))
    out = tmp_path / "run"
    result = llmga.optimize(
        "qed",
        budget=140,
        llm=f"replay:{path}",
        prompt_style="plain",
        selfies=True,
        llm_share=1.0,
        llm_operators="mutation",
        out=str(out),
        workers=1,
    )
    calls = pd.read_csv(out / "llm_calls.csv")
    assert calls["prompt"].str.startswith("[").all()  # parents shown as SELFIES
    assert calls["valid"].sum() > 0
    assert "llm_mutation" in set(result.evaluations["operator"])


def test_experience_memo_is_written_stored_and_used_in_prompts(tmp_path):
    memo = "- amide linkers between two aryl rings score best\n- avoid charged groups"
    replies = tmp_path / "replies.txt"
    replies.write_text(f"<smiles>CCOC(=O)c1ccc(NC(=O)c2ccccc2)cc1</smiles>\n---\n{memo}")
    out = tmp_path / "run"
    llmga.optimize(
        "qed",
        budget=400,
        max_generations=4,
        llm=f"replay:{replies}",
        memo_every=2,
        memo_probability=1.0,
        out=str(out),
        workers=1,
    )
    calls = pd.read_csv(out / "llm_calls.csv", keep_default_na=False)
    memos = calls[calls["operator"] == "llm_memo"]
    assert memos["generation"].tolist() == [2, 4]  # every 2 generations, once per generation
    assert memos["template"].eq("memo").all() and memos["prompt"].str.contains("best molecules found so far").all()
    # From the generation of each memo on, every prompt carries that memo (probability 1).
    ops = calls[calls["operator"] != "llm_memo"]
    for gen, reply in zip(memos["generation"], memos["reply"], strict=True):
        used = ops[ops["generation"].between(gen, gen + 1)]["prompt"]
        assert reply and len(used) > 0
        assert used.str.contains("Lessons from earlier generations:\n" + reply.splitlines()[0], regex=False).all()
    assert not ops[ops["generation"] < 2]["prompt"].str.contains("Lessons", regex=False).any()
    assert memo in memos["reply"].tolist()  # the memo is stored in the run


def test_run_with_an_embedded_model_folder(tmp_path, tiny_lm_dir, capsys):
    out = tmp_path / "run"
    code = main(
        ["optimize", "--objective", "qed", "--budget", "200", "--llm", f"lm:{tiny_lm_dir}", "--llm-share", "0.5",
         "--lm-keep", "0.6", "--workers", "1", "--out", str(out), "--quiet"]
    )  # fmt: skip
    assert code == 0
    evaluations = pd.read_csv(out / "evaluations.csv")
    assert (evaluations["operator"] == "lm_mutation").sum() >= 10
    assert evaluations["operator"].str.startswith("lm_crossover").sum() >= 10
    calls = pd.read_csv(out / "llm_calls.csv", keep_default_na=False)
    assert {"lm_mutation", "lm_crossover"} <= set(calls["operator"]) and (calls["backend"] == "embedded").all()
    assert {"lm_denovo", "lm_learn"} <= set(calls["operator"])  # it writes from nothing and learns too
    run = json.loads((out / "run.json").read_text())
    ops = {(r["crossover"] or r["mutation"])["name"]: r for r in run["recipes"]}
    assert list(ops) == ["graph_crossover", "graph_mutation", "lm_crossover", "lm_mutation", "lm_denovo"]
    assert ops["lm_mutation"]["mutation"]["keep"] == 0.6 and ops["lm_denovo"]["crossover"]["policy"]["steps"] == 2
    shares = json.loads((out / "summary.json").read_text())["operator_shares"]
    assert set(shares) == {
        "graph_crossover+graph_mutation", "graph_mutation", "lm_crossover+graph_mutation", "lm_mutation", "lm_denovo"
    }  # fmt: skip
    assert sum(s["final"] for s in shares.values()) == pytest.approx(1.0, abs=1e-3)  # each rounded to 4 places
    assert ops["lm_mutation"]["share"] == pytest.approx(0.5 / 3)  # the model's half, split three ways at the start
    assert "share:lm_denovo" in pd.read_csv(out / "generations.csv").columns
    again = tmp_path / "again"
    llmga.optimize("qed", budget=200, llm=f"lm:{tiny_lm_dir}", lm_keep=0.6, llm_share=0.5, workers=1, out=str(again))
    assert pd.read_csv(again / "evaluations.csv")["smiles"].tolist() == evaluations["smiles"].tolist()


def test_embedded_model_errors_name_the_fix(tmp_path):
    with pytest.raises(llmga.LLMGAError, match="no language model in"):
        llmga.optimize("qed", budget=50, llm=f"lm:{tmp_path}", out=str(tmp_path / "b"))
    assert not (tmp_path / "b" / "evaluations.csv").exists()


@pytest.mark.slow  # run by .ci/run after the default suite (pytest -m slow): the default suite keeps under 10 minutes
def test_embedded_model_is_fine_tuned_when_the_run_stalls(tmp_path, tiny_lm_dir):
    out = tmp_path / "run"
    llmga.optimize(
        "qed", budget=800, llm=f"lm:{tiny_lm_dir}", lm_finetune=True, lm_finetune_patience=1, lm_finetune_steps=2,
        lm_learn=False, share_floor=0.1, max_generations=10, workers=1, out=str(out), seed=2,
    )  # fmt: skip
    calls = pd.read_csv(out / "llm_calls.csv", keep_default_na=False)
    tunes = [json.loads(r) for r in calls[calls["operator"] == "lm_finetune"]["reply"]]
    ran = [r for r in tunes if not r["skipped"]]
    assert ran and all(r["steps"] == 2 and r["tokens"] > 0 for r in ran)
    # Early on the model has proposed too little for a fine-tune to fit its share of the work.
    assert all("of the model's work" in r["skipped"] for r in tunes if r["skipped"])
    first_lm = json.loads((out / "run.json").read_text())["recipes"][2]["crossover"]
    assert first_lm["name"] == "lm_crossover" and first_lm["finetune"]["steps"] == 2
    quiet = tmp_path / "quiet"
    llmga.optimize(
        "qed", budget=400, llm=f"lm:{tiny_lm_dir}", lm_finetune_patience=1, lm_learn=False, max_generations=6,
        workers=1, out=str(quiet), seed=2,
    )  # fmt: skip
    assert "lm_finetune" not in set(pd.read_csv(quiet / "llm_calls.csv")["operator"])


def test_a_bare_run_uses_the_shipped_model_beside_the_graph_ga(tmp_path):
    out = tmp_path / "bare"
    assert main(["optimize", "--objective", "qed", "--budget", "300", "--seed", "0", "--out", str(out), "--quiet"]) == 0
    config = json.loads((out / "config.json").read_text())
    assert config["llm"] == "embedded" and config["adaptive"] and config["lm_learn"] and not config["lm_finetune"]
    children = pd.read_csv(out / "evaluations.csv").query("generation > 0")
    by_model = children["operator"].str.startswith("lm_")
    assert by_model.mean() > 0.3  # a clear share of what was scored came from the model
    assert {"lm_mutation", "lm_crossover+graph_mutation"} & set(children["operator"])
    assert "lm_denovo" in set(children["operator"])
    calls = pd.read_csv(out / "llm_calls.csv", keep_default_na=False)
    assert calls["model"].str.endswith("data/lm").all()
    # it learns from the initial population and then from every generation
    assert (calls["operator"] == "lm_learn").sum() == children["generation"].nunique() + 1


def test_a_model_trained_without_crossover_examples_mutates_only(tmp_path):
    from llmga.lm import TrainSettings, train_lm

    data = tmp_path / "d.smi"
    data.write_text("\n".join(zinc250k()[:100]) + "\n")
    plain = train_lm(
        TrainSettings(
            out=str(tmp_path / "plain"), data=str(data), steps=3, batch_size=8, n_layer=1, n_embd=16, n_head=2,
            n_positions=96, quality_samples=5, threads=1, crossover_share=0.0,
        )
    ).out  # fmt: skip
    out = tmp_path / "run"
    llmga.optimize("qed", budget=150, llm=f"lm:{plain}", workers=1, out=str(out))
    assert set(pd.read_csv(out / "llm_calls.csv")["operator"]) <= {"lm_mutation", "lm_denovo", "lm_learn"}
    with pytest.raises(llmga.LLMGAError, match="trained without crossover examples"):
        llmga.optimize("qed", budget=50, llm=f"lm:{plain}", llm_operators="crossover", out=str(tmp_path / "x"))


# ------------------------------------------------------------------ issue 16: servers that fail, in whole runs
@pytest.fixture
def server(monkeypatch):
    pytest.importorskip("openai")
    from tests.backends.fake_openai_server import FakeServer

    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-runs")
    with FakeServer() as s:
        yield s


SMALL = ["--objective", "qed", "--budget", "150", "--population", "20", "--offspring", "20", "--workers", "1"]


def _cli(server, model, out, *extra):
    return main(["optimize", *SMALL, "--llm", f"openai:{model}", "--base-url", server.url, "--out", str(out), *extra])


def test_a_request_the_server_can_never_accept_stops_the_run_before_any_oracle_call(server, tmp_path, capsys):
    out = tmp_path / "run"
    assert _cli(server, "temperature-1", out, "--temperature", "0.7", "--quiet") == 1
    err = " ".join(capsys.readouterr().err.split())
    assert "Only the default (1) value is supported" in err and "--temperature 1" in err
    assert len(server.requests) == 1 and not out.exists()  # the preflight, then nothing


def test_a_reasoning_model_that_rejects_max_tokens_is_adapted_to_not_run_as_graph_ga(server, tmp_path):
    out = tmp_path / "run"
    assert _cli(server, "o3-mini", out, "--quiet") == 0
    s = json.loads((out / "summary.json").read_text())
    assert s["llm_errors"] == 0 and s["llm_failures"] == {} and s["llm_children_new"] > 0
    assert sum("max_tokens" in r for r in server.requests) == 1  # rejected once, at the preflight
    calls = pd.read_csv(out / "llm_calls.csv", keep_default_na=False)
    assert (calls["finish_reason"] == "stop").all() and (calls["error_kind"] == "").all()
    # Without room to think the replies are cut: counted, and the run fails loudly instead of exiting 0.
    starved = tmp_path / "starved"
    assert _cli(server, "o3-mini", starved, "--reasoning-tokens", "0", "--max-new-tokens", "32", "--quiet") == 1
    s = json.loads((starved / "summary.json").read_text())
    assert s["status"] == "finished" and s["llm_failures"] == {"length": s["llm_calls"]}
    assert s["llm_truncated"] == s["llm_calls"] and s["llm_failed_share"] == 1.0


def test_a_run_where_most_llm_calls_fail_ends_with_an_error_unless_allowed(server, tmp_path, capsys):
    out = tmp_path / "run"
    assert _cli(server, "busy", out, "--llm-retries", "0", "--quiet") == 1
    s = json.loads((out / "summary.json").read_text())
    assert s["status"] == "finished" and s["calls"] == 150  # everything was scored and kept ...
    assert s["llm_failures"] == {"server_error": s["llm_calls"]} and s["llm_errors"] == s["llm_calls"] > 0
    err = " ".join(capsys.readouterr().err.split())
    assert "warning: the preflight request" in err and "503" in err  # transient: the run started
    assert f"error: {s['llm_calls']} of {s['llm_calls']} LLM calls failed (server_error {s['llm_calls']})" in err
    assert "--allow-llm-failures" in err
    allowed = tmp_path / "allowed"
    assert _cli(server, "busy", allowed, "--llm-retries", "0", "--allow-llm-failures", "--quiet") == 0
    err = " ".join(capsys.readouterr().err.split())
    assert "LLM calls failed (server_error" in err and "graph GA made those children" in err
    calls = pd.read_csv(allowed / "llm_calls.csv", keep_default_na=False)
    assert (calls["error_kind"] == "server_error").all() and calls["error"].str.contains("503").all()


def test_a_model_withdrawn_mid_run_stops_it_and_the_run_resumes_once_it_is_back(server, tmp_path):
    out = tmp_path / "run"

    class Withdraw:
        def on_llm_call(self, record):
            server.force = (404, "The model `ok` does not exist or you do not have access to it.")

    options = {"budget": 150, "population": 20, "offspring": 20, "workers": 1, "llm": "openai:ok"}
    options["base_url"] = server.url
    with pytest.raises(BackendError, match=r"not found .*HTTP 404.*does not exist"):
        llmga.optimize("qed", out=str(out), observers=[Withdraw()], **options)
    assert json.loads((out / "summary.json").read_text())["status"] == "failed"
    server.force = None
    resumed = llmga.resume(out)
    assert resumed.summary["status"] == "finished" and resumed.summary["calls"] == 150


def test_huge_replies_are_stored_truncated_and_a_resumed_run_replays_them_identically(server, tmp_path):
    server.huge_chars = 1_000_000
    options = {"budget": 150, "population": 20, "offspring": 20, "workers": 1, "seed": 4, "llm": "openai:huge",
               "base_url": server.url, "llm_share": 0.6}  # fmt: skip
    whole = llmga.optimize("qed", out=str(tmp_path / "whole"), **options)
    replies = len([r for r in server.requests if r["max_tokens"] != 8])
    assert replies >= 4  # every one of them 1 MB
    store = tmp_path / "whole" / "run.sqlite"
    assert store.stat().st_size < replies * 60_000  # not replies x 1 MB
    with sqlite3.connect(store) as conn:
        ((longest,),) = conn.execute("SELECT max(length(completion)) FROM completions").fetchall()
    assert longest < 21_000
    calls = whole.llm_calls
    assert (calls["reply_chars"] > 1_000_000).all() and calls["reply"].str.len().max() < 20_100
    generations = iter(range(100))
    part = llmga.optimize("qed", out=str(tmp_path / "part"), stop=lambda: next(generations) >= 1, **options)
    assert part.summary["status"] == "interrupted"
    resumed = llmga.resume(tmp_path / "part")
    assert resumed.evaluations.values.tolist() == whole.evaluations.values.tolist()
    assert resumed.summary["llm_calls"] == whole.summary["llm_calls"]


def test_a_slow_server_is_bounded_by_the_timeout_and_each_generations_deadline(server, tmp_path):
    server.delay = 0.3
    out = tmp_path / "run"
    began = time.monotonic()
    code = _cli(
        server, "delay", out, "--llm-deadline", "0.5", "--llm-concurrency", "1", "--llm-timeout", "5",
        "--allow-llm-failures", "--max-generations", "3", "--quiet",
    )  # fmt: skip
    assert code == 0
    s = json.loads((out / "summary.json").read_text())
    assert s["generations"] == 3 and s["llm_failures"]["deadline"] > 0
    assert time.monotonic() - began < 3 * (0.5 + 0.3) + 6  # not one 0.3 s request after another for every prompt
    calls = pd.read_csv(out / "llm_calls.csv", keep_default_na=False)
    answered = calls[calls["error_kind"] == ""]
    assert len(answered) >= 3 and (calls[calls["error_kind"] == "deadline"]["error"].str.startswith("deadline")).all()
    # Each record's time is when its request went out: one after another, 0.3 s apart (one at a time).
    first = calls[calls["generation"] == 1]
    assert first["time"].is_monotonic_increasing and first["time"].iloc[1] - first["time"].iloc[0] >= 0.29


def test_llm_options_are_validated(tmp_path):
    for bad in ({"llm_timeout": 0}, {"llm_retries": -1}, {"llm_deadline": -2.0}, {"reasoning_tokens": -5}):
        with pytest.raises(ConfigError, match=r"--(llm-timeout|llm-retries|llm-deadline|reasoning-tokens) .* valid"):
            llmga.optimize("qed", llm="none", out=str(tmp_path / "x"), **bad)
    with pytest.raises(BackendError, match="--reasoning-effort is sent to OpenAI-compatible servers only"):
        llmga.optimize("qed", llm="replay:x.txt", reasoning_effort="low", out=str(tmp_path / "y"))


@pytest.mark.filterwarnings("ignore:.*LLM deadline passed:RuntimeWarning", "ignore:.*LLM calls failed:RuntimeWarning")
def test_a_run_cut_by_llm_deadlines_resumes_from_its_record(server, tmp_path):
    server.delay = 0.3
    options = {"budget": 150, "population": 20, "offspring": 20, "workers": 1, "seed": 5, "llm": "openai:delay",
               "base_url": server.url, "llm_deadline": 0.5, "llm_concurrency": 1,
               "allow_llm_failures": True}  # fmt: skip
    generations = iter(range(100))
    part = llmga.optimize("qed", out=str(tmp_path / "part"), stop=lambda: next(generations) >= 2, **options)
    assert part.summary["status"] == "interrupted" and part.summary["llm_failures"]["deadline"] > 0
    asked = len(server.requests)
    resumed = llmga.resume(tmp_path / "part")  # replayed replies come at once, so no deadline passes in the replay
    assert resumed.summary["status"] == "finished" and len(server.requests) > asked
    n = len(part.evaluations)
    assert resumed.evaluations.values.tolist()[:n] == part.evaluations.values.tolist()
