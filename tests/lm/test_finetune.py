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
        lm.edit(TOP * 150, np.random.default_rng(1))  # the model has proposed: fine-tuning has room
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


def test_a_fine_tune_that_would_pass_its_share_of_the_models_work_is_skipped(tiny_lm_dir):
    lm = EmbeddedLM.load(tiny_lm_dir)
    tuner = OnlineFineTuner(lm, FineTuneSettings(steps=2, batch_size=4, max_share=0.25))
    # Nothing proposed yet: even the first fine-tune would be all of the model's work.
    record = tuner.tune(TOP, np.random.default_rng(0), generation=1)
    assert record["skipped"].startswith("fine-tuning has trained on 0 tokens, proposing has used 0")
    lm.edit(TOP * 50, np.random.default_rng(1))  # proposing: the model reads and writes tokens
    proposed = lm.tokens
    assert proposed > 1000
    done = tuner.tune(TOP, np.random.default_rng(0), generation=2)
    assert done["skipped"] == "" and done["tokens"] > 0
    assert tuner.work > 1.8 * done["tokens"]  # its usable-children checks count as fine-tuning work
    assert lm.tokens - tuner.check_tokens == proposed  # ... and not as proposing
    # The same history gives the same decisions: no clock is read.
    again = OnlineFineTuner(EmbeddedLM.load(tiny_lm_dir), FineTuneSettings(steps=2, batch_size=4, max_share=0.25))
    again.lm.edit(TOP * 50, np.random.default_rng(1))
    assert again.tune(TOP, np.random.default_rng(0), generation=2)["tokens"] == done["tokens"]
    # Fine-tunes go on while one more (as large as the largest so far) fits in a quarter of the work.
    lm.edit(TOP * 100, np.random.default_rng(2))
    proposed = lm.tokens - tuner.check_tokens
    records = [tuner.tune(TOP, np.random.default_rng(g), generation=g) for g in range(3, 40)]
    ran = [r for r in records if r["skipped"] == ""]
    assert 1 <= len(ran) < len(records)
    assert records[-1]["skipped"].endswith("one more would pass 25% of the model's work")
    assert tuner.work <= 0.25 * (tuner.work + proposed)
    assert tuner.work + tuner.largest > 0.25 * (tuner.work + tuner.largest + proposed)
