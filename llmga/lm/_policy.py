"""The embedded model as a policy that learns from every scored generation (REINVENT's augmented likelihood).

After each generation is scored, the model takes ``steps`` optimiser steps.
Each step's rows are molecules of that generation (whoever proposed them:
graph-GA children train the policy too) and molecules drawn from a replay
buffer of the ``replay`` best found so far; every row is a fresh random
SELFIES of its molecule (augmentation), so the policy learns the molecule,
not one spelling of it. The loss is REINVENT's augmented likelihood (Olivecrona
2017; Augmented Memory, Guo and Schwaller 2024)::

    ( log p_prior(x) + sigma * reward(x) - log p_policy(x) )^2

The frozen prior (the weights the run started with) anchors the policy: a
molecule that scores nothing is pulled back to the prior's likelihood rather
than pushed anywhere, so validity and diversity are kept while the good
molecules become likely. ``reward`` is the molecule's rank among every score
seen so far in the run, as a share (the best 1, the worst 0): the same for any
objective, whatever its scale or direction, so one ``sigma`` serves every task.

Deterministic per seed: a generation's rows and the torch seed come from a
generator seeded by (run seed, generation), never from the wall clock, and a
resumed run is retraced through the same generations, so it trains the same.
"""

from __future__ import annotations

import bisect
import copy
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from llmga.lm._embedded import EmbeddedLM, bf16_autocast, optimizer_step, pad_rows
from llmga.lm._vocab import random_selfies

if TYPE_CHECKING:
    from llmga.engine import Evaluation
    from llmga.lm._gpt import GPT

__all__ = ["PolicySettings", "PolicyTrainer", "sequence_logp"]


@dataclass(frozen=True)
class PolicySettings:
    """How the policy learns after every generation (see the module docstring)."""

    steps: int = 2  # optimiser steps per generation
    batch_size: int = 64  # rows per step
    replay: int = 100  # best molecules kept for replay
    replay_rows: int = 32  # of each step's rows, drawn from the replay buffer (the rest: the new generation)
    sigma: float = 100.0  # augmented likelihood: log p_prior + sigma * reward
    lr: float = 1e-4
    anchor: bool = True  # False: no prior in the target (log p_policy is regressed on sigma * reward alone)
    power: float = 1.0  # reward = rank share ** power: above 1 the best weigh more, the middling stay near the prior
    ga_children: bool = True  # False: learn only from the model's own molecules (and the initial population)
    chunk: int = 32  # rows per forward pass within a step, sorted by length (the same gradient, less padding)

    def __post_init__(self) -> None:
        if (
            self.steps < 0
            or self.batch_size < 1
            or self.replay < 0
            or not 0 <= self.replay_rows <= self.batch_size
            or not self.power > 0
            or self.chunk < 1
        ):
            raise ValueError(
                f"policy settings out of range: steps {self.steps} (>= 0), batch_size {self.batch_size} (>= 1), "
                f"replay {self.replay} (>= 0), replay_rows {self.replay_rows} (0..batch_size), power {self.power} "
                f"(> 0), chunk {self.chunk} (>= 1)"
            )


def sequence_logp(model: GPT, ids: torch.Tensor, pad: int, bf16: bool | None = None) -> torch.Tensor:
    """Log-likelihood of each row of ``ids`` (``<bos> ... <eos>`` then pads) under ``model``: one value per row
    (on the model's device, where ``ids`` are moved), in bfloat16 autocast if ``bf16`` (``None``: where the
    device has it natively)."""
    ids = ids.to(model.transformer.wte.weight.device)
    with bf16_autocast(ids.device, bf16):
        logits, _ = model(ids[:, :-1])
    target = ids[:, 1:]
    logp = torch.log_softmax(logits.float(), dim=-1).gather(-1, target.unsqueeze(-1)).squeeze(-1)
    return (logp * (target != pad)).sum(dim=1)


class _Deterministic:
    """On a GPU, torch's deterministic kernels while it is entered (the embedding's backward otherwise adds
    in a varying order, so one seed would train other weights); on the CPU, nothing."""

    def __init__(self, device: torch.device) -> None:
        self.on = device.type == "cuda"
        self.before = False

    def __enter__(self) -> None:
        if self.on:
            self.before = torch.are_deterministic_algorithms_enabled()
            torch.use_deterministic_algorithms(True, warn_only=True)

    def __exit__(self, *exc: object) -> None:
        if self.on:
            torch.use_deterministic_algorithms(self.before)


def _learnable(evaluation: Evaluation, generation: int) -> bool:
    """Without GA children in training: the initial population and the model's own molecules."""
    return generation == 0 or evaluation.operator.startswith("lm_")


class PolicyTrainer:
    """Trains an :class:`EmbeddedLM` in place from each generation's evaluations (see the module docstring).

    Shared by every operator that uses the model: :meth:`learn` trains once per
    generation however many of them tell it.
    """

    def __init__(self, lm: EmbeddedLM, settings: PolicySettings | None = None, *, seed: int = 0) -> None:
        self.lm = lm
        self.settings = settings or PolicySettings()
        self.seed = seed
        self.prior = copy.deepcopy(lm.model).eval()
        for p in self.prior.parameters():
            p.requires_grad_(False)
        self.optim: torch.optim.Optimizer | None = None
        self._sorted: list[float] = []  # every score seen, ascending, oriented so that larger is better
        self._best: list[tuple[float, str]] = []  # the replay buffer: (oriented score, smiles), best first
        self._members: set[str] = set()
        self.last_generation = -1
        self.steps = 0
        self.tokens = 0
        self.seconds = 0.0
        self.history: list[dict[str, Any]] = []

    # ------------------------------------------------------------------ rewards
    def reward(self, oriented: float) -> float:
        """The share of scores seen so far that ``oriented`` (larger is better) beats or ties: 0..1."""
        n = len(self._sorted)
        share = bisect.bisect_right(self._sorted, oriented) / n if n else 0.0
        return share**self.settings.power

    def _remember(self, scored: Sequence[tuple[float, str]]) -> None:
        for value, smiles in scored:
            bisect.insort(self._sorted, value)
            if smiles not in self._members:
                self._best.append((value, smiles))
                self._members.add(smiles)
        self._best.sort(key=lambda item: -item[0])
        for _, smiles in self._best[self.settings.replay :]:
            self._members.discard(smiles)
        del self._best[self.settings.replay :]

    # ----------------------------------------------------------------- training
    def learn(self, evaluations: Sequence[Evaluation], generation: int, direction: str) -> dict[str, Any] | None:
        """Train on one generation's evaluations (once per generation); the step's record, or None."""
        if generation <= self.last_generation:
            return None
        self.last_generation = generation
        sign = -1.0 if direction == "minimize" else 1.0
        s = self.settings
        new = [
            (sign * e.score, e.smiles)
            for e in evaluations
            if not math.isnan(e.score) and not e.components and (s.ga_children or _learnable(e, generation))
        ]
        self._remember(new)
        if not new or s.steps == 0:
            return None
        clock = time.perf_counter()
        rng = np.random.default_rng([self.seed, generation, 0x9E37])
        torch.manual_seed(int(rng.integers(2**63)))
        model, vocab = self.lm.model, self.lm.vocab
        if self.optim is None:
            self.optim = torch.optim.Adam(model.parameters(), lr=s.lr)
        losses: list[float] = []
        tokens = 0
        model.train()
        deterministic = _Deterministic(self.lm.device)
        for _ in range(s.steps):
            rows = self._rows(new, rng)
            built = self._encode([m for _, m in rows], rng)
            if built is None:
                continue
            seqs, kept = built
            rewards = [self.reward(rows[i][0]) for i in kept]
            self.optim.zero_grad(set_to_none=True)
            loss = 0.0
            # Rows of like length together: each chunk is padded only to its own longest row, which halves
            # the arithmetic of one padded batch; the gradients add up to that batch's (a mean over all rows).
            order = sorted(range(len(seqs)), key=lambda i: (len(seqs[i]), i))
            for start in range(0, len(order), s.chunk):
                part = order[start : start + s.chunk]
                ids = pad_rows([seqs[i] for i in part], vocab.pad)
                target = s.sigma * torch.tensor([rewards[i] for i in part], device=self.lm.device)
                if s.anchor:
                    with torch.no_grad():
                        target = target + sequence_logp(self.prior, ids, vocab.pad, self.lm.bf16)
                error = ((sequence_logp(model, ids, vocab.pad, self.lm.bf16) - target) ** 2).sum() / len(seqs)
                with deterministic:
                    error.backward()
                loss += float(error.detach())
                tokens += int((ids != vocab.pad).sum())
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer_step(self.optim)
            losses.append(loss)
        model.eval()
        seconds = time.perf_counter() - clock
        self.steps += len(losses)
        self.tokens += tokens
        self.seconds += seconds
        record = {
            "generation": generation,
            "steps": len(losses),
            "tokens": tokens,
            "loss": round(float(np.mean(losses)), 3) if losses else math.nan,
            "replay": len(self._best),
            "seconds": round(seconds, 3),
        }
        self.history.append(record)
        return record

    def _rows(self, new: Sequence[tuple[float, str]], rng: np.random.Generator) -> list[tuple[float, str]]:
        """One step's molecules: up to ``batch_size - replay_rows`` of the new generation, the rest replayed."""
        s = self.settings
        take = min(len(new), s.batch_size - (s.replay_rows if self._best else 0))
        rows = [new[int(i)] for i in rng.choice(len(new), size=take, replace=False)]
        if self._best:
            rows += [self._best[int(i)] for i in rng.integers(len(self._best), size=s.batch_size - take)]
        return rows

    def _encode(self, smiles: Sequence[str], rng: np.random.Generator) -> tuple[list[list[int]], list[int]] | None:
        """``<bos> random SELFIES <eos>`` token rows, and which of ``smiles`` each row is."""
        vocab, limit = self.lm.vocab, self.lm.model.cfg.n_positions
        seqs: list[list[int]] = []
        kept: list[int] = []
        for i, m in enumerate(smiles):
            toks = random_selfies(m, rng)
            ids = vocab.encode(toks) if toks else None
            if ids is None or len(ids) + 2 > limit:
                continue  # a token the model does not know, or too long: not learnable
            seqs.append([vocab.bos, *ids, vocab.eos])
            kept.append(i)
        return (seqs, kept) if seqs else None

    def card(self) -> dict[str, Any]:
        return {
            "steps": self.steps,
            "tokens": self.tokens,
            "seconds": round(self.seconds, 3),
            "replay": len(self._best),
        }
