from __future__ import annotations

import numpy as np
import torch

from llmga.lm import EmbeddedLM
from llmga.lm._finetune import FineTuneSettings, OnlineFineTuner
from tests.conftest import ASPIRIN, CAFFEINE, IBUPROFEN, PARACETAMOL

TOP = [ASPIRIN, CAFFEINE, IBUPROFEN, PARACETAMOL]


def test_fine_tune_is_due_after_patience_generations_without_a_new_best(tiny_lm_dir):
    tuner = OnlineFineTuner(EmbeddedLM.load(tiny_lm_dir), FineTuneSettings(patience=2))
    assert [tuner.observe(g, b, "maximize") for g, b in enumerate([0.5, 0.6, 0.6, 0.6, 0.7, 0.7])] == [
        False, False, False, True, False, False
    ]  # fmt: skip
    tuner = OnlineFineTuner(EmbeddedLM.load(tiny_lm_dir), FineTuneSettings(patience=1))
    assert [tuner.observe(g, b, "minimize") for g, b in enumerate([3.0, 2.0, 2.5])] == [False, False, True]
    assert not tuner.observe(2, 2.5, "minimize")  # asked twice in one generation: counted once


def test_a_fine_tune_moves_the_weights_lowers_the_loss_on_the_best_and_is_seeded(tiny_lm_dir):
    settings = FineTuneSettings(steps=8, batch_size=8, lr=3e-3, replay=0.25)
    records, weights = [], []
    for _ in range(2):
        lm = EmbeddedLM.load(tiny_lm_dir)
        before = lm.model.transformer.wte.weight.detach().clone()
        record = OnlineFineTuner(lm, settings).tune(TOP, np.random.default_rng(5), generation=4)
        records.append(record)
        weights.append(lm.model.transformer.wte.weight.detach().clone())
        assert not torch.equal(before, weights[-1])
    assert torch.equal(weights[0], weights[1])  # same seed, same fine-tuned model
    record = records[0]
    assert record["steps"] == 8 and record["generation"] == 4 and record["skipped"] == ""
    assert record["loss_top_after"] < record["loss_top_before"]
    assert 0.0 <= record["usable_after"] <= 1.0


def test_a_fine_tune_that_would_pass_the_wall_time_share_is_skipped(tiny_lm_dir):
    tuner = OnlineFineTuner(EmbeddedLM.load(tiny_lm_dir), FineTuneSettings(steps=1, batch_size=4, max_share=0.25))
    tuner.started -= 100.0  # the run has lasted 100 s
    tuner.seconds, tuner.last_seconds = 20.0, 6.0  # 20 s used; one more would make 26 s > 25 s
    record = tuner.tune(TOP, np.random.default_rng(0), generation=9)
    assert record["skipped"].startswith("fine-tuning has used 20.0 s") and "steps" not in record
    tuner.last_seconds = 4.0  # 24 s would still fit
    assert tuner.tune(TOP, np.random.default_rng(0), generation=10)["skipped"] == ""
