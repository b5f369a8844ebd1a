from __future__ import annotations

import hashlib
import json

import pytest

from llmga.cli import main
from llmga.data import zinc250k
from llmga.errors import LLMGAError
from llmga.lm import EmbeddedLM, TrainSettings, train_lm


def _settings(tmp_path, name, **kw):
    data = tmp_path / "data.smi"
    if not data.exists():
        data.write_text("\n".join(zinc250k()[:200]) + "\n")
    base = dict(
        out=str(tmp_path / name),
        data=str(data),
        steps=12,
        batch_size=16,
        lr=3e-3,
        warmup=2,
        n_layer=1,
        n_embd=16,
        n_head=2,
        n_positions=96,
        eval_every=4,
        quality_samples=20,
        threads=1,
    )
    base.update(kw)
    return TrainSettings(**base)


def _weights(path):
    return hashlib.sha256((path / "model.safetensors").read_bytes()).hexdigest()


def test_training_is_deterministic_per_seed_and_writes_a_card(tmp_path):
    a = train_lm(_settings(tmp_path, "a"))
    b = train_lm(_settings(tmp_path, "b"))
    c = train_lm(_settings(tmp_path, "c", seed=1))
    assert _weights(a.out) == _weights(b.out) != _weights(c.out)
    card = json.loads((a.out / "model_card.json").read_text())
    assert card["steps"] == 12
    assert card["weights_sha256"] == _weights(a.out)
    assert card["data"]["molecules"] == 200
    assert card["data"]["sha256"] == json.loads((c.out / "model_card.json").read_text())["data"]["sha256"]
    assert card["loss_every_100_steps"][0] > 0
    assert 0 <= card["sample_quality"]["valid"] <= 1
    assert not (a.out / "checkpoint.pt").exists()


def test_an_interrupted_run_resumes_from_its_checkpoint_to_the_same_weights(tmp_path):
    whole = train_lm(_settings(tmp_path, "whole"))

    def crash(row):
        if row["step"] == 8:
            raise KeyboardInterrupt

    settings = _settings(tmp_path, "resumed", checkpoint_minutes=0.0)
    with pytest.raises(KeyboardInterrupt):
        train_lm(settings, progress=crash)
    assert (tmp_path / "resumed" / "checkpoint.pt").exists()
    resumed = train_lm(settings)
    assert _weights(resumed.out) == _weights(whole.out)


def test_fine_tuning_starts_from_the_given_model_and_keeps_its_vocabulary(tmp_path, tiny_lm_dir):
    report = train_lm(_settings(tmp_path, "ft", init=str(tiny_lm_dir), steps=4, n_layer=4))
    base, tuned = EmbeddedLM.load(tiny_lm_dir), EmbeddedLM.load(report.out)
    assert tuned.vocab.tokens == base.vocab.tokens
    assert tuned.model.cfg == base.model.cfg  # architecture flags are ignored when fine-tuning
    assert _weights(report.out) != _weights(tiny_lm_dir)


def test_bad_settings_name_the_flag(tmp_path):
    with pytest.raises(LLMGAError, match="--steps N or --minutes M"):
        train_lm(TrainSettings(out=str(tmp_path)))
    with pytest.raises(LLMGAError, match="--init nowhere"):
        train_lm(_settings(tmp_path, "x", init="nowhere"))


def test_train_lm_command_writes_a_loadable_model(tmp_path, capsys):
    data = tmp_path / "mine.smi"
    data.write_text("\n".join(zinc250k()[:100]) + "\n")
    out = tmp_path / "model"
    code = main(
        ["train-lm", "--data", str(data), "--out", str(out), "--steps", "3", "--n-layer", "1", "--n-embd", "16",
         "--n-head", "2", "--batch-size", "8", "--quality-samples", "10", "--threads", "1"]
    )  # fmt: skip
    assert code == 0
    assert "3 steps" in capsys.readouterr().out
    assert EmbeddedLM.load(out).model.cfg.n_embd == 16
    assert main(["train-lm", "--out", str(out)]) == 1
    assert "--steps N or --minutes M" in capsys.readouterr().err
