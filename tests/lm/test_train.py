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
    import torch

    if not torch.cuda.is_available():
        with pytest.raises(LLMGAError, match="--device cuda: torch sees no CUDA GPU here; use --device cpu"):
            train_lm(_settings(tmp_path, "x", device="cuda"))
    with pytest.raises(LLMGAError, match="--device tpu9: not a torch device"):
        train_lm(_settings(tmp_path, "x", device="tpu9"))


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


def test_conditioned_rows_carry_the_bits_of_a_region_of_their_own_molecule():
    import numpy as np

    from llmga.chem import morgan
    from llmga.lm._train import _batch
    from llmga.lm._vocab import Vocab, selfies_tokens

    mols = ["CCO", "c1ccccc1OCC(=O)N", "CC(=O)Nc1ccc(O)cc1"]
    vocab = Vocab.from_tokens({t for m in mols for t in selfies_tokens(m)})
    ids, cond, skipped = _batch(mols, vocab, np.random.default_rng(0), 64, [False, True, True], 2048)
    assert skipped == 0 and ids.shape[0] == 3 and cond.shape == (3, 2048)
    assert cond[0].sum() == 0  # not conditioned: an all-zero fingerprint
    for i in (1, 2):
        bits = set(np.flatnonzero(cond[i].numpy()).tolist())
        assert bits and bits <= set(morgan(mols[i]).GetOnBits())  # a part of the molecule's own bits
    # Without n_cond there is no condition at all, and the rows are the same tokens' worth.
    plain, none, _ = _batch(mols, vocab, np.random.default_rng(0), 64)
    assert none is None and plain.shape[0] == 3


def test_a_model_trained_for_crossover_has_an_adapter_that_lowers_the_loss_given_the_bits(tmp_path):
    import numpy as np

    with_x = train_lm(_settings(tmp_path, "x", crossover_share=1.0, steps=80, holdout=0.2, adapter_lr_scale=1.0))
    without = train_lm(_settings(tmp_path, "plain", crossover_share=0.0))
    card = json.loads((with_x.out / "model_card.json").read_text())
    assert card["crossover"] is True and card["settings"]["crossover_share"] == 1.0
    assert (with_x.out / "fingerprint_adapter.safetensors").is_file()
    assert card["adapter_sha256"] and not (without.out / "fingerprint_adapter.safetensors").exists()
    given = card["heldout_loss_given_bits"]
    # The adapter is read: held-out molecules are more predictable given their bits (2.36 vs 2.53 here).
    assert given["region_1.0"] < given["region_0.5"] < card["heldout_loss"] - 0.1
    assert EmbeddedLM.load(with_x.out).crosses and not EmbeddedLM.load(without.out).crosses
    with pytest.raises(LLMGAError, match=r"no fingerprint adapter.*--crossover-share"):
        EmbeddedLM.load(without.out).cross([("CCO", "CCN")], np.random.default_rng(0))
    # Fine-tuning a crossing model without new crossover rows keeps it a crossing model.
    tuned = train_lm(_settings(tmp_path, "tuned", init=str(with_x.out), crossover_share=0.0, steps=2))
    tuned_card = json.loads((tuned.out / "model_card.json").read_text())
    assert tuned_card["crossover"] is True and tuned_card["init_model_card"]["steps"] == 80
    assert EmbeddedLM.load(tuned.out).crosses


def test_bad_crossover_settings_are_refused():
    with pytest.raises(LLMGAError, match=r"--crossover-share 1\.5"):
        TrainSettings(out="x", steps=1, crossover_share=1.5).check()
    with pytest.raises(LLMGAError, match="--adapter-lr-scale 0"):
        TrainSettings(out="x", steps=1, adapter_lr_scale=0).check()
