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


def test_a_crossover_row_is_both_parents_then_the_child_with_loss_on_the_child_only():
    import numpy as np
    import torch

    from llmga.lm._gpt import GPT, GPTConfig
    from llmga.lm._train import _batch, _loss, _loss_sum
    from llmga.lm._vocab import Vocab, selfies_tokens

    mols = ["CCO", "c1ccccc1O", "CC(=O)N"]
    vocab = Vocab.from_tokens({t for m in mols for t in selfies_tokens(m)})
    ids, starts, skipped = _batch(["CCO", tuple(mols)], vocab, np.random.default_rng(0), 64)
    assert skipped == 0 and starts.tolist()[0] == 0
    row = ids[1].tolist()
    seps = [i for i, t in enumerate(row) if t == vocab.sep]
    assert row[0] == vocab.bos and len(seps) == 2 and starts.tolist()[1] == seps[1]
    # The child is written after the second <sep> and ends with <eos>.
    child = row[seps[1] + 1 : row.index(vocab.eos)]
    assert vocab.decode(child) and len(child) == len(selfies_tokens("CC(=O)N"))
    # The loss of a crossover row counts the child's tokens and <eos> only.
    torch.manual_seed(0)
    model = GPT(GPTConfig(vocab_size=len(vocab), n_positions=64, n_embd=16, n_layer=1, n_head=2))
    with torch.no_grad():
        masked = _loss(model, ids[1:], vocab.pad, starts[1:])
        plain = _loss(model, ids[1:], vocab.pad)
        logits, _ = model(ids[1:, :-1])
    logp = torch.log_softmax(logits[0].float(), -1)
    by_hand = -torch.stack([logp[j, row[j + 1]] for j in range(seps[1], row.index(vocab.eos))]).mean()
    assert float(masked) == pytest.approx(float(by_hand), rel=1e-5)
    assert float(plain) != float(masked)
    _, counted = _loss_sum(model, ids[1:], vocab.pad, starts[1:])
    assert counted == len(child) + 1  # the child's tokens and <eos>


def test_neighbour_lists_put_the_most_similar_molecule_first():
    from llmga.lm._train import neighbour_lists

    mols = ["CCCCCCO", "CCCCCCN", "c1ccccc1", "c1ccccc1C", "CCCCCCCO"]
    nb = neighbour_lists(mols, 2)
    assert nb.shape == (5, 2)
    assert nb[0, 0] == 4 and nb[2, 0] == 3 and nb[3, 0] == 2
    assert all(i not in row for i, row in enumerate(nb.tolist()))


def test_a_model_trained_with_crossover_examples_says_so_and_one_without_refuses_to_cross(tmp_path):
    with_x = train_lm(_settings(tmp_path, "x", crossover_share=0.5, pair_pool=100, pair_neighbours=4))
    without = train_lm(_settings(tmp_path, "plain", crossover_share=0.0))
    card = json.loads((with_x.out / "model_card.json").read_text())
    assert card["crossover"] is True and card["settings"]["crossover_share"] == 0.5
    assert EmbeddedLM.load(with_x.out).crosses and not EmbeddedLM.load(without.out).crosses
    import numpy as np

    with pytest.raises(LLMGAError, match=r"without crossover examples.*--crossover-share"):
        EmbeddedLM.load(without.out).cross([("CCO", "CCN")], np.random.default_rng(0))
    # Fine-tuning a crossing model without new crossover rows keeps it a crossing model.
    tuned = train_lm(_settings(tmp_path, "tuned", init=str(with_x.out), crossover_share=0.0, steps=2))
    tuned_card = json.loads((tuned.out / "model_card.json").read_text())
    assert tuned_card["crossover"] is True and tuned_card["init_model_card"]["steps"] == 12


def test_bad_crossover_settings_are_refused():
    with pytest.raises(LLMGAError, match=r"--crossover-share 1\.5"):
        TrainSettings(out="x", steps=1, crossover_share=1.5).check()
    with pytest.raises(LLMGAError, match="--pair-neighbours 1"):
        TrainSettings(out="x", steps=1, pair_neighbours=1).check()
