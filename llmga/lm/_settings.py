"""Settings of ``llmga train-lm`` (importable without torch, for the command line)."""

from __future__ import annotations

from dataclasses import dataclass

from llmga.config import _opt
from llmga.errors import LLMGAError

__all__ = ["TrainSettings"]


@dataclass(frozen=True, kw_only=True)
class TrainSettings:
    """What ``llmga train-lm`` does (flags map one to one); saved in the model card."""

    out: str = _opt("", "folder to write the model to (a Hugging Face GPT-2 folder plus model_card.json)")
    data: str | None = _opt(None, "SMILES file (.smi/.txt/.csv, optionally .gz); default: the packaged ZINC 250k")
    init: str | None = _opt(None, "fine-tune this model ('embedded' or a folder) instead of training from scratch")
    steps: int | None = _opt(None, "optimiser steps (deterministic per seed)")
    minutes: float | None = _opt(None, "stop after this many minutes (the card records the steps made)")
    seed: int = _opt(0, "random seed: data order, random SMILES, initial weights")
    batch_size: int = _opt(128, "molecules per step")
    lr: float | None = _opt(None, "peak learning rate (default 1e-3 from scratch, 2e-4 when fine-tuning)")
    warmup: int = _opt(200, "linear warm-up steps")
    n_layer: int = _opt(4, "transformer layers (new models only)")
    n_embd: int = _opt(256, "width (new models only)")
    n_head: int = _opt(8, "attention heads (new models only)")
    n_positions: int = _opt(256, "longest token sequence (new models only)")
    crossover_share: float = _opt(
        0.0,
        "share of training rows that teach crossover: the molecule is written given the Morgan bits of a region "
        "of it (adds a fingerprint adapter to the model)",
    )
    adapter_lr_scale: float = _opt(5.0, "the fingerprint adapter learns at this multiple of --lr")
    holdout: float = _opt(0.01, "share of molecules held out for the validation loss")
    threads: int = _opt(0, "torch threads (0: all available cores)")
    device: str = _opt("cpu", "where to train: cpu, cuda, cuda:N or auto (a GPU when there is one)")
    checkpoint_minutes: float = _opt(5.0, "write checkpoint.pt this often; a rerun resumes from it")
    eval_every: int = _opt(500, "steps between held-out evaluations")
    quality_samples: int = _opt(1000, "unconditional samples drawn at the end to measure validity and novelty")

    def check(self) -> None:
        if not self.out:
            raise LLMGAError("train-lm needs --out DIR (where to write the model)")
        if self.steps is None and self.minutes is None:
            raise LLMGAError("train-lm needs --steps N or --minutes M (how long to train)")
        if self.steps is not None and self.steps < 1:
            raise LLMGAError(f"--steps {self.steps}: give a positive number of optimiser steps")
        if self.minutes is not None and self.minutes <= 0:
            raise LLMGAError(f"--minutes {self.minutes}: give a positive number of minutes")
        if self.batch_size < 2:
            raise LLMGAError(f"--batch-size {self.batch_size}: use at least 2")
        if not 0 <= self.crossover_share <= 1:
            raise LLMGAError(f"--crossover-share {self.crossover_share}: give a share between 0 and 1")
        if self.adapter_lr_scale <= 0:
            raise LLMGAError(f"--adapter-lr-scale {self.adapter_lr_scale}: give a positive multiple")
        if self.n_embd % self.n_head:
            raise LLMGAError(f"--n-embd {self.n_embd} must be a multiple of --n-head {self.n_head}")
