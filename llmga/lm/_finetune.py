"""Online fine-tuning of the embedded model on the best molecules of a run (Chemlactica's idea).

When the best score has not improved for ``patience`` generations, the model
takes ``steps`` optimiser steps on batches drawn from the ``top`` best
molecules of the population (random SELFIES, so every part of them is
learnt), so that its proposals drift toward what scores well; for a model
that crosses, half of those rows are conditioned on the Morgan bits of a
region of the molecule, as in training, so that its crossover children drift
the same way. Regularised,
because an unchecked fine-tune collapses validity and diversity: a low
learning rate, half of each batch replayed from ZINC 250k, and an L2 anchor
to the weights the run started with. A fine-tune is skipped when it would
take fine-tuning past ``max_share`` of the model's work in the run, counted
in tokens: tokens trained on (each weighted ``token_cost``, what a training
token costs in proposed tokens) and sampled by its checks, against tokens
read and written while proposing children. Fine-tuning so stays within
about that share of the model's time, and so of less of the run's wall
time. Counting tokens rather than seconds keeps the run deterministic per
seed: data and dropout-free steps come from the run's generator, and every
skip is recorded.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from llmga.lm._embedded import EmbeddedLM, optimizer_step
from llmga.lm._train import _batch, _loss

__all__ = ["FineTuneSettings", "OnlineFineTuner"]


@dataclass(frozen=True)
class FineTuneSettings:
    patience: int = 3
    steps: int = 20
    top: int = 50
    batch_size: int = 32
    lr: float = 3e-4
    replay: float = 0.5
    anchor: float = 1e-3
    max_share: float = 0.25  # of the model's work, in tokens (see the module docstring)
    # A training token's cost in proposed tokens: 0.24 ms against 0.14 ms on 2 cores (a default qed run,
    # budget 10,000: 26.4k tokens per fine-tune in 6.4 s; 416k proposed tokens in 58 s).
    token_cost: float = 1.8
    crossover: float = 0.5  # share of the best molecules' rows given a region's bits (crossing models)


_CHECKS = 32  # edits drawn before and after a fine-tune to measure its usable-children rate


def _mean_length(smiles: Sequence[str]) -> float:
    """Mean SELFIES length in tokens of ``smiles`` (those that encode)."""
    from llmga.lm._vocab import selfies_tokens

    lengths = [len(t) for m in smiles if (t := selfies_tokens(m))]
    return float(np.mean(lengths)) if lengths else 0.0


class OnlineFineTuner:
    """Decides when to fine-tune the model during a run, and does it (see the module docstring)."""

    def __init__(self, lm: EmbeddedLM, settings: FineTuneSettings | None = None) -> None:
        self.lm = lm
        self.settings = settings or FineTuneSettings()
        self.base = {k: v.detach().clone() for k, v in lm.model.state_dict().items()}
        self.optim: torch.optim.Optimizer | None = None
        self.best = math.nan
        self.stale = 0
        self.last_generation = -1
        self.seconds = 0.0
        self.trained_tokens = 0  # tokens trained on, over all fine-tunes
        self.work = 0.0  # all fine-tunes' work, in proposed-token units: token_cost x trained + check samples
        self.largest = 0.0  # the most work one fine-tune has taken (the estimate for the next)
        self.check_tokens = 0  # of the model's sampled tokens, those drawn by fine-tunes' checks
        self.count = 0
        self._replay: list[str] | None = None

    def _improved(self, best: float, direction: str) -> bool:
        if math.isnan(best):
            return False
        if math.isnan(self.best):
            return True
        return best > self.best if direction == "maximize" else best < self.best

    def observe(self, generation: int, best: float, direction: str) -> bool:
        """Note one generation's best score; True when a fine-tune is due."""
        if generation == self.last_generation:
            return False
        self.last_generation = generation
        if self._improved(best, direction):
            self.best, self.stale = best, 0
            return False
        self.stale += 1
        return self.stale >= self.settings.patience

    def tune(self, ranked: Sequence[str], rng: np.random.Generator, generation: int) -> dict[str, Any]:
        """Fine-tune on the best of ``ranked`` (SMILES, best first); returns the record of what happened."""
        s = self.settings
        self.stale = 0
        record: dict[str, Any] = {"generation": generation, "molecules": min(s.top, len(ranked))}
        # Skip when this fine-tune (expected to take as much work as the largest so far; the first:
        # steps x batch training rows and the 2 x _CHECKS check edits, all of the top molecules' length)
        # would take fine-tuning past max_share of the model's token work.
        top = list(ranked[: s.top])
        length = 2 + _mean_length(top)
        expected = self.largest or (s.token_cost * s.steps * s.batch_size + 2 * _CHECKS) * length
        proposed = self.lm.tokens - self.check_tokens
        total = self.work + expected
        if total > s.max_share * (total + proposed):
            return record | {
                "skipped": f"fine-tuning has trained on {self.trained_tokens} tokens, proposing has used {proposed}: "
                f"one more would pass {s.max_share:.0%} of the model's work"
            }
        clock = time.perf_counter()
        sampled_before = self.lm.tokens
        model, vocab = self.lm.model, self.lm.vocab
        if self._replay is None:
            from llmga.data import zinc250k

            self._replay = zinc250k()
        if self.optim is None:
            self.optim = torch.optim.AdamW(model.parameters(), lr=s.lr, weight_decay=0.0)
        torch.manual_seed(int(rng.integers(2**63)))
        n_top = max(1, round(s.batch_size * (1 - s.replay)))
        n_replay = s.batch_size - n_top
        before = self._eval_loss(top, rng)
        usable_before = self._usable(top, rng)
        # A crossing model also learns to write the good molecules from the bits of a part of them.
        n_cond = model.cfg.n_cond if self.lm.crosses and s.crossover > 0 else 0
        model.train()
        losses = []
        tokens = 0
        for _ in range(s.steps):
            picked = [top[int(i)] for i in rng.integers(len(top), size=n_top)]
            flags = (rng.random(n_top) < s.crossover).tolist() + [False] * n_replay
            picked += [self._replay[int(i)] for i in rng.integers(len(self._replay), size=n_replay)]
            ids, cond, _ = _batch(picked, vocab, rng, model.cfg.n_positions, flags, n_cond)
            if ids is None:
                continue
            tokens += int((ids != vocab.pad).sum())
            loss = _loss(model, ids, vocab.pad, cond)
            if s.anchor > 0:
                drift = sum(((p - self.base[k]) ** 2).sum() for k, p in model.named_parameters())
                loss = loss + s.anchor * drift
            self.optim.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer_step(self.optim)
            losses.append(float(loss.detach()))
        model.eval()
        after = self._eval_loss(top, rng)
        usable_after = self._usable(top, rng)
        seconds = time.perf_counter() - clock
        checks = self.lm.tokens - sampled_before  # the usable-children checks before and after
        self.check_tokens += checks
        self.seconds += seconds
        self.trained_tokens += tokens
        self.work += s.token_cost * tokens + checks
        self.largest = max(self.largest, s.token_cost * tokens + checks)
        self.count += 1
        return record | {
            "steps": len(losses),
            "loss_top_before": round(before, 4),
            "loss_top_after": round(after, 4),
            "usable_before": usable_before,
            "usable_after": usable_after,
            "seconds": round(seconds, 3),
            "tokens": tokens,
            "skipped": "",
        }

    def _eval_loss(self, smiles: Sequence[str], rng: np.random.Generator) -> float:
        seed = int(rng.integers(2**63))
        ids, _, _ = _batch(list(smiles), self.lm.vocab, np.random.default_rng(seed), self.lm.model.cfg.n_positions)
        if ids is None:
            return math.nan
        self.lm.model.eval()
        with torch.no_grad():
            return float(_loss(self.lm.model, ids, self.lm.vocab.pad))

    def _usable(self, smiles: Sequence[str], rng: np.random.Generator, n: int = _CHECKS) -> float:
        """Share of ``n`` edits of these molecules that are valid, differ from the parent and pass the filters."""
        from llmga.chem import to_mol
        from llmga.operators.graph_ga import MoleculeFilter

        ok = MoleculeFilter()
        parents = [smiles[i % len(smiles)] for i in range(n)]
        edits = self.lm.edit(parents, rng)
        good = 0
        for parent, edit in zip(parents, edits, strict=True):
            mol = to_mol(edit.smiles) if edit.smiles and edit.smiles != parent else None
            good += mol is not None and ok(mol, rng)
        return round(good / n, 4)
