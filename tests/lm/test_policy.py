"""The embedded model as a policy that learns from every scored generation (llmga.lm.PolicyTrainer)."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
import torch

import llmga
from llmga.chem import to_mol
from llmga.engine import Evaluation
from llmga.lm import EmbeddedLM, PolicySettings, PolicyTrainer
from tests.conftest import KILLING_QED

FLUORINE = "[#9]"


def _evaluations(smiles, scores, generation=1):
    pairs = enumerate(zip(smiles, scores, strict=True))
    return [Evaluation(i + 1, s, float(v), generation, "x", ()) for i, (s, v) in pairs]


def test_a_training_step_changes_the_weights_and_leaves_the_prior(tiny_lm_dir):
    lm = EmbeddedLM.load(tiny_lm_dir)
    before = {k: v.clone() for k, v in lm.model.state_dict().items()}
    trainer = PolicyTrainer(lm, PolicySettings(steps=1, batch_size=4, replay_rows=2), seed=0)
    record = trainer.learn(_evaluations(["CCO", "c1ccccc1O", "CCN", "CC(=O)O"], [0.1, 0.9, 0.5, 0.3]), 1, "maximize")
    assert record is not None and record["steps"] == 1 and record["tokens"] > 0
    moved = [k for k, v in lm.model.state_dict().items() if not torch.equal(v, before[k])]
    assert moved, "one optimiser step must change the weights"
    for k, v in trainer.prior.state_dict().items():
        assert torch.equal(v, before[k])  # the prior is the starting model, frozen
    assert trainer.learn([], 1, "maximize") is None  # a generation is learnt once, however many operators tell it


def test_a_step_in_length_sorted_chunks_trains_what_one_padded_batch_trains(tiny_lm_dir):
    smiles = ["CCO", "c1ccccc1O", "CCN", "CC(=O)Oc1ccccc1C(=O)O", "CCCCCCCCCC", "CN1C=NC2=C1C(=O)N(C)C(=O)N2C"]
    weights = []
    for chunk in (64, 2):
        lm = EmbeddedLM.load(tiny_lm_dir)
        trainer = PolicyTrainer(lm, PolicySettings(steps=1, batch_size=6, replay_rows=0, chunk=chunk), seed=0)
        record = trainer.learn(_evaluations(smiles, np.linspace(0, 1, 6)), 1, "maximize")
        assert record is not None and record["steps"] == 1
        weights.append((record["loss"], [p.detach().clone() for p in lm.model.parameters()]))
    (loss_whole, whole), (loss_chunked, chunked) = weights
    assert loss_chunked == pytest.approx(loss_whole, rel=1e-4)
    for a, b in zip(whole, chunked, strict=True):
        assert torch.allclose(a, b, atol=1e-5)
    with pytest.raises(ValueError, match="chunk 0"):
        PolicySettings(chunk=0)


def test_reward_is_the_rank_share_among_every_score_seen_for_either_direction(tiny_lm_dir):
    lm = EmbeddedLM.load(tiny_lm_dir)
    up = PolicyTrainer(lm, PolicySettings(steps=0), seed=0)
    up.learn(_evaluations(["CCO", "CCN", "CCC", "CCCl"], [1.0, 2.0, 3.0, float("nan")]), 0, "maximize")
    assert [up.reward(v) for v in (1.0, 2.0, 3.0)] == pytest.approx([1 / 3, 2 / 3, 1.0])
    assert [s for _, s in up._best] == ["CCC", "CCN", "CCO"]  # the replay buffer, best first; NaN left out
    down = PolicyTrainer(lm, PolicySettings(steps=0, replay=2), seed=0)
    down.learn(_evaluations(["CCO", "CCN", "CCC"], [1.0, 2.0, 3.0]), 0, "minimize")
    assert [s for _, s in down._best] == ["CCO", "CCN"]  # the lowest is best, and the buffer keeps 2


def test_a_reward_power_above_1_weighs_the_best_more(tiny_lm_dir):
    lm = EmbeddedLM.load(tiny_lm_dir)
    trainer = PolicyTrainer(lm, PolicySettings(steps=0, power=2.0), seed=0)
    trainer.learn(_evaluations(["CCO", "CCN", "CCC", "CCCC"], [1.0, 2.0, 3.0, 4.0]), 0, "maximize")
    assert [trainer.reward(v) for v in (1.0, 2.0, 4.0)] == pytest.approx([1 / 16, 1 / 4, 1.0])
    with pytest.raises(ValueError, match="power 0"):
        PolicySettings(power=0)


def test_without_ga_children_only_the_models_own_and_the_initial_molecules_are_learnt(tiny_lm_dir):
    lm = EmbeddedLM.load(tiny_lm_dir)
    trainer = PolicyTrainer(lm, PolicySettings(steps=0, ga_children=False), seed=0)
    trainer.learn(_evaluations(["CCO", "CCN"], [0.1, 0.2], generation=0), 0, "maximize")  # initial: learnt
    made = [Evaluation(3, "CCC", 0.9, 1, "graph_ga", ()), Evaluation(4, "CCCl", 0.5, 1, "lm_denovo", ())]
    trainer.learn(made, 1, "maximize")
    assert [s for _, s in trainer._best] == ["CCCl", "CCN", "CCO"]  # the GA's CCC, the best, is left out


def _share_with(lm, n, seed):
    smiles = [e.smiles for e in lm.sample(n, np.random.default_rng(seed))]
    mols = [to_mol(s) if s else None for s in smiles]
    valid = [m for m in mols if m is not None]
    pattern = to_mol("F")
    assert pattern is not None
    hits = sum(m.HasSubstructMatch(pattern) for m in valid)
    return hits / max(1, len(valid)), len(valid) / n


def test_the_policy_learns_to_write_a_rewarded_substructure_and_stays_valid():
    lm = EmbeddedLM.load()  # the shipped model: its own samples are what the policy learns from
    start, _ = _share_with(lm, 200, seed=1)
    trainer = PolicyTrainer(lm, seed=0)
    pattern = to_mol("F")
    rng = np.random.default_rng(0)
    for generation in range(10):
        smiles = [e.smiles for e in lm.sample(64, rng) if e.smiles]
        scores = [float(to_mol(s).HasSubstructMatch(pattern)) + 0.01 * rng.random() for s in smiles]
        trainer.learn(_evaluations(smiles, scores, generation), generation, "maximize")
    end, valid = _share_with(lm, 200, seed=1)
    assert end > start + 0.25, (start, end)  # measured: 0.22 -> 0.62
    assert valid >= 0.8


# ------------------------------------------------------------------ whole runs with the learning policy
SMALL = ["--budget", "220", "--population", "30", "--offspring", "30", "--seed", "3", "--executor", "serial",
         "--workers", "1", "--quiet"]  # fmt: skip


def _optimize(*args, kill_at=0):
    env = {**os.environ, "KILL_AT": str(kill_at)}
    return subprocess.run([sys.executable, "-m", "llmga", "optimize", *args], env=env, capture_output=True, text=True)


def _calls(folder):
    frame = llmga.load(folder).evaluations
    return list(zip(frame["smiles"], frame["operator"], frame["score"].round(8), strict=True))


@pytest.mark.slow  # three runs in subprocesses: .ci/run runs it after the default suite
def test_a_run_that_learns_is_the_same_for_a_seed_and_after_kill_9_and_resume(tmp_path):
    objective = tmp_path / "killer.py"
    objective.write_text(KILLING_QED)
    spec = ["--objective", f"{objective}:score", *SMALL]
    done = _optimize(*spec, "--out", str(tmp_path / "a"))
    assert done.returncode == 0, done.stderr[-2000:]
    whole = _calls(tmp_path / "a")
    calls = pd.read_csv(tmp_path / "a" / "llm_calls.csv", keep_default_na=False)
    learnt = calls[calls["operator"] == "lm_learn"]
    assert len(learnt) >= 5 and learnt["tokens_in"].gt(0).all()
    operators = {o for _, o, _ in whole}
    assert "lm_denovo" in operators and "lm_mutation" in operators
    # The same seed in a new process, killed mid-run; the resumed process replays the record, training
    # included, and goes on: call for call the uninterrupted run.
    killed = _optimize(*spec, "--out", str(tmp_path / "cut"), kill_at=150)
    assert killed.returncode == -9
    assert 100 < len(_calls(tmp_path / "cut")) < len(whole)
    resumed = _optimize("--resume", str(tmp_path / "cut"), "--quiet")
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert _calls(tmp_path / "cut") == whole


# ------------------------------------------------------------------ on a GPU (--device cuda)
@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_on_a_gpu_the_policy_samples_and_learns_there_and_a_seed_trains_the_same_weights(tiny_lm_dir):
    def trained():
        lm = EmbeddedLM.load(tiny_lm_dir, device="cuda")
        trainer = PolicyTrainer(lm, PolicySettings(steps=2, batch_size=4, replay_rows=2), seed=0)
        smiles = [e.smiles for e in lm.edit(["CCO", "c1ccccc1O", "CCN", "CC(=O)O"] * 4, np.random.default_rng(0))]
        assert sum(s is not None for s in smiles) >= 8
        made = [s for s in smiles if s]
        trainer.learn(_evaluations(made, np.linspace(0, 1, len(made))), 1, "maximize")
        assert all(p.device.type == "cuda" for p in [*lm.model.parameters(), *trainer.prior.parameters()])
        return lm, trainer

    lm, trainer = trained()
    moved = [k for k, v in lm.model.state_dict().items() if not torch.equal(v, trainer.prior.state_dict()[k])]
    assert moved, "training on the GPU must change the weights"
    again, _ = trained()
    for k, v in lm.model.state_dict().items():
        assert torch.equal(v, again.model.state_dict()[k]), k  # deterministic per seed on the GPU too


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_a_run_with_the_model_on_the_gpu_learns_and_is_the_same_for_a_seed(tmp_path):
    spec = ["--objective", "qed", "--llm", "embedded?device=cuda", *SMALL]
    for name in ("a", "b"):
        done = _optimize(*spec, "--out", str(tmp_path / name))
        assert done.returncode == 0, done.stderr[-2000:]
    assert llmga.load(tmp_path / "a").config.llm == "embedded?device=cuda"
    calls = pd.read_csv(tmp_path / "a" / "llm_calls.csv", keep_default_na=False)
    assert (calls["operator"] == "lm_learn").sum() >= 5
    assert _calls(tmp_path / "a") == _calls(tmp_path / "b")
